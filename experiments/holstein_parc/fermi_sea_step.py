"""Experiment 8c, result 12: a learned deep-quench step at the free Fermi sea, where the exact state stays put.

The deep quench (g 0 → 2) starts from the half-filled Fermi sea of the free chain with Q_i of order 1e-4. That ρ
commutes with h(Q = 0), so the exact step leaves the state in place and the CDW grows only out of the seed, at the
rate of the Peierls instability (DESIGN.md §3.1). For each model this script measures on an L-site ring:

* the energy change per site of one model step from the Fermi sea with Q = P = 0 (exact: zero to round-off;
  `graphqd.runtime.energy_shell.EnergyShell`, so with ρ on the model's band);
* φ_Q(t) = (1/L) Σ_i (−1)^i Q_i from a staggered seed Q_i = ε(−1)^i, P = 0, under the exact Ehrenfest dynamics,
  the bare model, and the model through the projections of `--conserve` (as `graphqd rollout --conserve`).

Writes fermi_sea_step[_<tag>].json and .png (|φ_Q|/ε against t, log scale; the models of --plot) under --out-dir.

Usage (from the repository root):
    python experiments/holstein_parc/fermi_sea_step.py --data data/deep_climate.h5 \
        --model "projected, seed 2=runs/holstein_parc/deep_chains_climate_projected_seed2_L8_graph" \
        --L 64 --steps 250 --eps 1e-6 1e-4 --out-dir experiments/holstein_parc/results/long_chains
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os

import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from graphqd import keys as K  # noqa: E402
from graphqd.bench.common import device_description  # noqa: E402
from graphqd.data.holstein import params_of_store  # noqa: E402
from graphqd.data.store import open_store  # noqa: E402
from graphqd.graphs.holstein import dense_to_band, graph_batch  # noqa: E402
from graphqd.physics import holstein  # noqa: E402
from graphqd.physics.lattice import staggered_sign  # noqa: E402
from graphqd.runtime.conservation import invariant_projection  # noqa: E402
from graphqd.runtime.energy_shell import EnergyShell  # noqa: E402
from graphqd.runtime.rollout import rollout  # noqa: E402
from graphqd.runtime.surrogate import load_surrogate  # noqa: E402


def seeded_fermi_sea(params: holstein.HolsteinParams, eps: float) -> holstein.State:
    """The free chain's half-filled Fermi sea with Q_i = ε(−1)^i and P = 0 (batch of one)."""
    free = holstein.ground_state(dataclasses.replace(params, g=0.0))
    sign = staggered_sign(params.shape, "cpu")
    return holstein.State((eps * sign)[None], torch.zeros(1, params.n_sites, dtype=torch.float64), free.rho[None])


def model_state(state: holstein.State, params: holstein.HolsteinParams, spec) -> dict:
    return {K.Q: state.Q.reshape(-1).float(), K.P: state.P.reshape(-1).float(),
            K.RHO: dense_to_band(state.rho, params.n_sites, True, spec).reshape(-1, 2).float()}


def staggered(Q: np.ndarray, sign: np.ndarray) -> np.ndarray:
    return (Q * sign).mean(-1)


