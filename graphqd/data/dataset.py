"""The generic interface of graphqd's datasets, lazy HDF5 access and the batch order.

A `WindowDataset` serves PyG graphs that carry windows of an evolving state: for each
state key (`state_keys`, e.g. Q, P, rho) a per-node tensor with a frame axis
(nodes, H+1, ...), frame 0 the input and frames 1 … H the targets of an H-step rollout;
optionally the exact derivative `{key}_rate` per frame. The trainer, the validation
rollouts and `graphqd evaluate` only use this interface, so any system plugs in by
subclassing it: Holstein samples (`graphqd.data.holstein`), wave windows (state key
psi on grid-point nodes), and NEGF force samples (H = 1 with an input key Q and a target
key n, for which `state_at(batch, 1)` is the force-field label).
"""
from __future__ import annotations

import abc
import os
from typing import Iterator

import torch
from torch import Tensor
from torch_geometric.data import Data, Dataset

from graphqd.data.store import open_store
from graphqd.errors import ConfigError
from graphqd.keys import rate_key


class LazyStore:
    """An HDF5 store opened on first use in each process.

    h5py handles must not cross a fork, so a DataLoader worker (which receives a copy of
    the dataset) opens its own handle; pickling drops the handle.
    """

    def __init__(self, path: str, system: str):
        self.path, self.system = str(path), system
        self._handle, self._pid = None, None

    @property
    def file(self):
        if self._handle is None or self._pid != os.getpid():
            self._handle, self._pid = open_store(self.path, self.system), os.getpid()
        return self._handle

    def close(self) -> None:
        if self._handle is not None and self._pid == os.getpid():
            self._handle.close()
        self._handle, self._pid = None, None

    def __getstate__(self):
        return {"path": self.path, "system": self.system, "_handle": None, "_pid": None}


class WindowDataset(Dataset, metaclass=abc.ABCMeta):
    """Samples (run, start) of windows of `horizon` model steps, each of `step` stored snapshots.

    Subclasses set `state_keys` and implement `window(run, start, horizon, rates)`,
    `error(prediction, target, batch)` and `statistics()`.
    """

    state_keys: tuple = ()
    system: str = ""

    def __init__(self, path: str, runs, step: int, horizon: int, start_stride: int = 1, rates: bool = True):
        super().__init__(None)
        self.store = LazyStore(path, self.system)
        self.runs = [int(r) for r in runs]
        self.step, self.horizon, self.rates = int(step), int(horizon), bool(rates)
        if self.step < 1 or self.horizon < 1 or start_stride < 1:
            raise ConfigError(f"data.step ({step}), the rollout length ({horizon}) and data.start_stride "
                              f"({start_stride}) must be >= 1")
        n_frames = self.num_frames
        last_start = n_frames - 1 - self.horizon * self.step
        if last_start < 0:
            raise ConfigError(f"a window of {self.horizon} model steps of data.step = {self.step} snapshots needs "
                              f"{self.horizon * self.step + 1} snapshots, but '{path}' has {n_frames} per trajectory")
        self.starts = list(range(0, last_start + 1, int(start_stride)))

    # --- facts about the store -------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        return int(self.store.file["t"].shape[0])

    @property
    def stored_dt(self) -> float:
        """Spacing of the stored snapshots (the exact `dt` attribute where the store has one)."""
        if "dt" in self.store.file.attrs:
            return float(self.store.file.attrs["dt"])
        t = self.store.file["t"]
        return float(t[1] - t[0])

    @property
    def dt(self) -> float:
        """Time of one model step."""
        return self.step * self.stored_dt

    # --- PyG Dataset -----------------------------------------------------------------------
    def len(self) -> int:
        return len(self.runs) * len(self.starts)

    def get(self, idx: int) -> Data:
        run, start = divmod(int(idx), len(self.starts))
        return self.window(self.runs[run], self.starts[start], self.horizon, self.rates)

    # --- the interface the trainer and the evaluators use ---------------------------------
    @abc.abstractmethod
    def window(self, run: int, start: int, horizon: int, rates: bool = True) -> Data:
        """One sample: `horizon` + 1 frames of run `run` from snapshot `start` (and rate labels)."""

    def validation_samples(self, runs: list[int], steps: int) -> list[Data]:
        """The samples the trainer validates on: rollouts of `steps` model steps from t = 0 of `runs`."""
        return [self.window(r, 0, steps, rates=False) for r in runs]

    def state_at(self, batch: Data, frame: int) -> dict[str, Tensor]:
        """The state of frame `frame` of every graph in `batch`: {key: (nodes, ...)}."""
        return {key: batch[key][:, frame] for key in self.state_keys}

    def scored(self, state: dict[str, Tensor]) -> dict[str, Tensor]:
        """The part of a model state that the training loss compares with the truth: all of it."""
        return state

    def rate_at(self, batch: Data, frame: int) -> dict[str, Tensor] | None:
        """Exact du/dt of frame `frame`, or None when the samples carry no derivative labels."""
        if rate_key(self.state_keys[0]) not in batch:
            return None
        return {key: batch[rate_key(key)][:, frame] for key in self.state_keys}

    @abc.abstractmethod
    def error(self, prediction: dict, target: dict, batch: Data) -> dict[str, Tensor]:
        """Per-graph errors {name: (num_graphs,)} with a "total" entry (the system's metric)."""

    @abc.abstractmethod
    def statistics(self, max_runs: int = 64) -> dict:
        """Normalisation statistics of these runs: {key: {mean, std, step_std, rate_std}}."""

    def store_facts(self) -> dict:
        """Attributes of the store a checkpoint keeps, to remake such data later (e.g. the grid)."""
        return {}

    def loader(self, sampler: torch.utils.data.Sampler, workers: int = 0) -> torch.utils.data.DataLoader:
        """Batches in the order of `sampler`, collated by PyG (each sample a graph)."""
        from torch_geometric.loader import DataLoader
        return DataLoader(self, batch_sampler=sampler, num_workers=workers, persistent_workers=workers > 0)

    def batch_sampler(self, global_batch: int, seed: int, rank: int = 0, world: int = 1,
                      first_batch: int = 0) -> torch.utils.data.Sampler:
        """The order in which training draws samples: seeded epochs of every sample."""
        return GlobalBatchSampler(len(self), global_batch, seed, rank, world, first_batch)


