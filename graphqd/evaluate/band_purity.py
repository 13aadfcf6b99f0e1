"""Keeping a banded density matrix on the occupations of a Slater state along a Holstein rollout, in O(L · r²).

The exact Ehrenfest dynamics is unitary, so the natural-orbital occupations of ρ (its spectrum)
never change. The deep quench starts from the half-filled Fermi sea of a ring, whose occupations
are 0 and 1, and ½ for the two orbitals at the Fermi level when L is divisible by 4 (an open shell:
Tr ρ² = L/2 − ½). A learned ρ step does not keep them: on long chains the deep-quench surrogates
drive ρ_ii far outside [0, 1] within a few hundred steps, and any energy projection then trades
unphysical electronic energy against the lattice. `graphqd.evaluate.isospectral` restores the
spectrum exactly but needs the whole matrix. Here each step applies one purification with the
products truncated to the model's band (`graphqd.evaluate.band_algebra`). In σ = 2ρ − 1, whose
eigenvalues should be −1, 0 and 1,

    σ ← σ − f(σ)/6,   f(σ) = σ(σ² − 1)(4σ² − 1) = 4σ⁵ − 5σ³ + σ,

then ρ = (σ + 1)/2 and ρ_ii ← ρ_ii + (N − Tr ρ)/L. The map x ↦ x − f(x)/6 fixes −1, 0 and 1; its
slope is 0 at ±1 (occupations 0 and 1 return quadratically, as in McWeeny's purification, Rev. Mod.
Phys. 32, 335 (1960), 3ρ² − 2ρ³, which has no fixed point at ½ that attracts) and 5/6 at 0 (the
half-filled pair returns geometrically); the repelling fixed points ±½ (occupations ¼, ¾) separate
them. It keeps Hermiticity, and with the uniform shift the electron number N. σ³ and σ⁵ are the exact
products of the band-truncated σ, truncated back to the band: on a chain whose ρ reaches beyond the
band (the exact deep-quench ρ keeps 2–5 % of a row's weight outside a band of radius 4) it pulls the
band towards a state that is pure within it, which the truth is only approximately.

Shapes: states as in `graphqd.runtime.rollout.rollout`: ρ band (count·M, 2) in the band-graph
order of `graphqd.graphs.holstein`.
"""
from __future__ import annotations

import torch

from graphqd import keys as K
from graphqd.evaluate import band_algebra
from graphqd.graphs.holstein import HolsteinGraphSpec, band_to_rows, graph_fields, rows_to_band


class BandPurity:
    """One band-truncated purification step per call, with the electron number kept (see the module docstring)."""

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
        sigma = 2 * band_to_rows(state[K.RHO].double().reshape(-1, self.M, 2), L, periodic, self.spec)
        sigma[..., r] -= 1
        square = band_algebra.matmul(sigma, sigma, 2 * r, periodic)
        cube = band_algebra.matmul(sigma, square, 3 * r, periodic)
        fifth = band_algebra.matmul(square, cube, r, periodic)
        rho = (sigma - (4 * fifth - 5 * cube[..., 2 * r:4 * r + 1] + sigma) / 6) / 2
        rho[..., r] += 0.5 + ((number - L / 2 - rho[..., r].real.sum(-1)) / L)[:, None]
        band = rows_to_band(rho, L, periodic, self.spec)
        return dict(state, **{K.RHO: band.reshape(state[K.RHO].shape).to(state[K.RHO].dtype)})
