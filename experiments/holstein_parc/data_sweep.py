"""Issue 6, experiment 5: rollout error against the number of training trajectories
{32, 64, …, 2048} at equal compute (same optimiser steps and batch for every point).

Deep quench g 0 → 2.0, L = 8. One store of 2,056 quenches (t = 0 … 80) serves every point:
the first split of data.split takes N trajectories, 8 go to validation, the rest is left out.
Scored from many states on the attractor of the held-out store (window_rmse), normalised
by the climate scale σ.

    python experiments/holstein_parc/data_sweep.py --data data/deep_many.h5 --test data/deep_test.h5
"""
from __future__ import annotations

import os

from graphqd.data.store import open_store
from sweep_common import deep_sweep_parser, run_deep_sweep, split_fractions

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    parser = deep_sweep_parser(__doc__, HERE)
    parser.add_argument("--trajectories", type=int, nargs="+", default=[32, 64, 128, 256, 512, 1024, 2048])
    parser.add_argument("--run-root", default="runs/holstein_parc/sweeps/data")
    args = parser.parse_args()
    with open_store(args.data, "holstein") as handle:
        total = int(handle["Q"].shape[0])
    points = [(n, {"data.split": split_fractions(total, n, args.val)}, os.path.join(args.run_root, f"n{n}"))
              for n in args.trajectories]
    run_deep_sweep(args, points, "trajectories", "trajectories", "data_sweep",
                   "issue 6 exp. 5: rollout RMSE vs training trajectories at equal compute")


if __name__ == "__main__":
    main()
