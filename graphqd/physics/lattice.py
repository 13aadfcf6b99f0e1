"""Nearest-neighbour tables of chains and square lattices, shared by the tight-binding models.

A lattice of shape `(L,)` (chain) or `(Ly, Lx)` (square) has its sites flattened row-major,
site s = y·Lx + x. Each site has one neighbour slot per direction (2 on a chain, 4 on a
square lattice); on an open edge the slot points at the site itself with weight 0, so
that gathers stay rectangular and a hopping product costs O(z·n) per column.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch

from graphqd.errors import GraphqdError

BOUNDARIES = ("periodic", "open")


@dataclass(frozen=True)
class NeighbourTable:
    """Nearest neighbours of every site.

    Attributes:
        shape: lattice shape, `(L,)` or `(Ly, Lx)`.
        neighbour: (n_sites, z) long | site index of each neighbour slot.
        weight: (n_sites, z) float64 | 1 for a bond, 0 for a slot past an open edge.
    """

    shape: tuple[int, ...]
    neighbour: torch.Tensor
    weight: torch.Tensor

    @property
    def n_sites(self) -> int:
        return self.neighbour.shape[0]

    def to(self, device: torch.device | str) -> "NeighbourTable":
        return NeighbourTable(self.shape, self.neighbour.to(device), self.weight.to(device))

    def adjacency(self) -> torch.Tensor:
        """Dense (n, n) float64 adjacency matrix (bond multiplicities on tiny periodic lattices)."""
        n = self.n_sites
        a = torch.zeros(n, n, dtype=torch.float64, device=self.neighbour.device)
        rows = torch.arange(n, device=self.neighbour.device).repeat_interleave(self.neighbour.shape[1])
        a.index_put_((rows, self.neighbour.reshape(-1)), self.weight.reshape(-1), accumulate=True)
        return a


def lattice_shape(L: int | tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """Normalise a lattice size: an int is a chain, a pair (Ly, Lx) a square lattice."""
    shape = (int(L),) if isinstance(L, int) else tuple(int(v) for v in L)
    if len(shape) not in (1, 2) or min(shape) < 1:
        raise GraphqdError(f"lattice size {L!r} must be a positive int (chain) or a pair (Ly, Lx) of positive ints")
    return shape


def _check_boundary(boundary: str) -> None:
    if boundary not in BOUNDARIES:
        raise GraphqdError(f"boundary {boundary!r} is not allowed; choose one of {', '.join(BOUNDARIES)}")


@lru_cache(maxsize=64)
def _neighbour_table(shape: tuple[int, ...], boundary: str) -> NeighbourTable:
    _check_boundary(boundary)
    coords = torch.stack(torch.meshgrid(*[torch.arange(n) for n in shape], indexing="ij"), -1).reshape(-1, len(shape))
    neighbours, weights = [], []
    for axis, n in enumerate(shape):
        for step in (1, -1):
            moved = coords.clone()
            moved[:, axis] += step
            inside = (moved[:, axis] >= 0) & (moved[:, axis] < n)
            moved[:, axis] %= n
            index = moved[:, 0] if len(shape) == 1 else moved[:, 0] * shape[1] + moved[:, 1]
            weight = torch.ones(len(coords), dtype=torch.float64)
            if boundary == "open":
                weight = inside.to(torch.float64)
                index = torch.where(inside, index, torch.arange(len(coords)))
            if n == 1:  # a length-1 axis has no bonds
                weight = torch.zeros_like(weight)
            elif n == 2 and boundary == "periodic" and step == -1:
                weight = torch.zeros_like(weight)  # both directions reach the same site: count the bond once
            neighbours.append(index)
            weights.append(weight)
    return NeighbourTable(shape, torch.stack(neighbours, 1), torch.stack(weights, 1))


def neighbour_table(shape: tuple[int, ...], boundary: str, device: torch.device | str = "cpu") -> NeighbourTable:
    """Nearest-neighbour table of a chain `(L,)` or square lattice `(Ly, Lx)`, on `device`."""
    return _neighbour_table(lattice_shape(shape), boundary).to(device)


def staggered_sign(shape: tuple[int, ...], device: torch.device | str = "cpu") -> torch.Tensor:
    """(n_sites,) float64 | (−1)^(x+y), the checkerboard pattern of a CDW."""
    coords = torch.stack(torch.meshgrid(*[torch.arange(n) for n in shape], indexing="ij"), -1).reshape(-1, len(shape))
    return (1 - 2 * (coords.sum(-1) % 2)).to(torch.float64).to(device)


def band_slots(L: int, radius: int, periodic: bool,
               device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """The band of radius r of an L-site chain in the `rho_band` layout (DESIGN §2.2): the column j = i + s
    (modulo L) of slot (i, r + s), s = −r … r, and which slots exist (on an open chain, those inside it);
    both (L, 2r + 1)."""
    columns = torch.arange(L, device=device)[:, None] + torch.arange(-radius, radius + 1, device=device)
    inside = torch.ones_like(columns, dtype=torch.bool) if periodic else (columns >= 0) & (columns < L)
    return columns % L, inside
