"""Force-field samples read from a `graphqd simulate negf` store: one lattice snapshot each.

A sample is the whole Ly × Lx slab of one stored record: the displacements Q (input), the
exact steady-state density n and force (labels), and the lead chemical potentials of its run
(per-run datasets `mu_left`, `mu_right`; a store without them has one bias, its attributes').
Force fields learn n: the force F = g(n − ½) − K Q − κ Σ_nn Q follows exactly
(`graphqd.physics.negf`), so an error δn is a force error g δn.

It plugs into the generic trainer as a one-step "rollout" with state key n: frame 0 is
half filling, n = ½ (the model reads Q and the leads, never the input state), and frame 1 is
the label. The runs of a split are read into memory once (a 32-run, 20 × 14 store is
about 10 MB).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from graphqd import keys as K
from graphqd.data.dataset import WindowDataset
from graphqd.errors import ConfigError, StoreError
from graphqd.graphs.negf import ForceFieldSpec, lead_distances

VALIDATION_SNAPSHOTS = 8   # records per validation run, evenly spaced in time
LATTICE_ATTRS = ("Lx", "Ly", "periodic_y", "hopping", "g", "stiffness", "kappa", "gamma_lead", "gate", "mu",
                 "bias", "lead_temperature", "dt", "damping", "temperature", "record_every")


def run_chemical_potentials(handle, runs: list[int]) -> np.ndarray:
    """(μ_left, μ_right) of each run of an open negf store: (len(runs), 2)."""
    if "mu_left" in handle:
        return np.stack([handle["mu_left"][()][runs], handle["mu_right"][()][runs]], 1).astype(np.float64)
    attrs = handle.attrs
    pair = [float(attrs["mu"]) + 0.5 * float(attrs["bias"]), float(attrs["mu"]) - 0.5 * float(attrs["bias"])]
    return np.tile(pair, (len(runs), 1))


def run_biases(handle, runs: list[int]) -> np.ndarray:
    """The bias V of each run of an open negf store: (len(runs),)."""
    if "bias" in handle:
        return np.asarray(handle["bias"][()][runs], dtype=np.float64)
    return np.full(len(runs), float(handle.attrs["bias"]))


class ForceSamples(WindowDataset):
    """Snapshots (run, record) of negf runs, each a graph of the Ly × Lx sites.

    Args:
        path: negf store (complete).
        runs: run numbers of this split.
        step: stored records between used snapshots (1: every record).
        horizon: must be 1 (a force field learns one snapshot at a time).
        graphs: `ForceFieldSpec` of the model.
        start_stride: use every start_stride-th record.
        rates: unused.
    """

    state_keys = (K.DENSITY,)
    system = "negf"

    def __init__(self, path: str, runs, step: int, horizon: int, graphs: ForceFieldSpec = ForceFieldSpec(),
                 start_stride: int = 1, rates: bool = False):
        if horizon != 1:
            raise ConfigError(f"a force field learns one snapshot at a time: train.rollout_lengths must be [1], "
                              f"got a horizon of {horizon}")
        self.graphs = graphs
        super().__init__(path, runs, 1, 1, 1, rates=False)
        handle = self.store.file
        n_runs = int(handle["Q"].shape[0])
        bad = [r for r in self.runs if not 0 <= r < n_runs]
        if bad:
            raise StoreError(f"'{path}' has {n_runs} runs; run {bad[0]} does not exist")
        self.shape = (int(handle.attrs["Ly"]), int(handle.attrs["Lx"]))
        if 2 * graphs.lead_columns >= self.shape[1]:
            raise ConfigError(f"model.lead_columns ({graphs.lead_columns}) leaves no interior column of the "
                              f"{self.shape[1]} of '{path}'")
        self.starts = list(range(0, self.num_frames, int(step) * int(start_stride)))
        rows = sorted(set(self.runs))
        self._row = {run: i for i, run in enumerate(rows)}
        self.Q = np.asarray(handle["Q"][rows], dtype=np.float32)          # (R, T, Ly, Lx)
        self.n = np.asarray(handle["n"][rows], dtype=np.float32)
        self.force = np.asarray(handle["force"][rows], dtype=np.float32)
        self.mu = run_chemical_potentials(handle, rows).astype(np.float32)  # (R, 2)
        x = lead_distances(self.shape)[:, 0]
        self.node_weight = ((x >= graphs.lead_columns) & (x <= self.shape[1] - 1 - graphs.lead_columns)).float()

    @property
    def num_frames(self) -> int:
        return int(self.store.file["t"].shape[0])

    @property
    def dt(self) -> float:
        """Time between stored records (a force field has no model step; kept for the checkpoint)."""
        return self.stored_dt

    def window(self, run: int, start: int, horizon: int = 1, rates: bool = False) -> Data:
        """The snapshot at record `start` of run `run`."""
        row = self._row[run]
        sample = Data(num_nodes=self.shape[0] * self.shape[1],
                      **{K.Q: torch.from_numpy(self.Q[row, start].reshape(-1)),
                         K.DENSITY: torch.from_numpy(self.n[row, start].reshape(-1)),
                         K.FORCE: torch.from_numpy(self.force[row, start].reshape(-1)),
                         K.MU_LEFT: torch.tensor([self.mu[row, 0]]), K.MU_RIGHT: torch.tensor([self.mu[row, 1]]),
                         K.LATTICE: torch.tensor([self.shape]), K.RUN: torch.tensor([run]),
                         K.START: torch.tensor([start])})
        if self.graphs.lead_columns:
            sample[K.NODE_WEIGHT] = self.node_weight
        return sample

    def validation_samples(self, runs: list[int], steps: int) -> list[Data]:
        """VALIDATION_SNAPSHOTS snapshots of each run, evenly spaced from t = 0 to the end."""
        records = np.linspace(0, self.num_frames - 1, VALIDATION_SNAPSHOTS).round().astype(int)
        return [self.window(r, int(k)) for r in runs for k in sorted(set(records))]

    def state_at(self, batch: Data, frame: int) -> dict[str, Tensor]:
        """Frame 0: half filling, n = ½ (not read by the model); frame ≥ 1: the exact density."""
        if frame == 0:
            return {K.DENSITY: torch.full_like(batch[K.DENSITY], 0.5)}
        return {K.DENSITY: batch[K.DENSITY]}

    def store_facts(self) -> dict:
        """The lattice, the model and the leads of the data, to rebuild the force F from n."""
        attrs = self.store.file.attrs
        return {name: attrs[name].item() if hasattr(attrs[name], "item") else str(attrs[name])
                for name in LATTICE_ATTRS if name in attrs}

    # --- errors and statistics ----------------------------------------------------------
    def error(self, prediction: dict, target: dict, batch: Data) -> dict[str, Tensor]:
        """Per-graph RMSE of n over the weighted sites ("total"), and of the force, g · δn."""
        difference = (prediction[K.DENSITY].double() - target[K.DENSITY].double()).pow(2)
        weight = batch[K.NODE_WEIGHT].double() if K.NODE_WEIGHT in batch else torch.ones_like(difference)
        graph = getattr(batch, K.GRAPH_OF_SITE, None)
        graph = torch.zeros_like(difference).long() if graph is None else graph
        count = int(batch.num_graphs)
        summed = torch.zeros(count, dtype=torch.float64, device=weight.device).index_add_(0, graph, difference * weight)
        norm = torch.zeros(count, dtype=torch.float64, device=weight.device).index_add_(0, graph, weight)
        rmse = (summed / norm).sqrt()
        return {"rmse_n": rmse, "rmse_force": float(self.store.file.attrs["g"]) * rmse, "total": rmse}

    def statistics(self, max_runs: int = 64) -> dict:
        """Mean and std of Q and of n over the split (n's std is its loss scale)."""
        rows = [self._row[r] for r in self.runs][:max_runs]
        Q, n = self.Q[rows].astype(np.float64), self.n[rows].astype(np.float64)
        q_stats = {"mean": [Q.mean()], "std": [Q.std()], "step_std": [Q.std()], "rate_std": [Q.std()]}
        n_stats = {"mean": [n.mean()], "std": [n.std()], "step_std": [n.std()], "rate_std": [n.std()]}
        return {K.Q: q_stats, K.DENSITY: n_stats}
