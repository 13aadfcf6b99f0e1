"""Several stores of one system trained on as one dataset (`data.path` plus `data.extra_paths`).

A local model's cost and loss are per site, so chains of several lengths can share a
training set: the Holstein surrogates that run on long chains learn from L = 8 … 64 at
once. The stores' trajectories are numbered consecutively, `data.path`'s first, so the
split by trajectory (`graphqd.data.splits`) and every run list of the trainer work as
for one store. Each sample is one graph of its own store; PyG batches graphs of
different sizes. By default a batch draws from the stores in proportion to their samples;
`data.store_weights` fixes each store's share of every batch instead, so that a few long
chains are not outnumbered by many short ones.
"""
from __future__ import annotations

import bisect
import math

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data, Dataset

from graphqd.data.dataset import GlobalBatchSampler, WindowDataset
from graphqd.errors import ConfigError


class StoreMixture(Dataset):
    """The windows of several `WindowDataset`s of one system and one model step.

    Args:
        members: one dataset per store, each holding its share of the mixture's runs.
        runs: the mixture's trajectory numbers of each member (same order as their runs).
        weights: each member's share of every training batch (default: ∝ its samples).
    """

    def __init__(self, members: list, runs: list[list[int]], weights: list[float] | None = None):
        super().__init__(None)
        if not members:
            raise ConfigError("a store mixture needs at least one store with runs in this split")
        first = members[0]
        for other in members[1:]:
            if type(other) is not type(first) or not math.isclose(other.dt, first.dt, rel_tol=1e-9):
                raise ConfigError(f"data.extra_paths: '{other.store.path}' holds {other.system} data of model step "
                                  f"{other.dt:g}; '{first.store.path}' holds {first.system} data of model step "
                                  f"{first.dt:g}; the stores must agree")
        self.members, self.member_runs = members, runs
        self.state_keys, self.system = first.state_keys, first.system
        self.step, self.horizon = first.step, first.horizon
        self.ends = np.cumsum([len(m) for m in members]).tolist()
        self.weights = weights

    # --- facts shared by the members -------------------------------------------------------
    @property
    def dt(self) -> float:
        return self.members[0].dt

    @property
    def stored_dt(self) -> float:
        return self.members[0].stored_dt

    @property
    def num_frames(self) -> int:
        return min(m.num_frames for m in self.members)

    @property
    def runs(self) -> list[int]:
        return [r for runs in self.member_runs for r in runs]

    @property
    def L(self) -> list:
        return [getattr(m, "L", None) for m in self.members]

    # --- PyG Dataset -----------------------------------------------------------------------
    def len(self) -> int:
        return self.ends[-1]

    def get(self, idx: int) -> Data:
        k = bisect.bisect_right(self.ends, int(idx))
        return self.members[k].get(int(idx) - (self.ends[k - 1] if k else 0))

    # --- the WindowDataset interface -------------------------------------------------------
    def _member_of(self, run: int) -> tuple:
        for member, runs in zip(self.members, self.member_runs):
            if run in runs:
                return member, member.runs[runs.index(run)]
        raise ConfigError(f"run {run} is not in this split of the store mixture")

    def validation_samples(self, runs: list[int], steps: int) -> list[Data]:
        samples = []
        for run in runs:
            member, local = self._member_of(run)
            samples += member.validation_samples([local], steps)
        return samples

    def state_at(self, batch: Data, frame: int) -> dict[str, Tensor]:
        return self.members[0].state_at(batch, frame)

    def scored(self, state: dict[str, Tensor]) -> dict[str, Tensor]:
        return self.members[0].scored(state)

    def rate_at(self, batch: Data, frame: int) -> dict[str, Tensor] | None:
        return self.members[0].rate_at(batch, frame)

    def error(self, prediction: dict, target: dict, batch: Data) -> dict[str, Tensor]:
        return self.members[0].error(prediction, target, batch)

    def statistics(self, max_runs: int = 64) -> dict:
        """The members' statistics pooled with weights ∝ their samples: mean = Σ w_k m_k,
        std² = Σ w_k (s_k² + m_k²) − mean²; the increment and rate stds (of zero-mean
        quantities) as √(Σ w_k s_k²). Each member uses up to `max_runs` of its runs."""
        weights = np.array([len(m) for m in self.members], dtype=np.float64)
        weights /= weights.sum()
        parts = [m.statistics(max_runs) for m in self.members]
        pooled = {}
        for key in parts[0]:  # the state and any input the model normalises (a force field's Q)
            mean = sum(w * np.asarray(p[key]["mean"]) for w, p in zip(weights, parts))
            second = sum(w * (np.asarray(p[key]["std"]) ** 2 + np.asarray(p[key]["mean"]) ** 2)
                         for w, p in zip(weights, parts))
            pooled[key] = {"mean": mean.tolist(), "std": np.sqrt(np.maximum(second - mean ** 2, 0.0)).tolist()}
            for name in ("step_std", "rate_std"):
                pooled[key][name] = np.sqrt(sum(w * np.asarray(p[key][name]) ** 2
                                                for w, p in zip(weights, parts))).tolist()
        return pooled

    def store_facts(self) -> dict:
        return self.members[0].store_facts()

    loader = WindowDataset.loader  # serves any Dataset with len()

    def batch_sampler(self, global_batch: int, seed: int, rank: int = 0, world: int = 1,
                      first_batch: int = 0) -> torch.utils.data.Sampler:
        """Seeded epochs of every sample, or with `weights` a fixed count from each member per batch."""
        if self.weights is None:
            return WindowDataset.batch_sampler(self, global_batch, seed, rank, world, first_batch)
        return StratifiedBatchSampler([len(m) for m in self.members], self.weights, global_batch, seed, rank, world,
                                      first_batch)


