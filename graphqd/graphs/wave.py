"""The graphs a wave emulator reads: windows over grid points, and their assembly.

A wave sample is a PyG graph whose nodes are grid points (keys in :mod:`graphqd.keys`): a
patch of `patch` consecutive points for training, or the whole periodic grid for rollouts.
Every point whose whole window of `width` points lies in the sample is a window centre; the
window edges run centre → member, centre-major with slots ascending, so the members of all
windows gather into one (centres, width, ...) tensor (:func:`gather_windows`). The next
frame at each point is the Gaussian-weighted mean of the predictions of the windows that
hold it (Yao et al., Front. Mater. 9:1060744 (2023), Sec. 2.3),

    ψ_m = Σ_c w(m − c) f_c[m − c] / Σ_c w(m − c),   w(k) = exp(−k²/2δ²),

one weighted message-passing step along the window edges (:func:`assemble_windows`; on a
whole grid it equals `graphqd.graphs.window_graph.window_average`). On a training patch of
one window, each member has one prediction: the average is that prediction.
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from graphqd import keys as K
from graphqd.errors import GraphqdError
from graphqd.graphs.site_graph import site_graph
from graphqd.graphs.window_graph import window_graph, window_weights


@dataclass(frozen=True)
class WaveGraphSpec:
    """What a wave model reads: `frames` past frames, windows of `width` points, the grid graph
    within `cutoff` points (0: none), training patches of `patch` points (0: whole periodic
    grids), assembly width `delta` (points). The `margin` points at each end of a training patch
    do not count in the loss: 0 for the paper's window loss (every member of the one window),
    the reach of the model where its prediction needs points beyond the patch."""

    frames: int = 4
    width: int = 23
    patch: int = 23
    delta: float = 2.8
    margin: int = 0
    cutoff: int = 0

    def __post_init__(self):
        if self.width % 2 == 0 or self.width < 1 or 0 < self.patch < self.width or self.patch < 0 or self.frames < 1:
            raise GraphqdError(f"wave windows need an odd width <= patch and frames >= 1, got {self}")
        if self.patch and not 0 <= 2 * self.margin < self.patch:
            raise GraphqdError(f"a patch of {self.patch} points leaves nothing to score with a margin of {self.margin}")

    def as_dict(self) -> dict:
        return asdict(self)


def _window_edges(points: int, width: int, periodic: bool) -> tuple[Tensor, Tensor]:
    if periodic:
        graph = window_graph(points, width, True)
        return graph.edge_index, graph.offset
    half = (width - 1) // 2
    centres = torch.arange(half, points - half)
    k = torch.arange(-half, half + 1)
    centre = centres[:, None].expand(-1, width)
    edge_index = torch.stack([centre.reshape(-1), (centre + k).reshape(-1)])
    return edge_index, k.repeat(len(centres))[:, None]


@functools.lru_cache(maxsize=32)
def window_fields(points: int, spec: WaveGraphSpec, periodic: bool) -> dict:
    """Window edges of a whole periodic grid (every point a centre) or of an open patch (the
    points whose window fits), the grid graph within `spec.cutoff`, and the loss weight of each
    point (cached; do not modify)."""
    if not periodic and points < spec.width:
        raise GraphqdError(f"a patch of {points} points cannot hold a window of {spec.width}")
    edge_index, offset = _window_edges(int(points), spec.width, bool(periodic))
    weight = torch.ones(points)
    if not periodic and spec.margin:
        weight[:spec.margin], weight[points - spec.margin:] = 0.0, 0.0
    fields = {K.WINDOW_EDGE_INDEX: edge_index, K.WINDOW_OFFSET: offset, K.NODE_WEIGHT: weight}
    if spec.cutoff:
        grid = site_graph((int(points),), spec.cutoff, bool(periodic))
        fields.update({K.SITE_EDGE_INDEX: grid.edge_index, K.SITE_OFFSET: grid.offset})
    return fields


def gather_windows(values: Tensor, edge_index: Tensor, width: int) -> Tensor:
    """The members of every window, in slot order: (nodes, ...) → (centres, width, ...).

    Shapes: values (N, *F), edge_index (2, centres·width) → (centres, width, *F)
    """
    if edge_index.size(1) % width:
        raise GraphqdError(f"window edges ({edge_index.size(1)}) are not whole windows of {width} points")
    return values[edge_index[1]].reshape(-1, width, *values.shape[1:])


def window_centres(edge_index: Tensor, width: int) -> Tensor:
    """Node of each window centre, in window order. Shapes: (2, centres·width) → (centres,)"""
    return edge_index[0, ::width]


def assemble_windows(predictions: Tensor, edge_index: Tensor, offset: Tensor, num_nodes: int,
                     delta: float) -> Tensor:
    """Gaussian-weighted mean of the window predictions at each point (the module equation).

    Points that no window holds get 0 (they carry no weight in the loss).

    Shapes: predictions (centres, width, *F), edge_index (2, E), offset (E, 1) → (num_nodes, *F)
    """
    features = predictions.shape[2:]
    weight = window_weights(offset, delta, dtype=predictions.dtype).view(-1, *([1] * len(features)))
    member = edge_index[1]
    total = predictions.new_zeros((num_nodes, *features)).index_add_(
        0, member, predictions.reshape(-1, *features) * weight)
    norm = predictions.new_zeros((num_nodes, *([1] * len(features)))).index_add_(0, member, weight)
    return total / norm.clamp_min(torch.finfo(predictions.dtype).tiny)
