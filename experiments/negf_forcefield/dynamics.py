"""Brownian dynamics with learned against exact NEGF forces: the gating transition across a bias sweep.

Reads a store of the held-out sweep made with the exact force and stores of the same recipe made
with learned force fields (same seed: same initial states and bath noise), e.g.

    graphqd simulate negf --config experiments/negf_forcefield/sweep.yaml --out data/negf_sweep_exact.h5
    graphqd simulate negf --config experiments/negf_forcefield/sweep.yaml --out data/negf_sweep_graph.h5 \\
        --set force.checkpoint=experiments/negf_forcefield/pretrained/forcefield_graph.pt
    python experiments/negf_forcefield/dynamics.py --exact data/negf_sweep_exact.h5 \\
        --learned graph=data/negf_sweep_graph.h5 --out experiments/negf_forcefield/results

For every run: the column order parameter φ(x, t) = |Σ_y (−1)^{x+y} Q| / L_y, the metal–insulator
wall grown from the gated (left) electrode (where φ first rises through half the bulk value of the
exact initial state), its velocity (least squares while it crosses the middle half of the sample,
0.25 Lx … 0.75 Lx), the times it reaches Lx/4, Lx/2, 3Lx/4, and the metallic fraction. Over the
sweep: the threshold bias (the lowest bias whose wall passes Lx/2 by the end of the run) and the
breakdown bias (the lowest bias at which 90 % of the columns are metallic by t = 10).
Writes walls.csv, dynamics.json, dynamics.png (φ(x, t) maps) and wall_velocity.png into --out.
"""
from __future__ import annotations

import argparse
import csv
import json
import os

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from graphqd.data.negf import run_biases  # noqa: E402
from graphqd.evaluate import cdw_domains  # noqa: E402

BREAKDOWN_TIME, BREAKDOWN_FRACTION = 10.0, 0.9


def walls(path: str, bulk: np.ndarray | None = None) -> tuple[list[dict], dict]:
    """Wall observables of every run of the store at `path`; `bulk` per run (default: its own t = 0)."""
    with h5py.File(path, "r") as h:
        t, Q = torch.as_tensor(h["t"][()]), torch.as_tensor(h["Q"][()], dtype=torch.float64)
        biases = run_biases(h, list(range(Q.shape[0])))
        Lx = int(h.attrs["Lx"])
    phi = cdw_domains.column_order_parameter(Q)                                  # (runs, T, Lx)
    bulk = cdw_domains.bulk_order_parameter(phi[:, 0]).numpy() if bulk is None else bulk
    rows, maps = [], {}
    for k, bias in enumerate(biases):
        position = cdw_domains.domain_wall_position(phi[k], float(bulk[k]), "left")
        fraction = cdw_domains.metallic_fraction(phi[k], float(bulk[k]))
        velocity = float(cdw_domains.domain_wall_velocity(t, position, 0.25 * Lx, 0.75 * Lx))

        def reach(x):
            passed = np.nonzero(position.numpy() >= x)[0]
            return float(t[passed[0]]) if len(passed) else None
        early = fraction[t <= BREAKDOWN_TIME]
        rows.append({"bias": float(bias), "velocity": velocity, "t_quarter": reach(0.25 * Lx),
                     "t_half": reach(0.5 * Lx), "t_three_quarters": reach(0.75 * Lx),
                     "metallic_fraction_final": float(fraction[-1]),
                     "breakdown": bool(early.max() >= BREAKDOWN_FRACTION), "swept": reach(0.5 * Lx) is not None})
        maps[float(bias)] = (phi[k].numpy(), position.numpy())
    return rows, {"t": t.numpy(), "maps": maps, "bulk": bulk, "Lx": Lx}


def sweep_biases(rows: list[dict]) -> dict:
    """Threshold and breakdown biases of a sweep (None where no bias qualifies)."""
    swept = [r["bias"] for r in rows if r["swept"]]
    broken = [r["bias"] for r in rows if r["breakdown"]]
    return {"threshold": min(swept) if swept else None, "breakdown": min(broken) if broken else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exact", required=True, help="sweep store made with the exact NEGF force")
    ap.add_argument("--learned", nargs="+", required=True, metavar="NAME=STORE",
                    help="sweep stores of the same recipe made with learned force fields")
    ap.add_argument("--maps", type=float, nargs="+", default=[2.25, 2.375, 3.0], help="biases of the φ(x, t) maps")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    exact_rows, exact = walls(args.exact)
    sources = {"exact": (exact_rows, exact)}
    for item in args.learned:
        name, _, path = item.partition("=")
        sources[name] = walls(path, exact["bulk"])
    with open(os.path.join(args.out, "walls.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, ["source", *exact_rows[0]])
        writer.writeheader()
        for name, (rows, _) in sources.items():
            writer.writerows({"source": name, **r} for r in rows)
    result = {"exact": {"store": os.path.abspath(args.exact), **sweep_biases(exact_rows)}, "learned": {}}
    for name, (rows, _) in list(sources.items())[1:]:
        compared = []
        for mine, truth in zip(rows, exact_rows):
            error = (mine["velocity"] / truth["velocity"] - 1) if np.isfinite(truth["velocity"]) and \
                np.isfinite(mine["velocity"]) else None
            compared.append({"bias": truth["bias"], "velocity_exact": truth["velocity"],
                             "velocity_learned": mine["velocity"], "relative_error": error})
        result["learned"][name] = {**sweep_biases(rows), "velocities": compared}
    with open(os.path.join(args.out, "dynamics.json"), "w") as fh:
        json.dump(result, fh, indent=2)

    shown = [b for b in args.maps if b in exact["maps"]]
    fig, axes = plt.subplots(len(sources), len(shown), figsize=(3.6 * len(shown), 2.8 * len(sources)),
                             squeeze=False, constrained_layout=True, sharex=True, sharey=True)
    for row, (name, (_, data)) in enumerate(sources.items()):
        for col, bias in enumerate(shown):
            phi, position = data["maps"][bias]
            ax = axes[row, col]
            image = ax.imshow(phi.T, aspect="auto", origin="lower", cmap="viridis", vmin=0, vmax=exact["bulk"].max(),
                              extent=[data["t"][0], data["t"][-1], -0.5, data["Lx"] - 0.5])
            ax.plot(data["t"], position, "w--", lw=1)
            ax.set(title=f"{name}, V = {bias:g}", xlabel="t" if row == len(sources) - 1 else None,
                   ylabel="column x" if col == 0 else None)
    fig.colorbar(image, ax=axes, label=r"$\phi(x, t)$", shrink=0.8)
    fig.savefig(os.path.join(args.out, "dynamics.png"), dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
    for name, (rows, _) in sources.items():
        ax.plot([r["bias"] for r in rows], [r["velocity"] for r in rows], "o-" if name == "exact" else "s--",
                label=name)
    ax.set(xlabel="bias V", ylabel="wall velocity (columns / unit time)", title="metal–insulator wall")
    ax.legend()
    fig.savefig(os.path.join(args.out, "wall_velocity.png"), dpi=110)
    plt.close(fig)
    for name, entry in result["learned"].items():
        errors = [f"V={c['bias']:g}: {c['relative_error']:+.1%}" for c in entry["velocities"]
                  if c["relative_error"] is not None]
        print(f"{name}: threshold {entry['threshold']} (exact {result['exact']['threshold']}), breakdown "
              f"{entry['breakdown']} (exact {result['exact']['breakdown']}); velocity errors {', '.join(errors)}")


if __name__ == "__main__":
    main()