def apportion(total: int, weights: list[float]) -> list[int]:
    """Integer counts summing to `total`, ∝ `weights`, by largest remainder (ties to the first)."""
    exact = total * np.asarray(weights, dtype=np.float64) / float(sum(weights))
    counts = np.floor(exact).astype(int)
    for k in np.argsort(-(exact - counts), kind="stable")[:total - int(counts.sum())]:
        counts[k] += 1
    return counts.tolist()


class StratifiedBatchSampler(GlobalBatchSampler):
    """Global batches holding c_k samples of member k, c = `apportion`(G, weights).

    Member k (samples o_k … o_k + n_k − 1 of the mixture) feeds its own stream, the seeded
    per-epoch permutations π_{k,0} ‖ π_{k,1} ‖ … of its n_k samples; global batch b takes
    positions b·c_k … (b + 1)·c_k − 1 of each stream. As for `GlobalBatchSampler`, the order is
    a function of (seed, b) only, and rank r of `world` takes the r-th contiguous slice.
    """

    def __init__(self, sizes: list[int], weights: list[float], global_batch: int, seed: int, rank: int = 0,
                 world: int = 1, first_batch: int = 0):
        super().__init__(sum(sizes), global_batch, seed, rank, world, first_batch)
        self.sizes, self.counts = sizes, apportion(global_batch, weights)
        self.offsets = np.cumsum([0, *sizes[:-1]]).tolist()

    def _permutation(self, member: int, epoch: int) -> Tensor:
        generator = torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) * 1_009 + member)
        return torch.randperm(self.sizes[member], generator=generator)

    def batch(self, b: int) -> list[int]:
        chosen = []
        for k, (n, c, offset) in enumerate(zip(self.sizes, self.counts, self.offsets)):
            positions = range(b * c, (b + 1) * c)
            epochs = {p // n for p in positions}
            perms = {e: self._permutation(k, e) for e in epochs}
            chosen += [offset + int(perms[p // n][p % n]) for p in positions]
        begin = self.rank * self.local
        return chosen[begin:begin + self.local]
