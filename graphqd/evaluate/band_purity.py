"""Keeping a banded density matrix near a pure Slater state along a Holstein rollout, in O(L · r²).

The exact Ehrenfest dynamics is unitary, so a Slater determinant stays one: ρ² = ρ, every
occupation of a natural orbital 0 or 1, and with it 0 ≤ ρ_ii ≤ 1. A learned ρ step breaks
this: on long chains the deep-quench surrogates drive ρ_ii far outside [0, 1] within a few
hundred steps, and any energy projection then trades unphysical electronic energy against the
lattice. `graphqd.evaluate.isospectral` restores the spectrum exactly, but needs the whole
matrix. Here each step applies one McWeeny purification (McWeeny, Rev. Mod. Phys. 32, 335
(1960)) with the products truncated to the model's band (`graphqd.evaluate.band_algebra`),

    ρ ← [3ρ² − 2ρ³]_r,   then   ρ_ii ← ρ_ii + (N − Tr ρ)/L,

which maps eigenvalues near 0 and 1 quadratically back onto them, keeps Hermiticity, and, with
the uniform shift, the electron number N. The band truncation makes it local: on a chain whose
ρ reaches beyond the band (the exact deep-quench ρ keeps 2–5 % of a row's weight outside a band of
radius 4) it is a projection onto states that are pure within the band, which the truth is only
approximately. The half-filled Fermi sea of a ring with L divisible by 4 has two orbitals at
occupation ½ (a mixed state, Tr ρ² = L/2 − ½); their weight is O(1/L) per entry.

Shapes: states as in `graphqd.runtime.rollout.rollout`: ρ band (count·M, 2) in the band-graph
order of `graphqd.graphs.holstein`.
"""
from __future__ import annotations

import torch

from graphqd import keys as K
from graphqd.evaluate import band_algebra
from graphqd.graphs.holstein import HolsteinGraphSpec, band_to_rows, graph_fields, rows_to_band


class BandPurity:
    """One band-truncated McWeeny step per call, with the electron number kept (see the module docstring)."""

    def __init__(self, L: int, periodic: bool, spec: HolsteinGraphSpec):
        self.L, self.periodic, self.spec = L, periodic, spec
        self.M = graph_fields(L, periodic, spec)["pairs"].size(1)

    def number(self, state: dict) -> torch.Tensor:
        """Tr ρ per chain, (count,) float64."""
        rows = band_to_rows(state[K.RHO].double().reshape(-1, self.M, 2), self.L, self.periodic, self.spec)
        return rows[..., self.spec.band_radius].real.sum(-1)

    def project(self, state: dict, number: torch.Tensor) -> dict:
        """The state with ρ purified once on its band and its trace set to `number` per chain."""
        r, L, periodic = self.spec.band_radius, self.L, self.periodic
        rho = band_to_rows(state[K.RHO].double().reshape(-1, self.M, 2), L, periodic, self.spec)
        square = band_algebra.matmul(rho, rho, 2 * r, periodic)
        pure = 3 * square[..., r:3 * r + 1] - 2 * band_algebra.matmul(rho, square, r, periodic)
        pure[..., r] += ((number - pure[..., r].real.sum(-1)) / L)[:, None]
        band = rows_to_band(pure, L, periodic, self.spec)
        return dict(state, **{K.RHO: band.reshape(state[K.RHO].shape).to(state[K.RHO].dtype)})
