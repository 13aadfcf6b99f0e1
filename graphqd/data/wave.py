"""Wave-packet windows read from a `graphqd simulate wave` store as PyG samples
(`graphqd.graphs.wave`).

A training sample is a patch of `patch` consecutive grid points (periodic wrap) of one run,
or its whole periodic grid when `patch` is 0, with `frames + horizon` stored frames spaced by
k = `step` snapshots: the model reads the first `frames` (Re ψ, Im ψ per point, and V) and is
scored on the next `horizon`. A rollout sample (`window`) is the whole periodic grid. Samples
are drawn as the published emulator was trained (Yao et al., Front. Mater. 9:1060744 (2023)):
any start frame and patch position of a run, with the patches that overlap the potential drawn
`barrier_weight` (50) times as often. Runs are read whole into a small per-process cache (one
preallocated block) and the sampler draws each batch from a slowly changing set of active runs,
so a batch of windows costs one fancy index into memory, not a file read.
"""
from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Iterator

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

from graphqd import keys as K
from graphqd.data.dataset import WindowDataset
from graphqd.data.moments import RunningMoments
from graphqd.errors import ConfigError, StoreError
from graphqd.graphs.wave import WaveGraphSpec, window_fields

BARRIER_WEIGHT = 50.0   # how much more often a patch that overlaps the potential is drawn
ACTIVE_RUNS = 64        # runs a batch is drawn from (held in the cache)
ACTIVE_STEPS = 250      # optimiser steps before the active runs change
# the published window stream (`PublishedStreamSampler`)
PUBLISHED_FILES = 1000            # tfrecord files the windows were dealt into, round robin
PUBLISHED_WINDOWS_PER_RUN = 45492  # 446 start frames × 102 patch positions of each run
PUBLISHED_INTERLEAVE = 4          # files read at a time: the period of the published loss log (published_stream.py)
PUBLISHED_BUFFER = 5000           # windows in the reader's shuffle buffer
PUBLISHED_CACHE_RUNS = 160        # runs cached: the buffer reaches back about 14 runs, 0.1 % of draws past 100


class WaveSample(Data):
    """A patch (or the whole grid) of one run: grid points are the nodes."""


