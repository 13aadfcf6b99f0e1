"""Density-matrix band graph of a chain (DESIGN §4).

Nodes are the entries ρ_ij of an L-site chain's density matrix with d(i, j) ≤ band_radius
(d the minimum-image distance on a periodic chain, |i − j| on an open one). An entry
(i', j') sends a message to (i, j) when |i' − i| ≤ kernel_radius and |j' − j| ≤
kernel_radius (minimum image on a periodic chain) and both lie in the band. The edge
carries ``offset = (di, dj) = (i' − i, j' − j)``, source minus target as for site graphs,
so an offset-conditioned layer on this graph is a 2D convolution over ρ restricted to the
band. Memory and time are O(L · band_radius · kernel_radius²).

Node order: row i major, then the diagonal s = j − i (minimum image) ascending; node n is
entry ``(pairs[0, n], pairs[1, n])``. In a PyG ``Data`` store it per node as ``pairs.T``
(M, 2): PyG concatenates per-node fields along dim 0 and, as the name holds no "index",
does not shift it when batching (the entries stay site numbers). On a periodic chain with band_radius ≥ L // 2 the
band is the whole matrix and every entry appears exactly once.

Like site graphs, the band graph has no self-loops and joins two entries at most once:
along each index the displacement is taken in the minimum-image range, so a
kernel_radius above (L − 1) // 2 does not create duplicate edges (and then no longer
matches a circular-padded convolution, which would read one entry twice).

Complex convention for ρ (see :func:`density_matrix_to_band`): node features are the real
channels ``(Re ρ_ij, Im ρ_ij)``; Hermiticity ρ_ji = conj(ρ_ij) means node (j, i) holds
``(Re ρ_ij, −Im ρ_ij)`` — :func:`hermitian_partner` gives the node permutation (i, j) → (j, i).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from graphqd.errors import GraphqdError
from graphqd.graphs.site_graph import _TensorFields, displacement_range, minimum_image


@dataclass(frozen=True, eq=False)
class BandGraph(_TensorFields):
    """Entries of a banded density matrix with offset-attributed edges between nearby entries."""

    pairs: Tensor       # (2, M) long | row i and column j of each band entry
    edge_index: Tensor  # (2, E) long | source entry, target entry
    offset: Tensor      # (E, 2) long | (di, dj) = source entry − target entry, minimum image
    lookup: Tensor      # (L, S) long | node of entry (i, i + s) at [i, s − diagonals[0]], −1 if none
    L: int
    band_radius: int
    kernel_radius: int
    periodic: bool
    diagonals: tuple    # (s_min, s_max) range of j − i kept in the band

    @property
    def num_nodes(self) -> int:
        return int(self.pairs.size(1))

    def node(self, i: Tensor, j: Tensor) -> Tensor:
        """Node number of entries (i, j) (broadcast), −1 where the entry is outside the band.
        On a periodic chain i and j are taken modulo L."""
        return _band_node(self.lookup, i, j, self.L, self.periodic, self.diagonals)


def band_graph(L: int, band_radius: int, periodic: bool = True, kernel_radius: int = 1) -> BandGraph:
    """Band graph of the density matrix of an ``L``-site chain, built by index arithmetic.

    Args:
        L: number of chain sites.
        band_radius: keep entries ρ_ij with d(i, j) ≤ band_radius (2·band_radius + 1
            diagonals when L is large enough).
        periodic: periodic (minimum-image) or open chain.
        kernel_radius: entries whose row and column each differ by at most this are joined.

    Shapes:
        pairs (2, M), edge_index (2, E), offset (E, 2); M = L·(2·band_radius + 1) on a
        periodic chain with 2·band_radius < L.
    """
    L, band_radius, kernel_radius = int(L), int(band_radius), int(kernel_radius)
    if L < 1 or band_radius < 0 or kernel_radius < 0:
        raise GraphqdError(f"band graph needs L ≥ 1, band_radius ≥ 0, kernel_radius ≥ 0; "
                           f"got {L}, {band_radius}, {kernel_radius}.")
    periodic = bool(periodic)
    s_min, s_max = displacement_range(L, periodic, band_radius)
    diagonal = torch.arange(s_min, s_max + 1)
    rows = torch.arange(L)[:, None]
    columns = rows + diagonal[None, :]  # (L, S)
    if periodic:
        inside = torch.ones_like(columns, dtype=torch.bool)
        columns = columns % L
    else:
        inside = (columns >= 0) & (columns < L)
    lookup = torch.full(columns.shape, -1, dtype=torch.long)
    lookup[inside] = torch.arange(int(inside.sum()))
    pairs = torch.stack([rows.expand_as(columns)[inside], columns[inside]])

    k_min, k_max = displacement_range(L, periodic, kernel_radius)
    shifts = torch.arange(k_min, k_max + 1)
    stencil = torch.cartesian_prod(shifts, shifts)
    stencil = stencil[(stencil != 0).any(1)]  # no self-loops
    source = _band_node(lookup, pairs[0][:, None] + stencil[None, :, 0],
                        pairs[1][:, None] + stencil[None, :, 1], L, periodic, (s_min, s_max))
    valid = source >= 0
    target = torch.arange(pairs.size(1))[:, None].expand_as(source)
    return BandGraph(
        pairs=pairs,
        edge_index=torch.stack([source[valid], target[valid]]),
        offset=stencil[None].expand(pairs.size(1), -1, -1)[valid],
        lookup=lookup, L=L, band_radius=band_radius, kernel_radius=kernel_radius,
        periodic=periodic, diagonals=(s_min, s_max),
    )


def _band_node(lookup: Tensor, i: Tensor, j: Tensor, L: int, periodic: bool, diagonals: tuple) -> Tensor:
    i, j = torch.broadcast_tensors(torch.as_tensor(i, device=lookup.device),
                                   torch.as_tensor(j, device=lookup.device))
    s_min, s_max = diagonals
    if periodic:
        i, s = i % L, minimum_image(j - i, L)
        inside = (s >= s_min) & (s <= s_max)
    else:
        s = j - i
        inside = (i >= 0) & (i < L) & (j >= 0) & (j < L) & (s >= s_min) & (s <= s_max)
    node = lookup[i.clamp(0, L - 1), (s - s_min).clamp(0, lookup.size(1) - 1)]
    return torch.where(inside, node, torch.full_like(node, -1))


def gather_band(matrix: Tensor, pairs: Tensor) -> Tensor:
    """Band entries of dense matrices: (..., L, L) → (..., M)."""
    return matrix[..., pairs[0], pairs[1]]


def scatter_band(values: Tensor, pairs: Tensor, L: int, fill: float = 0.0) -> Tensor:
    """Dense matrices from band entries: (..., M) → (..., L, L), ``fill`` outside the band."""
    dense = values.new_full((*values.shape[:-1], L, L), fill)
    dense[..., pairs[0], pairs[1]] = values
    return dense


def density_matrix_to_band(rho: Tensor, pairs: Tensor) -> Tensor:
    """Complex density matrices (..., L, L) → real band node features (..., M, 2) = (Re ρ_ij, Im ρ_ij)."""
    values = gather_band(rho, pairs)
    return torch.stack([values.real, values.imag], dim=-1) if values.is_complex() \
        else torch.stack([values, torch.zeros_like(values)], dim=-1)


def band_to_density_matrix(features: Tensor, pairs: Tensor, L: int) -> Tensor:
    """Real band node features (..., M, 2) → complex density matrices (..., L, L), zero outside the band."""
    return scatter_band(torch.complex(features[..., 0], features[..., 1]), pairs, L)


def hermitian_partner(graph: BandGraph) -> Tensor:
    """Permutation (M,) taking node (i, j) to node (j, i); the band is closed under transposition.

    Hermitian conjugation of band features: ``features[partner] * tensor([1, -1])``.
    """
    return graph.node(graph.pairs[1], graph.pairs[0])
