"""Issue 6, experiment 6: rollout error against model size (widest layer) and parameter count,
at equal compute (same optimiser steps and batch for every width).

Deep quench g 0 → 2.0, L = 8, a fixed number of training trajectories of the store that
data_sweep.py uses; scored like it (window_rmse from states on the attractor, over σ).

    python experiments/holstein_parc/width_sweep.py --data data/deep_many.h5 --test data/deep_test.h5
"""
from __future__ import annotations

import os

from graphqd.data.store import open_store
from sweep_common import deep_sweep_parser, run_deep_sweep, split_fractions

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    parser = deep_sweep_parser(__doc__, HERE)
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--trajectories", type=int, default=256)
    parser.add_argument("--run-root", default="runs/holstein_parc/sweeps/width")
    args = parser.parse_args()
    with open_store(args.data, "holstein") as handle:
        total = int(handle["Q"].shape[0])
    split = split_fractions(total, args.trajectories, args.val)
    points = [(w, {"data.split": split, "model.width": w}, os.path.join(args.run_root, f"w{w}")) for w in args.widths]
    run_deep_sweep(args, points, "width", "parameters", "width_sweep",
                   f"issue 6 exp. 6: rollout RMSE vs model size at equal compute ({args.trajectories} trajectories)")


if __name__ == "__main__":
    main()
