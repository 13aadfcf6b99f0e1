"""Issue 6, experiment 4: rollout error against the model step Δt ∈ {0.02, 0.04, 0.08, 0.16}.

One store sampled every 0.02 (shallow quench, see run_sweeps.sh) serves every Δt through
data.step = Δt / 0.02; each point trains with the same optimiser steps, batch and rollout
lengths (in model steps), and is scored at equal physical times on a held-out store.

    python experiments/holstein_parc/dt_sweep.py --data data/shallow_fine_train.h5 \
        --test data/shallow_fine_test.h5 --out-dir experiments/holstein_parc/results
"""
from __future__ import annotations

import argparse
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sweep_common import device_name, score, train_point, write_results  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default=os.path.join(HERE, "sweep_base.yaml"))
    parser.add_argument("--data", required=True, help="training store sampled every --spacing")
    parser.add_argument("--test", required=True, help="held-out store, same spacing")
    parser.add_argument("--spacing", type=float, default=0.02)
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 2, 4, 8], help="data.step values")
    parser.add_argument("--times", type=float, nargs="+", default=[4.0, 16.0, 32.0], help="scoring times")
    parser.add_argument("--runs", type=int, default=8, help="test trajectories")
    parser.add_argument("--starts", type=int, nargs="+", default=[0, 100, 200, 300, 400],
                        help="stored snapshots the scored rollouts start from")
    parser.add_argument("--run-root", default="runs/holstein_parc/sweeps/dt")
    parser.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    args = parser.parse_args()

    rows, curves = [], {}
    horizon = max(args.times)
    for k in args.steps:
        dt = k * args.spacing
        run_dir, seconds = train_point(args.base, {"data.path": args.data, "data.step": k},
                                       os.path.join(args.run_root, f"step{k}"))
        result = score(run_dir, args.test, int(round(horizon / dt)), args.starts, args.runs)
        curve = np.array(result["curves"]["total"])
        curves[dt] = curve
        row = {"dt": round(dt, 6), "data_step": k, "parameters": result["parameters"],
               "train_seconds": round(seconds, 1)}
        for t in args.times:
            row[f"rmse_total_t{t:g}"] = float(curve[int(round(t / dt)) - 1])
        rows.append(row)
        print(row, flush=True)
    columns = ["dt", "data_step", "parameters", "train_seconds"] + [f"rmse_total_t{t:g}" for t in args.times]
    write_results(args.out_dir, "dt_sweep", rows, columns,
                  {"experiment": "issue 6 exp. 4: rollout RMSE vs model step", "train_data": args.data,
                   "test_data": args.test, "test_runs": args.runs,
                   "starts": args.starts, "spacing": args.spacing, "base_config": os.path.relpath(args.base)})

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    for dt, curve in curves.items():
        left.semilogy(dt * np.arange(1, len(curve) + 1), curve, label=f"Δt = {dt:g}")
    left.set(xlabel="t", ylabel="rollout RMSE (total)", title="shallow quench, held-out runs")
    left.legend()
    for t in args.times:
        right.loglog([r["dt"] for r in rows], [r[f"rmse_total_t{t:g}"] for r in rows], "o-", label=f"t = {t:g}")
    right.set(xlabel="model step Δt", ylabel="rollout RMSE (total)", title="error at equal physical time")
    right.legend()
    fig.suptitle(f"graph PARC (Strang), equal compute per point; {device_name()}", fontsize=9)
    fig.savefig(os.path.join(args.out_dir, "dt_sweep.png"), dpi=110)


if __name__ == "__main__":
    main()
