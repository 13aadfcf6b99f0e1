"""Issue 6, experiment 6: rollout error against model size (widest layer) and parameter count,
at equal compute (same optimiser steps and batch for every width).

Deep quench g 0 → 2.0, L = 8, a fixed number of training trajectories of the store that
data_sweep.py uses; scored like it (window_rmse from states on the attractor, over σ).

    python experiments/holstein_parc/width_sweep.py --data data/deep_many.h5 --test data/deep_test.h5
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
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--trajectories", type=int, default=256)
    parser.add_argument("--val", type=int, default=8)
    parser.add_argument("--steps", type=int, default=250, help="prediction window scored, in model steps")
    parser.add_argument("--starts", type=int, nargs="+", default=list(range(1000, 9000, 1000)))
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--run-root", default="runs/holstein_parc/sweeps/width")
    parser.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    with open_store(args.data, "holstein") as handle:
        total = int(handle["Q"].shape[0])
    n = args.trajectories
    split = [n / total, args.val / total, (total - n - args.val) / total]
    horizons = [1, 10, 50, args.steps]
    rows, curves, dt = [], {}, None
    for width in args.widths:
        run_dir, seconds = train_point(args.base, {"data.path": args.data, "data.split": split, "model.width": width},
                                       os.path.join(args.run_root, f"w{width}"))
        result = score(run_dir, args.test, args.steps, args.starts, args.runs)
        sigma, dt = result["curves"]["climate_scale"], result["dt"]
        curve = [v / sigma for v in result["curves"]["total"]]
        curves[width] = curve
        row = {"width": width, "parameters": result["parameters"], "train_seconds": round(seconds, 1),
               "climate_scale": sigma, **{f"rmse_h{h}": curve[h - 1] for h in horizons}}
        rows.append(row)
        print(row, flush=True)
    columns = ["width", "parameters", "train_seconds", "climate_scale"] + [f"rmse_h{h}" for h in horizons]
    write_results(args.out_dir, "width_sweep", rows, columns,
                  {"experiment": "issue 6 exp. 6: rollout RMSE vs model size at equal compute", "trajectories": n,
                   "train_data": args.data, "test_data": args.test, "test_runs": args.runs, "starts": args.starts,
                   "base_config": os.path.relpath(args.base), "curves_over_sigma": {str(k): v for k, v in curves.items()}})
    plot_sweep(os.path.join(args.out_dir, "width_sweep.png"), curves, dt, "width", rows, "parameters", horizons,
               "deep quench: held-out states on the attractor")


if __name__ == "__main__":
    main()
