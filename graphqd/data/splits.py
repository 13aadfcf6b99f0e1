"""Train / validation / test split of a store's trajectories, fixed by a seed.

Samples of one trajectory are strongly correlated, so the split is by trajectory, never
by sample: no test state is a few steps from a training state.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from graphqd.errors import ConfigError

SPLITS = ("train", "val", "test")


def split_runs(n_runs: int, fractions: Sequence[float], seed: int) -> dict[str, list[int]]:
    """Trajectory numbers of each split: a seeded permutation cut by `fractions` (train, val, test).

    Every split with a positive fraction gets at least one trajectory; the rest of the
    rounding goes to training. The result depends on (n_runs, fractions, seed) only.
    """
    fractions = [float(f) for f in fractions]
    if len(fractions) != 3 or min(fractions) < 0 or not fractions[0] > 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ConfigError(f"config key 'data.split' must be three fractions [train, val, test] >= 0 summing to 1 "
                          f"with train > 0, got {list(fractions)}")
    wanted = sum(1 for f in fractions if f > 0)
    if n_runs < wanted:
        raise ConfigError(f"config key 'data.split' asks for {wanted} non-empty splits but the data has only "
                          f"{n_runs} trajectories")
    counts = [max(1, int(round(f * n_runs))) if f > 0 else 0 for f in fractions[1:]]
    while sum(counts) > n_runs - 1:  # training keeps at least one trajectory
        counts[int(np.argmax(counts))] -= 1
    order = np.random.default_rng(seed).permutation(n_runs).tolist()
    val, test = order[:counts[0]], order[counts[0]:counts[0] + counts[1]]
    train = order[counts[0] + counts[1]:]
    return {"train": sorted(train), "val": sorted(val), "test": sorted(test)}