class GlobalBatchSampler(torch.utils.data.Sampler):
    """Batches of a seeded per-epoch permutation, resumable and shared out over DDP ranks.

    Global batch b (0-based; the batch of optimiser step b + 1) holds samples
    perm_e[(b mod B)·G : (b mod B + 1)·G] of epoch e = b div B, B = ⌊n/G⌋, with perm_e a
    permutation seeded by (seed, e). Rank r of `world` takes the r-th contiguous slice of
    G/world samples. The order is a function of (seed, b) only: a resumed run and a
    multi-process run see exactly the samples of an uninterrupted single-process run.
    """

    def __init__(self, n_samples: int, global_batch: int, seed: int, rank: int = 0, world: int = 1,
                 first_batch: int = 0):
        if global_batch % world:
            raise ConfigError(f"config key 'data.batch_size' ({global_batch}) must be divisible by the number "
                              f"of processes ({world})")
        if global_batch > n_samples:
            raise ConfigError(f"config key 'data.batch_size' ({global_batch}) exceeds the {n_samples} training "
                              f"samples; lower it or add data")
        self.n, self.global_batch, self.seed = n_samples, global_batch, seed
        self.rank, self.world, self.first_batch = rank, world, first_batch
        self.per_epoch = n_samples // global_batch
        self.local = global_batch // world

    def batch(self, b: int) -> list[int]:
        epoch, position = divmod(b, self.per_epoch)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        perm = torch.randperm(self.n, generator=generator)
        begin = position * self.global_batch + self.rank * self.local
        return perm[begin:begin + self.local].tolist()

    def __iter__(self) -> Iterator[list[int]]:
        b = self.first_batch
        while True:
            yield self.batch(b)
            b += 1

    def __len__(self) -> int:  # infinite stream; one epoch for tools that ask
        return self.per_epoch
