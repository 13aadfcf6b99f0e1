"""Window graph of the windowed wave emulator (DESIGN §3.2, §4).

One window is centred on each grid point c and predicts the next frame at its ``width``
members m = c + k, k ∈ [−(width−1)/2, (width−1)/2]. The window graph has an edge
centre → member for every such pair (k = 0 included: a centre is its own member), so the
paper's overlapping-window average

    ψ̂_m = Σ_c w(m − c) · pred_c[m − c] / Σ_c w(m − c),   w(k) = exp(−k² / 2δ²),

is one weighted message-passing step (:func:`window_average`).

Unlike site and band graphs, ``offset`` here is ``k = member − centre = target − source``:
it is the member's place in the centre's window (slot ``k + (width−1)/2`` of its prediction).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from graphqd.errors import GraphqdError
from graphqd.graphs.site_graph import _TensorFields


@dataclass(frozen=True, eq=False)
class WindowGraph(_TensorFields):
    """Window centres → window members on a 1D grid."""

    edge_index: Tensor  # (2, E) long | source = window centre c, target = member m
    offset: Tensor      # (E, 1) long | k = m − c (minimum image), the member's place in the window
    n_points: int
    width: int
    periodic: bool

    @property
    def num_nodes(self) -> int:
        return self.n_points

    @property
    def half_width(self) -> int:
        return (self.width - 1) // 2


def window_graph(n_points: int, width: int, periodic: bool = True) -> WindowGraph:
    """Centre → member edges of overlapping windows of odd ``width`` on ``n_points`` grid points.

    On an open grid, windows near the ends lose the members that fall outside. On a
    periodic grid the width may not exceed ``n_points`` (a window would hold a point twice).

    Shapes:
        edge_index (2, E), offset (E, 1); E = n_points · width when periodic.
    """
    n_points, width = int(n_points), int(width)
    if n_points < 1 or width < 1 or width % 2 == 0:
        raise GraphqdError(f"window graph needs n_points ≥ 1 and an odd width ≥ 1, got {n_points}, {width}.")
    if periodic and width > n_points:
        raise GraphqdError(f"window width {width} exceeds the {n_points} points of a periodic grid.")
    half = (width - 1) // 2
    k = torch.arange(-half, half + 1)
    centre = torch.arange(n_points)[:, None].expand(-1, width)
    member = centre + k[None, :]
    if periodic:
        valid = torch.ones_like(member, dtype=torch.bool)
        member = member % n_points
    else:
        valid = (member >= 0) & (member < n_points)
    offset = k[None, :].expand(n_points, -1)[valid]
    return WindowGraph(edge_index=torch.stack([centre[valid], member[valid]]), offset=offset[:, None],
                       n_points=n_points, width=width, periodic=bool(periodic))


def window_weights(offset: Tensor, delta: float, dtype: torch.dtype = torch.float32) -> Tensor:
    """Gaussian weights exp(−k² / 2δ²) of window slots k: (E, 1) or (E,) → (E,)."""
    k = offset.reshape(-1).to(dtype)
    return torch.exp(-k * k / (2.0 * delta * delta))


def window_average(predictions: Tensor, graph: WindowGraph, delta: float = 2.8) -> Tensor:
    """Gaussian-weighted average of overlapping window predictions at each grid point.

    Args:
        predictions: window c's prediction for slot k at ``predictions[c, k + half_width]``.
        graph: window graph of the grid.
        delta: width δ of the weights, in grid points (2.8 in the paper).

    Shapes:
        predictions (n_points, width, *F) → (n_points, *F).
    """
    if predictions.shape[:2] != (graph.n_points, graph.width):
        raise GraphqdError(f"window predictions must have shape ({graph.n_points}, {graph.width}, ...), "
                           f"got {tuple(predictions.shape)}.")
    centre, member = graph.edge_index
    slot = graph.offset.reshape(-1) + graph.half_width
    weight = window_weights(graph.offset, delta, dtype=predictions.real.dtype)
    message = predictions[centre, slot] * weight.view(-1, *([1] * (predictions.dim() - 2)))
    total = predictions.new_zeros((graph.n_points, *predictions.shape[2:])).index_add_(0, member, message)
    norm = weight.new_zeros(graph.n_points).index_add_(0, member, weight)
    return total / norm.view(-1, *([1] * (predictions.dim() - 2)))
