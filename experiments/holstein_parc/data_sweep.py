"""Issue 6, experiment 5: rollout error against the number of training trajectories
{32, 64, …, 2048} at equal compute (same optimiser steps and batch for every point).

Deep quench g 0 → 2.0, L = 8. One store of 2,056 quenches (t = 0 … 80) serves every point:
the first split of data.split takes N trajectories, 8 go to validation, the rest is left out.
Scored from many states on the attractor of the held-out store (window_rmse), normalised
by the climate scale σ.

    python experiments/holstein_parc/data_sweep.py --data data/deep_many.h5 --test data/deep_test.h5
"""
from __future__ import annotations

import argparse
import os

from graphqd.data.store import open_store
from sweep_common import plot_sweep, score, train_point, write_results

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default=os.path.join(HERE, "sweep_base.yaml"))
    parser.add_argument("--data", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--trajectories", type=int, nargs="+", default=[32, 64, 128, 256, 512, 1024, 2048])
    parser.add_argument("--val", type=int, default=8)
    parser.add_argument("--steps", type=int, default=250, help="prediction window scored, in model steps")
    parser.add_argument("--starts", type=int, nargs="+", default=list(range(1000, 9000, 1000)))
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--run-root", default="runs/holstein_parc/sweeps/data")
    parser.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    with open_store(args.data, "holstein") as handle:
        total = int(handle["Q"].shape[0])
    horizons = [1, 10, 50, args.steps]
    rows, curves, dt = [], {}, None
    for n in args.trajectories:
        if n + args.val > total:
            raise SystemExit(f"'{args.data}' holds {total} trajectories, fewer than {n} + {args.val}")
        split = [n / total, args.val / total, (total - n - args.val) / total]
        run_dir, seconds = train_point(args.base, {"data.path": args.data, "data.split": split},
                                       os.path.join(args.run_root, f"n{n}"))
        result = score(run_dir, args.test, args.steps, args.starts, args.runs)
        sigma, dt = result["curves"]["climate_scale"], result["dt"]
        curve = [v / sigma for v in result["curves"]["total"]]
        curves[n] = curve
        row = {"trajectories": n, "parameters": result["parameters"], "train_seconds": round(seconds, 1),
               "climate_scale": sigma, **{f"rmse_h{h}": curve[h - 1] for h in horizons}}
        rows.append(row)
        print(row, flush=True)
    columns = ["trajectories", "parameters", "train_seconds", "climate_scale"] + [f"rmse_h{h}" for h in horizons]
    write_results(args.out_dir, "data_sweep", rows, columns,
                  {"experiment": "issue 6 exp. 5: rollout RMSE vs training trajectories at equal compute",
                   "train_data": args.data, "test_data": args.test, "test_runs": args.runs, "starts": args.starts,
                   "base_config": os.path.relpath(args.base), "curves_over_sigma": {str(k): v for k, v in curves.items()}})
    plot_sweep(os.path.join(args.out_dir, "data_sweep.png"), curves, dt, "trajectories", rows, "trajectories",
               horizons, "deep quench: held-out states on the attractor")


if __name__ == "__main__":
    main()
