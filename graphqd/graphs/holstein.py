"""The graphs a Holstein model reads: a site graph for (Q, P) and a band graph for ρ.

A Holstein sample is one PyG graph with two node sets (keys and shapes in
:mod:`graphqd.keys`): lattice sites carrying Q, P (and n_i = Re ρ_ii in the features `x`),
and the density-matrix entries ρ_ij with d(i, j) ≤ band_radius as (Re, Im) channels (and
Q_i, Q_j in `band_x`). This module builds the graphs of a chain of any length, moves ρ
between its dense (L × L) and band forms, and makes the features a model reads from a
state; the datasets (`graphqd.data.holstein`) fill samples with stored frames.
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

from graphqd import keys as K
from graphqd.graphs.band_graph import band_graph, hermitian_partner
from graphqd.graphs.site_graph import site_graph

BAND_COUNTED = (K.BAND_EDGE_INDEX, K.BAND_PARTNER, K.BAND_DIAGONAL)


@dataclass(frozen=True)
class HolsteinGraphSpec:
    """Which graphs a model reads: site graph within `site_cutoff`, band of `band_radius`
    with band edges up to `kernel_radius` in each index."""

    site_cutoff: int = 1
    band_radius: int = 4
    kernel_radius: int = 1

    def as_dict(self) -> dict:
        return asdict(self)


class HolsteinSample(Data):
    """A PyG graph with two node sets: sites (PyG's nodes) and density-matrix band entries."""

    def __inc__(self, key, value, *args, **kwargs):
        if key in BAND_COUNTED:
            return self[K.BAND_SITES].size(0)
        if key == K.BAND_SITES:
            return self.num_nodes
        return super().__inc__(key, value, *args, **kwargs)

    @property
    def num_band_nodes(self) -> int:
        return int(self[K.BAND_SITES].size(0))


@functools.lru_cache(maxsize=32)
def _graph_fields(L: int, periodic: bool, spec: HolsteinGraphSpec) -> dict:
    sites = site_graph((L,), spec.site_cutoff, periodic)
    band = band_graph(L, spec.band_radius, periodic, spec.kernel_radius)
    diagonal = band.node(torch.arange(L), torch.arange(L))
    return {K.SITE_EDGE_INDEX: sites.edge_index, K.SITE_OFFSET: sites.offset,
            K.BAND_EDGE_INDEX: band.edge_index, K.BAND_OFFSET: band.offset, K.BAND_SITES: band.pairs.T.contiguous(),
            K.BAND_PARTNER: hermitian_partner(band), K.BAND_DIAGONAL: diagonal, "pairs": band.pairs}


def graph_fields(L: int, periodic: bool, spec: HolsteinGraphSpec) -> dict:
    """Graph tensors of one chain (cached; do not modify in place). `pairs` (2, M) is for gathers."""
    return _graph_fields(int(L), bool(periodic), spec)


def graph_batch(L: int, periodic: bool, spec: HolsteinGraphSpec, count: int,
                device: torch.device | str = "cpu") -> Batch:
    """A batch of `count` chains of length L carrying graphs only (the state is passed beside it)."""
    fields = {k: v for k, v in graph_fields(L, periodic, spec).items() if k != "pairs"}
    sample = HolsteinSample(num_nodes=L, **fields)
    return Batch.from_data_list([sample] * count).to(device)


def dense_to_band(rho: Tensor, L: int, periodic: bool, spec: HolsteinGraphSpec) -> Tensor:
    """Density matrices (..., L, L) → band channels (..., M, 2) = (Re, Im)."""
    pairs = graph_fields(L, periodic, spec)["pairs"].to(rho.device)
    values = rho[..., pairs[0], pairs[1]]
    return torch.stack([values.real, values.imag], -1)


def band_to_dense(band: Tensor, L: int, periodic: bool, spec: HolsteinGraphSpec) -> Tensor:
    """Band channels (..., M, 2) → complex density matrices (..., L, L), zero outside the band."""
    pairs = graph_fields(L, periodic, spec)["pairs"].to(band.device)
    dense = torch.zeros(*band.shape[:-2], L, L, dtype=torch.complex128 if band.dtype == torch.float64
                        else torch.complex64, device=band.device)
    dense[..., pairs[0], pairs[1]] = torch.complex(band[..., 0], band[..., 1])
    return dense


def band_to_rows(band: Tensor, L: int, periodic: bool, spec: HolsteinGraphSpec) -> Tensor:
    """Band channels (..., M, 2) → complex rows (..., L, 2r + 1) with rows[..., i, r + s] = ρ_{i, i+s}
    (the `rho_band` layout of `graphqd.data.density_band`; slots beyond an open chain stay 0)."""
    radius = spec.band_radius
    pairs = graph_fields(L, periodic, spec)["pairs"].to(band.device)
    offset = pairs[1] - pairs[0]
    if periodic:
        offset = (offset + L // 2) % L - L // 2
    rows = torch.zeros(*band.shape[:-2], L, 2 * radius + 1, dtype=torch.complex128 if band.dtype == torch.float64
                       else torch.complex64, device=band.device)
    rows[..., pairs[0], radius + offset] = torch.complex(band[..., 0], band[..., 1])
    return rows


def rows_to_band(rows: Tensor, L: int, periodic: bool, spec: HolsteinGraphSpec) -> Tensor:
    """Complex rows (..., L, 2r + 1) → band channels (..., M, 2); the inverse of `band_to_rows`."""
    radius = spec.band_radius
    pairs = graph_fields(L, periodic, spec)["pairs"].to(rows.device)
    offset = pairs[1] - pairs[0]
    if periodic:
        offset = (offset + L // 2) % L - L // 2
    values = rows[..., pairs[0], radius + offset]
    return torch.stack([values.real, values.imag], -1)


def site_features(state: dict, batch: Data) -> Tensor:
    """Site features (num_sites, 3) = (Q_i, P_i, n_i) of a state {Q, P, rho}."""
    occupation = state[K.RHO][batch[K.BAND_DIAGONAL], 0]
    return torch.stack([state[K.Q], state[K.P], occupation], -1)


def band_features(state: dict, batch: Data) -> Tensor:
    """Band features (num_band, 4) = (Re ρ_ij, Im ρ_ij, Q_i, Q_j) of a state {Q, P, rho}."""
    sites = batch[K.BAND_SITES]
    return torch.cat([state[K.RHO], state[K.Q][sites[:, 0], None], state[K.Q][sites[:, 1], None]], -1)
