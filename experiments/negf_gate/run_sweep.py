"""Bias sweep of the gating transition: Brownian dynamics with exact NEGF forces.

Starts from the checkerboard CDW, runs overdamped Langevin dynamics at several biases V and
records the column-resolved CDW order parameter phi(x, t), the metal-insulator wall position,
the metallic fraction and the current I(t). Writes CSV, PNG and results.json into --out.

    .venv/bin/python experiments/negf_gate/run_sweep.py --Lx 20 --Ly 10 --biases 4 6 8 10 --steps 1500
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch

from graphqd.evaluate import cdw_domains
from graphqd.physics import brownian, negf


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--Lx", type=int, default=20)
    ap.add_argument("--Ly", type=int, default=10)
    ap.add_argument("--biases", type=float, nargs="+", default=[2.0, 4.0, 6.0, 8.0, 10.0])
    ap.add_argument("--gamma-lead", type=float, default=1.0)
    ap.add_argument("--mu", type=float, default=0.0,
                    help="with --gate symmetric: mean chemical potential (mu_L,R = mu +- V/2); "
                         "with --gate left: the grounded right electrode's mu_R (mu_L = mu_R + V)")
    ap.add_argument("--gate", choices=["left", "symmetric"], default="left",
                    help="left: the right electrode stays at mu_R and the left one is gated to mu_R + V "
                         "(one gated electrode, as in the paper); symmetric: mu +- V/2")
    ap.add_argument("--electron-temperature", type=float, default=0.0)
    ap.add_argument("--kT", type=float, default=0.1, help="lattice bath temperature k_B T")
    ap.add_argument("--damping", type=float, default=0.2, help="Brownian damping gamma")
    ap.add_argument("--dt", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--record-every", type=int, default=10)
    ap.add_argument("--seed", type=int, default=2201)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy small CPU)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--plot", action=argparse.BooleanOptionalAction, default=True)
    return ap.parse_args()


def run_one(args, bias):
    mu = args.mu + 0.5 * bias if args.gate == "left" else args.mu
    params = negf.NEGFParams(Lx=args.Lx, Ly=args.Ly, gamma_lead=args.gamma_lead, bias=bias, mu=mu,
                             temperature=args.electron_temperature)
    Q0 = negf.checkerboard(params, device=args.device)
    gen = torch.Generator(device=args.device).manual_seed(args.seed)
    start = time.perf_counter()
    traj = brownian.simulate(Q0, negf.force_field(params), dt=args.dt, gamma=args.damping,
                             temperature=args.kT, n_steps=args.steps, record_every=args.record_every,
                             generator=gen)
    wall = time.perf_counter() - start
    phi = cdw_domains.column_order_parameter(traj.Q)                      # (T, Lx)
    bulk = float(cdw_domains.bulk_order_parameter(phi[0]))
    left = cdw_domains.domain_wall_position(phi, bulk, "left")
    right = cdw_domains.domain_wall_position(phi, bulk, "right")
    frac = cdw_domains.metallic_fraction(phi, bulk)
    current = traj.extras["current"]
    return params, traj, phi, bulk, left, right, frac, current, wall


def summarise(t, phi, left, right, frac, current, Lx, gate):
    t, frac, current = t.numpy(), frac.numpy(), current.numpy()
    wall = (left if gate == "left" else (Lx - 1) - right).numpy()   # distance from the gated electrode
    half = np.nonzero(frac >= 0.5)[0]
    first_metal = np.nonzero(frac > 0)[0]
    marks = [m for m in (3, 5, 10, 15) if m < Lx - 1]
    reach = {}
    for m in marks:
        k = np.nonzero(wall >= m)[0]
        reach[str(m)] = float(t[k[0]]) if len(k) else None
    # wall speed between the first times it passes x = 5 and x = 15 (columns per unit time);
    # a least-squares fit is unreliable because the contact column flickers around bulk/2
    lo, hi = reach.get("5"), reach.get("15")
    speed = (10.0 / (hi - lo) if hi > lo else float("inf")) if lo is not None and hi is not None else None
    tail = max(1, len(t) // 5)
    return {
        "final_metallic_fraction": float(frac[-1]),
        "t_first_metallic_column": float(t[first_metal[0]]) if len(first_metal) else None,
        "t_half_metallic": float(t[half[0]]) if len(half) else None,
        "final_wall_position": float(wall[-1]),
        "t_wall_reaches_x": reach,
        "wall_speed_x5_to_x15": speed,
        "current_initial": float(current[0]), "current_final_mean": float(current[-tail:].mean()),
    }


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    results = {"lattice": [args.Lx, args.Ly], "note": "reduced lattice (the published one is 40 x 30)",
               "params": {k: v for k, v in vars(args).items() if k not in ("out", "plot")},
               "device": args.device if args.device != "cpu" else f"CPU {platform.machine()}, {args.threads} thread(s)",
               "runs": {}}
    series, profiles = [], {}
    total_start = time.perf_counter()
    for bias in args.biases:
        params, traj, phi, bulk, left, right, frac, current, wall = run_one(args, bias)
        summary = summarise(traj.t, phi, left, right, frac, current, args.Lx, args.gate)
        summary.update({"bias": bias, "bulk_order_parameter": bulk, "wall_time_s": wall})
        results["runs"][f"{bias:g}"] = summary
        print(f"V={bias:g}: {json.dumps(summary)}", flush=True)
        profiles[bias] = (traj.t.numpy(), phi.numpy())
        for k in range(len(traj.t)):
            series.append((bias, float(traj.t[k]), float(left[k]), float(right[k]), float(frac[k]), float(current[k])))
        np.savetxt(os.path.join(args.out, f"phi_V{bias:g}.csv"), np.column_stack([traj.t.numpy(), phi.numpy()]),
                   delimiter=",", fmt="%.4g", header="t," + ",".join(f"x{x}" for x in range(args.Lx)), comments="")
    results["total_wall_time_s"] = time.perf_counter() - total_start
    np.savetxt(os.path.join(args.out, "timeseries.csv"), np.array(series), delimiter=",", fmt="%.6g",
               header="bias,t,wall_left,wall_right,metallic_fraction,current", comments="")
    with open(os.path.join(args.out, "results.json"), "w") as fh:
        json.dump(results, fh, indent=2)
    if args.plot:
        plot(args, profiles, np.array(series))


def plot(args, profiles, series):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    biases = list(profiles)
    ncol = min(4, len(biases))
    nrow = -(-len(biases) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol + 1, 2.6 * nrow), sharey=True, squeeze=False)
    for ax in axes.flat[len(biases):]:
        ax.axis("off")
    for ax, bias in zip(axes.flat, biases):
        t, phi = profiles[bias]
        im = ax.imshow(phi, aspect="auto", origin="lower", extent=[-0.5, args.Lx - 0.5, t[0], t[-1]],
                       vmin=0, vmax=float(phi[0].max()) * 1.05, cmap="viridis")
        ax.set_title(f"V = {bias:g}")
        ax.set_xlabel("x")
    for row in axes:
        row[0].set_ylabel("t")
    fig.colorbar(im, ax=axes.ravel().tolist(), label="column CDW order |Σ(-1)^(x+y) Q|/Ly")
    fig.savefig(os.path.join(args.out, "order_parameter_heatmaps.png"), dpi=80)
    plt.close(fig)
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(13, 3.6))
    for bias in biases:
        rows = series[series[:, 0] == bias]
        ax1.plot(rows[:, 1], rows[:, 2 if args.gate == "left" else 3], label=f"V={bias:g}")
        ax2.plot(rows[:, 1], rows[:, 4], label=f"V={bias:g}")
        ax3.plot(rows[:, 1], rows[:, 5], label=f"V={bias:g}")
    ax1.set(xlabel="t", ylabel="wall position x (from the " + ("left" if args.gate == "left" else "right") + " electrode)")
    ax2.set(xlabel="t", ylabel="metallic fraction")
    ax3.set(xlabel="t", ylabel="current I(t)")
    ax3.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "domain_wall_and_current.png"), dpi=80)
    plt.close(fig)


if __name__ == "__main__":
    main()
