"""Site graphs of chains and square lattices with locality-truncated edges (DESIGN §4).

Nodes are lattice sites numbered row-major over ``shape``: site ``(y, x)`` of an
``(Ly, Lx)`` lattice is node ``y * Lx + x``; site ``i`` of a chain ``(L,)`` is node ``i``.
There is an edge j → i for every pair of sites with 0 < d(i, j) ≤ cutoff, d the
Euclidean distance with the minimum image along periodic axes.

Conventions shared by the site and band graphs of :mod:`graphqd.graphs`:

- messages flow from ``edge_index[0]`` (source j) to ``edge_index[1]`` (target i);
- ``offset = r_source − r_target`` (integer, minimum image), one column per axis of
  ``shape`` in the same order — ``(dy, dx)`` for an ``(Ly, Lx)`` lattice. With this sign
  a convolution tap that reads ``x[i + k]`` is offset ``k`` (see ``OffsetConv``);
- no self-loops; edges are sorted by target, then by offset (row-major);
- along a periodic axis of length n a displacement lives in the minimum-image range
  ``−⌊(n−1)/2⌋ … ⌊n/2⌋``, so two sites are joined at most once even when the cutoff
  exceeds n/2 (no duplicate edges, no self-loops through the boundary). For even n the
  images at ±n/2 are equally near; that one edge carries ``+n/2``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Sequence, Union

import torch
from torch import Tensor

from graphqd.errors import GraphqdError

Periodic = Union[bool, Sequence[bool]]

_CUTOFF_TOLERANCE = 1e-9  # integer offsets: cutoff = 6.0 must include d² = 36 exactly


class _TensorFields:
    """Mixin for frozen graph dataclasses: move every tensor field to a device."""

    def to(self, device: torch.device | str):
        changes = {f.name: getattr(self, f.name).to(device)
                   for f in dataclasses.fields(self) if isinstance(getattr(self, f.name), Tensor)}
        return dataclasses.replace(self, **changes)

    @property
    def device(self) -> torch.device:
        return self.edge_index.device

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.size(1))


@dataclass(frozen=True, eq=False)
class SiteGraph(_TensorFields):
    """Lattice sites with an edge j → i for every 0 < d(i, j) ≤ cutoff (minimum image)."""

    edge_index: Tensor  # (2, E) long | source site j, target site i
    offset: Tensor      # (E, dim) long | r_j − r_i, minimum image, axis order of `shape`
    distance: Tensor    # (E,) float | |offset|
    shape: tuple        # (L,) or (Ly, Lx)
    cutoff: float
    periodic: tuple     # one bool per axis

    @property
    def num_nodes(self) -> int:
        return math.prod(self.shape)


def normalize_periodic(periodic: Periodic, dim: int) -> tuple:
    """``periodic`` as one bool per axis."""
    if isinstance(periodic, (bool, int)):
        return (bool(periodic),) * dim
    periodic = tuple(bool(p) for p in periodic)
    if len(periodic) != dim:
        raise GraphqdError(f"periodic must be a bool or one bool per axis ({dim}), got {len(periodic)}.")
    return periodic


def minimum_image(displacement: Tensor, n: int) -> Tensor:
    """Integer displacement along a periodic axis of length n, mapped into −⌊(n−1)/2⌋ … ⌊n/2⌋."""
    half = (n - 1) // 2
    return torch.remainder(displacement + half, n) - half


def displacement_range(n: int, periodic: bool, radius: int) -> tuple:
    """Smallest and largest integer displacement within ``radius`` along one axis of length n
    (minimum-image range on a periodic axis, −(n−1) … n−1 on an open one)."""
    if periodic:
        return max(-radius, -((n - 1) // 2)), min(radius, n // 2)
    return max(-radius, -(n - 1)), min(radius, n - 1)


def _check_shape(shape: Sequence[int]) -> tuple:
    shape = tuple(int(n) for n in shape)
    if len(shape) not in (1, 2) or any(n < 1 for n in shape):
        raise GraphqdError(f"lattice shape must be (L,) or (Ly, Lx) with positive sizes, got {shape}.")
    return shape


def site_graph(shape: Sequence[int] | int, cutoff: float, periodic: Periodic = True,
               dtype: torch.dtype = torch.float32) -> SiteGraph:
    """Site graph of a chain ``(L,)`` or square lattice ``(Ly, Lx)``, built by index arithmetic.

    Args:
        shape: lattice size, ``L`` or ``(L,)`` for a chain, ``(Ly, Lx)`` for a square lattice.
        cutoff: keep pairs with 0 < d ≤ cutoff (lattice spacing 1).
        periodic: one bool for every axis, or one per axis (e.g. ``(True, False)``:
            periodic in y, open in x, as for the NEGF slab between leads).
        dtype: floating dtype of ``distance``.

    Shapes:
        edge_index (2, E), offset (E, dim), distance (E,), with E ≤ N · (number of
        integer vectors inside the cutoff).
    """
    shape = _check_shape((shape,) if isinstance(shape, int) else shape)
    dim = len(shape)
    periodic = normalize_periodic(periodic, dim)
    if not cutoff >= 0:
        raise GraphqdError(f"cutoff must be non-negative, got {cutoff}.")
    radius = int(math.floor(cutoff + _CUTOFF_TOLERANCE))

    # stencil: every integer displacement inside the cutoff, one per minimum image
    ranges = [torch.arange(lo, hi + 1) for lo, hi in
              (displacement_range(n, p, radius) for n, p in zip(shape, periodic))]
    stencil = torch.cartesian_prod(*ranges).reshape(-1, dim)
    squared = stencil.pow(2).sum(1)
    stencil = stencil[(squared > 0) & (squared <= cutoff * cutoff + _CUTOFF_TOLERANCE)]

    num_nodes = math.prod(shape)
    target_coords = torch.stack(torch.unravel_index(torch.arange(num_nodes), shape), dim=1)
    source_coords = target_coords[:, None, :] + stencil[None, :, :]  # (N, S, dim)
    valid = torch.ones(source_coords.shape[:2], dtype=torch.bool)
    for axis, (n, p) in enumerate(zip(shape, periodic)):
        if p:
            source_coords[..., axis] %= n
        else:
            valid &= (source_coords[..., axis] >= 0) & (source_coords[..., axis] < n)
    source = _ravel(source_coords, shape)
    target = torch.arange(num_nodes)[:, None].expand_as(source)
    offset = stencil[None].expand(num_nodes, -1, -1)
    offset = offset[valid]
    return SiteGraph(
        edge_index=torch.stack([source[valid], target[valid]]),
        offset=offset,
        distance=offset.to(dtype).pow(2).sum(1).sqrt(),
        shape=shape, cutoff=float(cutoff), periodic=periodic,
    )


def _ravel(coords: Tensor, shape: tuple) -> Tensor:
    """Row-major node number of integer coordinates (..., dim)."""
    flat = coords[..., 0]
    for axis in range(1, len(shape)):
        flat = flat * shape[axis] + coords[..., axis]
    return flat