class WaveWindows(WindowDataset):
    """Patches of wave runs from a store, with an index space (run, start frame, patch position).

    Args:
        path: wave store (complete).
        runs: run numbers of this split.
        step: k, stored snapshots per model step.
        horizon: model steps scored per sample.
        graphs: frames, window width, patch size of the model (`WaveGraphSpec`).
        start_stride: use every start_stride-th start frame.
        rates: unused (wave models take no derivative labels).
    """

    state_keys = (K.PSI,)
    system = "wave"

    def __init__(self, path: str, runs, step: int, horizon: int, graphs: WaveGraphSpec = WaveGraphSpec(),
                 start_stride: int = 1, rates: bool = False):
        self.graphs = graphs
        super().__init__(path, runs, step, horizon, start_stride, rates=False)
        handle = self.store.file
        self.points = int(handle.attrs["points"])
        if self.points < max(graphs.patch, graphs.width):
            raise StoreError(f"'{path}' has {self.points} grid points, fewer than a patch of {graphs.patch}")
        n_runs = int(handle["psi"].shape[0])
        bad = [r for r in self.runs if not 0 <= r < n_runs]
        if bad:
            raise StoreError(f"'{path}' has {n_runs} runs; run {bad[0]} does not exist")
        span = (graphs.frames - 1 + self.horizon) * self.step
        if self.num_frames - 1 < span:
            raise ConfigError(f"a sample of {graphs.frames} input frames and {self.horizon} model steps of "
                              f"data.step = {self.step} snapshots needs {span + 1} snapshots, but '{path}' has "
                              f"{self.num_frames} per run")
        self.starts = list(range(0, self.num_frames - span, int(start_stride)))
        self.potentials = np.asarray(handle["V"][sorted(set(self.runs))], dtype=np.float32)
        self._row = np.full(n_runs, -1, dtype=np.int64)   # run → its row of self.potentials (-1: not in the split)
        self._row[sorted(set(self.runs))] = np.arange(len(set(self.runs)))
        self._cache: OrderedDict = OrderedDict()   # run → slot of self._block
        self._block = None
        self._block_shape = (min(ACTIVE_RUNS, n_runs), self.num_frames, self.points)

    def reserve_cache(self, runs: int) -> None:
        """Hold the last `runs` runs read (at most the store's) in the cache, emptying it if it must grow."""
        runs = min(runs, int(self.store.file["psi"].shape[0]))
        if runs > self._block_shape[0]:
            self._cache.clear()
            self._block, self._block_shape = None, (runs, *self._block_shape[1:])

    # --- samples ----------------------------------------------------------------------------
    def len(self) -> int:
        return len(self.runs) * len(self.starts) * self.points

    def get(self, idx: int) -> WaveSample:
        run, rest = divmod(int(idx), len(self.starts) * self.points)
        start, position = divmod(rest, self.points)
        if self.graphs.patch == 0:
            return self.window(self.runs[run], self.starts[start], self.horizon)
        return self.patch(self.runs[run], self.starts[start], position, self.horizon)

    def collate(self, indices: list[int]) -> Batch:
        """The batch of samples `indices`, assembled at once: on training patches, which share one
        graph, the same batch as PyG's collation of the samples one by one, without building them."""
        if self.graphs.patch == 0:
            return Batch.from_data_list([self.get(i) for i in indices])
        size, count = self.graphs.patch, len(indices)
        run, rest = np.divmod(np.asarray(indices, dtype=np.int64), len(self.starts) * self.points)
        start, position = np.divmod(rest, self.points)
        points = (position[:, None] + np.arange(size)[None]) % self.points                 # (B, P)
        runs = np.asarray(self.runs, dtype=np.int64)[run]
        psi = self._gather(runs, np.asarray(self.starts, dtype=np.int64)[start], points)  # (B, F, P)
        V = self.potentials[self._row[runs][:, None], points]
        frames = torch.from_numpy(np.stack([psi.real, psi.imag], -1)).permute(0, 2, 1, 3).reshape(count * size, -1, 2)
        batch = Batch(**{K.PSI: frames.float().contiguous(), K.POTENTIAL: torch.from_numpy(V.reshape(-1)).float()},
                      **_batched_fields(size, self.graphs, count), run=torch.from_numpy(runs),
                      start=torch.as_tensor(np.asarray(self.starts, dtype=np.int64)[start]), num_nodes=count * size)
        batch._num_graphs = count
        return batch

    def loader(self, sampler, workers: int = 0) -> torch.utils.data.DataLoader:
        """Batches in the order of `sampler`, each assembled at once by `collate`."""
        return torch.utils.data.DataLoader(_Collated(self), batch_size=None, sampler=sampler, num_workers=workers,
                                           persistent_workers=workers > 0)

    def frames_of(self, run: int, start: int, horizon: int) -> np.ndarray:
        """ψ of stored frames start, start + k, … (frames + horizon of them): (F, points) complex64."""
        count = self.graphs.frames + horizon
        return self._cached(run)[start:start + (count - 1) * self.step + 1:self.step]

    def _cached(self, run: int) -> np.ndarray:
        """All stored frames of `run`: (T, points) complex64, a view into the cache."""
        slot = self._slot(run)
        return self._block[slot]

    def _slot(self, run: int) -> int:
        """Slot of `run` in the cache of the ACTIVE_RUNS runs read last, read into it if absent: one preallocated
        block whose slots the least recently read run gives up."""
        if run in self._cache:
            self._cache.move_to_end(run)
            return self._cache[run]
        if self._block is None:
            self._block = np.empty(self._block_shape, dtype=np.complex64)
        slot = self._cache.popitem(last=False)[1] if len(self._cache) >= len(self._block) else len(self._cache)
        psi = self.store.file["psi"]
        if psi.dtype == self._block.dtype:   # straight into the block, without a temporary (2.5× faster)
            psi.read_direct(self._block, np.s_[run], np.s_[slot])
        else:
            self._block[slot] = psi[run]
        self._cache[run] = slot
        return slot

    def _gather(self, runs: np.ndarray, starts: np.ndarray, points: np.ndarray) -> np.ndarray:
        """ψ of `frames_of(runs[b], starts[b], horizon)[:, points[b]]` for every b at once: (B, F, P) complex64.
        One fancy index into the cache per group of runs that fits in it."""
        offsets = np.arange(self.graphs.frames + self.horizon) * self.step
        out = np.empty((len(runs), len(offsets), points.shape[1]), dtype=np.complex64)
        unique = np.unique(runs)
        for group in np.array_split(unique, -(-len(unique) // self._block_shape[0])):
            slots = np.asarray([self._slot(int(r)) for r in group])
            member = np.isin(runs, group)
            slot = slots[np.searchsorted(group, runs[member])]
            out[member] = self._block[slot[:, None, None], (starts[member][:, None] + offsets)[:, :, None],
                                      points[member][:, None, :]]
        return out

    def _sample(self, psi: np.ndarray, V: np.ndarray, periodic: bool, run: int, start: int) -> WaveSample:
        frames = torch.from_numpy(np.stack([psi.real, psi.imag], -1)).transpose(0, 1)  # (points, F, 2)
        fields = window_fields(psi.shape[1], self.graphs, periodic)
        return WaveSample(num_nodes=psi.shape[1], **{K.PSI: frames.float().contiguous(),
                                                     K.POTENTIAL: torch.from_numpy(V).float()},
                          **fields, run=torch.tensor([run]), start=torch.tensor([start]))

    def patch(self, run: int, start: int, position: int, horizon: int) -> WaveSample:
        """The `patch` points from `position` on (periodic wrap) of run `run` from frame `start`."""
        points = (position + np.arange(self.graphs.patch)) % self.points
        psi = self.frames_of(run, start, horizon)[:, points]
        return self._sample(psi, self.potentials[self._row[run]][points], False, run, start)

    def window(self, run: int, start: int, horizon: int, rates: bool = False) -> WaveSample:
        """The whole periodic grid of run `run` from frame `start` (rollouts)."""
        V = self.potentials[self._row[run]] if self._row[run] >= 0 else \
            np.asarray(self.store.file["V"][run], dtype=np.float32)
        return self._sample(self.frames_of(run, start, horizon), V, True, run, start)

    def state_at(self, batch: Data, frame: int) -> dict[str, Tensor]:
        """The last `frames` frames before model step `frame`: {psi: (points, frames, 2)}."""
        return {K.PSI: batch[K.PSI][:, frame:frame + self.graphs.frames]}

    def scored(self, state: dict[str, Tensor]) -> dict[str, Tensor]:
        """The newest frame, (points, 2): the older frames of the state are its inputs copied forward, whose
        zero error would divide the loss by `frames` (the published emulator's loss is the MSE of the new frame)."""
        return {K.PSI: state[K.PSI][:, -1]}

    def store_facts(self) -> dict:
        """The grid and ground truth of the data, to simulate a user's potential the same way."""
        attrs = self.store.file.attrs
        return {name: attrs[name].item() if hasattr(attrs[name], "item") else str(attrs[name])
                for name in ("points", "length", "laplacian", "propagator", "internal_dt") if name in attrs}

    # --- errors and statistics ----------------------------------------------------------
    def error(self, prediction: dict, target: dict, batch: Data) -> dict[str, Tensor]:
        """Per-graph errors of the newest frame: "mae" as the published code computes it,
        mean over points of (|ΔRe ψ| + |ΔIm ψ|)/2 (also "total"), and "mae_modulus", mean |Δψ|
        (the paper's Eq. 9); points weighted by `node_weight`."""
        difference = prediction[K.PSI][:, -1].double() - target[K.PSI][:, -1].double()
        graph = batch[K.GRAPH_OF_SITE] if K.GRAPH_OF_SITE in batch and batch[K.GRAPH_OF_SITE] is not None \
            else torch.zeros(difference.size(0), dtype=torch.long, device=difference.device)
        weight = batch[K.NODE_WEIGHT].double()
        count = int(graph.max()) + 1
        norm = torch.zeros(count, dtype=torch.float64, device=weight.device).index_add_(0, graph, weight)

        def mean(values):
            return torch.zeros(count, dtype=torch.float64, device=values.device).index_add_(
                0, graph, values * weight) / norm
        out = {"mae": mean(difference.abs().mean(-1)), "mae_modulus": mean(difference.pow(2).sum(-1).sqrt())}
        out["total"] = out["mae"]
        return out

    def statistics(self, max_runs: int = 64) -> dict:
        """Per channel (Re, Im): mean and std of ψ and std of its one-model-step change over up to
        `max_runs` runs; ψ has no derivative labels, so rate_std is step_std / Δt."""
        runs = self.runs if len(self.runs) <= max_runs else \
            [self.runs[i] for i in np.linspace(0, len(self.runs) - 1, max_runs).round().astype(int)]
        state, change = RunningMoments(), RunningMoments()
        for run in runs:
            psi = np.asarray(self.store.file["psi"][run], dtype=np.complex128)
            values = torch.from_numpy(np.stack([psi.real, psi.imag], -1))   # (T, points, 2)
            state.update(values)
            change.update(values[self.step:] - values[:-self.step])
        step_std = change.std
        return {K.PSI: {"mean": state.mean.tolist(), "std": state.std.tolist(), "step_std": step_std.tolist(),
                        "rate_std": (step_std / self.dt).tolist()}}

    # --- sampling ---------------------------------------------------------------------------
    def position_weights(self, run: int) -> np.ndarray:
        """Draw weight of each patch position of `run`: BARRIER_WEIGHT where the patch overlaps V ≠ 0."""
        occupied = self.potentials[self._row[run]] != 0
        covered = np.zeros(self.points, dtype=bool)
        for shift in range(self.graphs.patch):
            covered |= np.roll(occupied, -shift)
        return np.where(covered, BARRIER_WEIGHT, 1.0)

    def batch_sampler(self, global_batch: int, seed: int, rank: int = 0, world: int = 1,
                      first_batch: int = 0) -> "WaveBatchSampler":
        return WaveBatchSampler(self, global_batch, seed, rank, world, first_batch)

    def published_sampler(self, global_batch: int, seed: int, rank: int = 0, world: int = 1,
                          first_batch: int = 0) -> "PublishedStreamSampler":
        """The published emulator's window stream (`data.order: published`)."""
        return PublishedStreamSampler(self, global_batch, seed, rank, world, first_batch)


@functools.lru_cache(maxsize=8)
def _batched_fields(size: int, graphs: WaveGraphSpec, count: int) -> dict[str, Tensor]:
    """The graph fields of `count` training patches of `size` points batched, PyG's way (node numbers move on
    by a patch per graph), with `batch` and `ptr`: the same for every batch of that many patches."""
    graph_of = torch.arange(count).repeat_interleave  # graph_of(n): each graph's number, n times
    batched = {}
    for key, value in window_fields(size, graphs, False).items():
        if key in (K.WINDOW_EDGE_INDEX, K.SITE_EDGE_INDEX):
            batched[key] = value.repeat(1, count) + size * graph_of(value.size(1))
        else:
            batched[key] = value.repeat(count, *([1] * (value.dim() - 1)))
    return dict(batched, batch=graph_of(size), ptr=torch.arange(count + 1) * size)


class _Collated(torch.utils.data.Dataset):
    """A dataset whose items are whole batches: item `indices` is `WaveWindows.collate(indices)`."""

    def __init__(self, windows: WaveWindows):
        self.windows = windows

    def __getitem__(self, indices):
        return self.windows.collate(indices)


class WaveBatchSampler(torch.utils.data.Sampler):
    """Global batch b draws `global_batch` samples, with replacement, from the active runs of
    phase b div ACTIVE_STEPS (a seeded cycle through the runs, ACTIVE_RUNS at a time): a run
    uniformly, a start frame uniformly, a patch position by `WaveWindows.position_weights`.
    A function of (seed, b) only, so resuming and DDP (rank r takes the r-th slice) see the
    samples of an uninterrupted single-process run."""

    def __init__(self, dataset: WaveWindows, global_batch: int, seed: int, rank: int = 0, world: int = 1,
                 first_batch: int = 0):
        if global_batch % world:
            raise ConfigError(f"config key 'data.batch_size' ({global_batch}) must be divisible by the number "
                              f"of processes ({world})")
        self.dataset, self.global_batch, self.seed = dataset, global_batch, seed
        self.rank, self.world, self.first_batch = rank, world, first_batch
        self.local = global_batch // world
        runs = len(dataset.runs)
        self.active = min(ACTIVE_RUNS, runs)
        self.cumulative = {}
        self._active_phase = (-1, None, None)

    def _position_cdf(self, run_slot: int) -> np.ndarray:
        if run_slot not in self.cumulative:
            weights = self.dataset.position_weights(self.dataset.runs[run_slot])
            self.cumulative[run_slot] = np.cumsum(weights) / weights.sum()
        return self.cumulative[run_slot]

    def _phase(self, phase: int) -> tuple[np.ndarray, np.ndarray]:
        """The active runs of `phase` (positions in dataset.runs) and their patch-position CDFs, (active, points)."""
        if self._active_phase[0] != phase:
            runs = len(self.dataset.runs)
            cycle, slot = divmod(phase * self.active, runs)
            order = np.random.default_rng([self.seed, cycle]).permutation(runs)
            active = np.concatenate([order, np.random.default_rng([self.seed, cycle + 1]).permutation(runs)])[
                slot:slot + self.active]
            self._active_phase = (phase, active, np.stack([self._position_cdf(int(r)) for r in active]))
        return self._active_phase[1:]

    def batch(self, b: int) -> list[int]:
        active, cdf = self._phase(b // ACTIVE_STEPS)
        rng = np.random.default_rng([self.seed, 1_000_003, b])
        slot = rng.integers(0, len(active), self.global_batch)
        return self._windows(rng, active[slot], cdf[slot])

    def _windows(self, rng: np.random.Generator, chosen: np.ndarray, cdf: np.ndarray) -> list[int]:
        """This rank's indices of one window of each run slot in `chosen`, (cdf: their patch-position CDFs, one row
        each): a uniform start frame and a barrier-weighted patch position."""
        starts = rng.integers(0, len(self.dataset.starts), len(chosen))
        draws = rng.random(len(chosen))
        return self._indices(chosen, starts, (cdf <= draws[:, None]).sum(1))           # searchsorted, side="right"

    def _indices(self, runs: np.ndarray, starts: np.ndarray, positions: np.ndarray) -> list[int]:
        """This rank's slice of the sample indices of (run slot, start, patch position) triples."""
        points = self.dataset.points
        index = (runs * len(self.dataset.starts) + starts) * points + np.minimum(positions, points - 1)
        return index[self.rank * self.local:(self.rank + 1) * self.local].tolist()

    def __iter__(self) -> Iterator[list[int]]:
        b = self.first_batch
        while True:
            yield self.batch(b)
            b += 1

    def __len__(self) -> int:  # infinite stream; the batches of one active phase for tools that ask
        return ACTIVE_STEPS


class PublishedStreamSampler(WaveBatchSampler):
    """The order in which the published emulator met its windows (Yao et al.; the tfrecord writer of its
    data-preparation notebook and the tf.data reader of its `get_dataset`), as a function of (seed, b).

    The writer visits the runs in one shuffled order and deals each run's windows round robin into
    F = PUBLISHED_FILES files, so every file holds w = PUBLISHED_WINDOWS_PER_RUN / F windows of each run, in that
    order. The reader interleaves c = PUBLISHED_INTERLEAVE files record by record, so the stream passes once
    through all R runs per c files, c·w windows per run, and draws from a shuffle buffer of S = PUBLISHED_BUFFER
    windows: window k of the stream is input window

        u = k + S − 1 − J,   J ~ Geometric(1/S) − 1   (the age of a uniform pick from a full buffer),

    which lies in run order[⌊(u mod c·w·R) / (c·w)⌋]. The reader's c is not in the published code (tf.data chose
    it); the published run's loss log fixes it: its 1000-step means repeat every 3,762 steps, c·w·R/128 for c =
    4.000 and its R = 2,646 runs (`experiments/wave_emulator/published_stream.py`). The buffer's mean age S then
    spans S/(c·w) ≈ 27 runs of the order; the stream passes through all runs every c·w·R/128 steps (3,400 for the
    curriculum's 2,381 training runs). `WaveBatchSampler` instead draws each batch from 64 runs that change every
    250 steps, in a new order every cycle. Within a run the start frame and patch position are drawn as there (the
    published writer drew 90 % of the start frames of a run and 10 % of its positions without replacement, barrier
    patches 50× as likely).
    """

    def __init__(self, dataset: WaveWindows, global_batch: int, seed: int, rank: int = 0, world: int = 1,
                 first_batch: int = 0):
        super().__init__(dataset, global_batch, seed, rank, world, first_batch)
        self.order = np.random.default_rng([seed, 1314]).permutation(len(dataset.runs))
        self.per_run = PUBLISHED_INTERLEAVE * PUBLISHED_WINDOWS_PER_RUN / PUBLISHED_FILES   # c·w stream windows
        dataset.reserve_cache(PUBLISHED_CACHE_RUNS)

    def batch(self, b: int) -> list[int]:
        rng = np.random.default_rng([self.seed, 2_000_003, b])
        runs, size = len(self.order), self.global_batch
        age = rng.geometric(1.0 / PUBLISHED_BUFFER, size) - 1
        stream = np.maximum(b * size + np.arange(size) + PUBLISHED_BUFFER - 1 - age, 0)
        chosen = self.order[np.minimum((stream % (self.per_run * runs)) // self.per_run, runs - 1).astype(np.int64)]
        runs_drawn, slot = np.unique(chosen, return_inverse=True)
        return self._windows(rng, chosen, np.stack([self._position_cdf(int(r)) for r in runs_drawn])[slot])