@torch.no_grad()
def measure(surrogate, params, steps: int, eps_values, conserve) -> dict:
    """The energy change of one step from the unseeded Fermi sea and φ_Q(t) of each seed, bare and constrained."""
    spec = type(surrogate.model).graph_spec(surrogate.config["model"])
    batch = graph_batch(params.n_sites, True, spec, 1, "cpu")
    shell = EnergyShell(params, spec)
    start = model_state(seeded_fermi_sea(params, 0.0), params, spec)
    out = surrogate.model(batch, start)
    change = float((shell.energy({k: out[k] for k in start}) - shell.energy(start)) / params.n_sites)
    sign = staggered_sign(params.shape, "cpu").numpy()
    result = {"energy_change_per_site": change, "phi_Q": {}}
    for eps in eps_values:
        state = model_state(seeded_fermi_sea(params, eps), params, spec)
        curves = {}
        for name, constraint in (("bare", None), ("constrained", invariant_projection(conserve, params, spec))):
            frames = rollout(surrogate.model, batch, state, steps, keep=(K.Q,),
                             constraint=constraint(state) if constraint else None)
            curves[name] = staggered(torch.stack([f[K.Q] for f in frames]).double().numpy(), sign).tolist()
        result["phi_Q"][f"{eps:g}"] = curves
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a deep-quench store: its physical parameters")
    parser.add_argument("--model", action="append", required=True, metavar="NAME=CHECKPOINT")
    parser.add_argument("--L", type=int, default=64)
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--eps", type=float, nargs="+", default=[1e-6, 1e-4])
    parser.add_argument("--conserve", nargs="+", default=["purity-band", "energy-band"])
    parser.add_argument("--plot", nargs="+", default=None, metavar="NAME", help="models drawn (default: all)")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--tag", default="", help="output names fermi_sea_step_<tag>.json and .png")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with open_store(args.data, "holstein") as handle:
        params = dataclasses.replace(params_of_store(handle), L=args.L)
        dt, substeps = float(handle.attrs["dt"]), int(handle.attrs["substeps"])
    sign = staggered_sign(params.shape, "cpu").numpy()
    exact = {}
    for eps in args.eps:
        path = holstein.simulate(seeded_fermi_sea(params, eps), params, dt, args.steps, substeps)
        exact[f"{eps:g}"] = staggered(path.Q[0].numpy(), sign).tolist()
    start = seeded_fermi_sea(params, 0.0)
    after = holstein.simulate(start, params, dt, 1, substeps)
    exact_change = float((holstein.energy(holstein.State(after.Q[:, 1], after.P[:, 1], after.rho[:, 1]), params)
                          - holstein.energy(start, params)).item() / args.L)
    models = {}
    for item in args.model:
        name, checkpoint = item.split("=", 1)
        models[name] = measure(load_surrogate(checkpoint), params, args.steps, args.eps, tuple(args.conserve))
        change = models[name]["energy_change_per_site"]
        print(f"{name:40s} energy change per site and step at the Fermi sea {change:+.2e}"
              + "".join(f"; eps {e}: phi_Q after 10 steps bare {c['bare'][10]:.2e}, constrained "
                        f"{c['constrained'][10]:.2e}" for e, c in models[name]["phi_Q"].items()))
    print(f"{'exact':40s} energy change per site and step {exact_change:+.2e}"
          + "".join(f"; eps {e}: phi_Q after 10 steps {c[10]:.2e}" for e, c in exact.items()))
    os.makedirs(args.out_dir, exist_ok=True)
    report = {"data": args.data, "L": args.L, "steps": args.steps, "dt": dt, "conserve": args.conserve,
              "device": device_description("cpu"),
              "exact": {"energy_change_per_site": exact_change, "phi_Q": exact}, "models": models}
    stem = os.path.join(args.out_dir, "fermi_sea_step" + (f"_{args.tag}" if args.tag else ""))
    with open(stem + ".json", "w") as f:
        json.dump(report, f, indent=1)
    t = dt * np.arange(args.steps + 1)
    fig, axes = plt.subplots(1, len(args.eps), figsize=(5.5 * len(args.eps), 4), constrained_layout=True,
                             squeeze=False)
    for ax, eps in zip(axes[0], args.eps):
        key = f"{eps:g}"
        ax.semilogy(t, np.abs(exact[key]) / eps, "k", label="exact")
        for k, (name, result) in enumerate(models.items()):
            if args.plot is not None and name not in args.plot:
                continue
            curves = result["phi_Q"][key]
            ax.semilogy(t, np.abs(curves["bare"]) / eps, ":", color=f"C{k}", label=f"{name}, bare")
            ax.semilogy(t, np.abs(curves["constrained"]) / eps, "--", color=f"C{k}",
                        label=f"{name}, {' + '.join(args.conserve)}")
        ax.set(xlabel="t", ylabel=r"$|\phi_Q| / \varepsilon$", title=f"staggered seed ε = {eps:g}, L = {args.L}")
    axes[0][0].legend(fontsize=8)
    fig.savefig(stem + ".png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
