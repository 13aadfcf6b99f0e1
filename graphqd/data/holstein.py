"""Holstein trajectories read from a store as PyG samples (`graphqd.graphs.holstein`).

A sample is one chain at one start time with a window of H + 1 frames spaced by
k = `step` stored snapshots (keys and shapes in :mod:`graphqd.keys`): the site and band
graphs of the model, Q, P and the band of ρ per frame, and the exact derivatives from
`physics.holstein.rhs`.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from graphqd import keys as K
from graphqd.data.dataset import WindowDataset
from graphqd.data.density_band import BAND, RADIUS_ATTR, read_density
from graphqd.data.moments import RunningMoments
from graphqd.errors import StoreError
from graphqd.graphs.holstein import (HolsteinGraphSpec, HolsteinSample, band_features, dense_to_band, graph_fields,
                                     site_features)
from graphqd.physics import holstein


def params_of_store(handle) -> holstein.HolsteinParams:
    """HolsteinParams of the dynamics stored in a Holstein file (g = g_final)."""
    a = handle.attrs
    shape = tuple(int(v) for v in np.atleast_1d(a["lattice_shape"]))
    return holstein.HolsteinParams(L=shape[0] if len(shape) == 1 else shape, hopping=float(a["hopping"]),
                                   omega=float(a["omega"]), stiffness=float(a["stiffness"]), g=float(a["g_final"]),
                                   boundary=str(a["boundary"]))


def holstein_error(prediction: dict, target: dict, batch: Data) -> dict[str, Tensor]:
    """Per-graph RMSEs of the paper: √(Σ_i ΔQ_i²/L), √(Σ_i ΔP_i²/L), √(Σ_ij |Δρ_ij|²/L²) over the
    band entries (entries outside the band are not predicted), and their sum "total"."""
    graph_of_site = batch[K.GRAPH_OF_SITE] if K.GRAPH_OF_SITE in batch and batch[K.GRAPH_OF_SITE] is not None \
        else torch.zeros(prediction[K.Q].size(0), dtype=torch.long, device=prediction[K.Q].device)
    count = int(graph_of_site.max()) + 1 if graph_of_site.numel() else 0
    sites = torch.zeros(count, dtype=torch.float64, device=graph_of_site.device).index_add_(
        0, graph_of_site, torch.ones_like(graph_of_site, dtype=torch.float64))
    graph_of_band = graph_of_site[batch[K.BAND_SITES][:, 0]]

    def summed(key, owner):
        diff = (prediction[key].double() - target[key].double()) ** 2
        diff = diff.reshape(diff.size(0), -1).sum(1)
        return torch.zeros(count, dtype=torch.float64, device=diff.device).index_add_(0, owner, diff)

    out = {"Q": (summed(K.Q, graph_of_site) / sites).sqrt(), "P": (summed(K.P, graph_of_site) / sites).sqrt(),
           "rho": (summed(K.RHO, graph_of_band) / sites ** 2).sqrt()}
    out["total"] = out["Q"] + out["P"] + out["rho"]
    return out


class HolsteinWindows(WindowDataset):
    """Windows of Holstein trajectories from a store, read lazily (one h5py handle per process).

    Args:
        path: Holstein store (complete).
        runs: trajectory numbers of this split.
        step: k, stored snapshots per model step (the model learns Δt = k·dt).
        horizon: H, model steps per window (targets of an H-step rollout).
        graphs: which graphs the model reads.
        start_stride: use every start_stride-th start snapshot.
        rates: attach the exact derivatives `Q_rate`, `P_rate`, `rho_rate`.
    """

    state_keys = K.HOLSTEIN_STATE
    system = "holstein"

    def __init__(self, path: str, runs, step: int, horizon: int, graphs: HolsteinGraphSpec = HolsteinGraphSpec(),
                 start_stride: int = 1, rates: bool = True):
        self.graphs = graphs
        super().__init__(path, runs, step, horizon, start_stride, rates)
        handle = self.store.file
        self.params = params_of_store(handle)
        if len(self.params.shape) != 1:
            raise StoreError(f"'{path}' holds a {self.params.shape} square lattice; Holstein samples support chains")
        self.L, self.periodic = self.params.n_sites, self.params.boundary == "periodic"
        stored = int(handle.attrs[RADIUS_ATTR]) if BAND in handle else self.L
        self.narrow_band = stored < graphs.band_radius and 2 * stored + 1 < self.L
        self._narrow = (f"'{path}' keeps rho on the band of radius {stored}, narrower than the model's band_radius "
                        f"{graphs.band_radius}: the entries in between would read as 0; use a store with rho dense "
                        f"or on a band of radius >= {graphs.band_radius}")
        n_runs = int(handle["Q"].shape[0])
        bad = [r for r in self.runs if not 0 <= r < n_runs]
        if bad:
            raise StoreError(f"'{path}' has {n_runs} trajectories; run {bad[0]} does not exist")

    def read(self, run: int, start: int, horizon: int, step: int | None = None) -> holstein.State:
        """Stored frames start, start + k, …, start + horizon·k of one run, float64/complex128."""
        if self.narrow_band:
            raise StoreError(self._narrow)
        k = self.step if step is None else step
        f = self.store.file
        frames = slice(start, start + horizon * k + 1, k)
        Q = torch.from_numpy(np.asarray(f["Q"][run, frames], dtype=np.float64))
        P = torch.from_numpy(np.asarray(f["P"][run, frames], dtype=np.float64))
        rho = torch.from_numpy(np.asarray(read_density(f, run, frames), dtype=np.complex128))
        return holstein.State(Q, P, rho)

    def window(self, run: int, start: int, horizon: int, rates: bool = True) -> HolsteinSample:
        state = self.read(run, start, horizon)
        return self.sample(state, rates, run=run, start=start)

    def sample(self, state: holstein.State, rates: bool = True, run: int = -1, start: int = -1) -> HolsteinSample:
        """A sample from frames (H+1, L) / (H+1, L, L) in float64; stored as float32."""
        fields = {k: v for k, v in graph_fields(self.L, self.periodic, self.graphs).items() if k != "pairs"}
        band = dense_to_band(state.rho, self.L, self.periodic, self.graphs)  # (H+1, M, 2)
        data = {K.Q: state.Q.T, K.P: state.P.T, K.RHO: band.transpose(0, 1)}
        if rates:
            dQ, dP, drho = holstein.rhs(state, self.params)
            data.update({K.Q_RATE: dQ.T, K.P_RATE: dP.T,
                         K.RHO_RATE: dense_to_band(drho, self.L, self.periodic, self.graphs).transpose(0, 1)})
        data = {k: v.float().contiguous() for k, v in data.items()}
        first = {K.Q: data[K.Q][:, 0], K.P: data[K.P][:, 0], K.RHO: data[K.RHO][:, 0]}
        sample = HolsteinSample(num_nodes=self.L, **fields, **data,
                                run=torch.tensor([run]), start=torch.tensor([start]))
        sample[K.SITE_FEATURES] = site_features(first, sample)
        sample[K.BAND_FEATURES] = band_features(first, sample)
        return sample

    def error(self, prediction: dict, target: dict, batch: Data) -> dict[str, Tensor]:
        return holstein_error(prediction, target, batch)

    @property
    def constants(self) -> dict:
        """The lattice constants a model may integrate with exactly (Normalization.constants)."""
        return {"g": self.params.g, "stiffness": self.params.stiffness, "mass": self.params.mass}

    def statistics(self, max_runs: int = 64, max_rate_frames: int = 256) -> dict:
        """Mean/std of Q, P, band ρ; std of their k-step increments (all frames) and of the exact
        derivatives (on up to `max_rate_frames` frames per run), over up to `max_runs` runs."""
        runs = self.runs if len(self.runs) <= max_runs else \
            [self.runs[i] for i in np.linspace(0, len(self.runs) - 1, max_runs).round().astype(int)]
        moments = {(key, field): RunningMoments() for key in self.state_keys for field in ("state", "step", "rate")}
        frames = self.num_frames
        for run in runs:
            state = self.read(run, 0, frames - 1, step=1)
            band = dense_to_band(state.rho, self.L, self.periodic, self.graphs)
            series = {K.Q: state.Q[..., None], K.P: state.P[..., None], K.RHO: band}
            every = max(1, frames // max_rate_frames)
            sub = holstein.State(*(s[::every] for s in state))
            dQ, dP, drho = holstein.rhs(sub, self.params)
            rates = {K.Q: dQ[..., None], K.P: dP[..., None],
                     K.RHO: dense_to_band(drho, self.L, self.periodic, self.graphs)}
            for key, values in series.items():
                moments[key, "state"].update(values)
                moments[key, "step"].update(values[self.step:] - values[:-self.step])
                moments[key, "rate"].update(rates[key])
        return {key: {"mean": moments[key, "state"].mean.tolist(), "std": moments[key, "state"].std.tolist(),
                      "step_std": moments[key, "step"].std.tolist(), "rate_std": moments[key, "rate"].std.tolist()}
                for key in self.state_keys}
