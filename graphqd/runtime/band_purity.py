"""Keeping a banded density matrix on the occupations of a Slater state along a Holstein rollout, in O(L · r²).

The exact Ehrenfest dynamics is unitary, so the natural-orbital occupations of ρ (its spectrum)
never change. The deep quench starts from the half-filled Fermi sea of a ring, whose occupations
are 0 and 1, and ½ for the two orbitals at the Fermi level when L is divisible by 4 (an open shell:
Tr ρ² = L/2 − ½). A learned ρ step does not keep them: on long chains the deep-quench surrogates
drive ρ_ii far outside [0, 1] within a few hundred steps, and any energy projection then trades
unphysical electronic energy against the lattice. `graphqd.runtime.isospectral` restores the
spectrum exactly but needs the whole matrix. Here each step applies one purification with the
products truncated to the model's band (`graphqd.runtime.band_algebra`). In σ = 2ρ − 1, whose
eigenvalues should be −1, 0 and 1,

    σ ← σ − α f(σ)/6,   f(σ) = σ(σ² − 1)(4σ² − 1) = 4σ⁵ − 5σ³ + σ,

then ρ = (σ + 1)/2 and ρ_ii ← ρ_ii + (N − Tr ρ)/L. The map x ↦ x − f(x)/6 (α = 1) fixes −1, 0 and 1;
its slope is 0 at ±1 (occupations 0 and 1 return quadratically, as in McWeeny's purification, Rev.
Mod. Phys. 32, 335 (1960), 3ρ² − 2ρ³, which has no fixed point at ½ that attracts) and 5/6 at 0 (the
half-filled pair returns geometrically); the repelling fixed points ±½ (occupations ¼, ¾) separate
them. It keeps Hermiticity, and with the uniform shift the electron number N. σ³ and σ⁵ are the
exact products of the band-truncated σ, truncated back to the band, so on a long chain it pulls the
band towards a state that is pure within it, which the truth is not: in the exact deep quench on
256 sites, Σ_j |ρ_ij|² over a band of radius 4 (ρ_ii for a pure band) falls from 95 % of ρ_ii in
the Fermi sea to 84 % by step 10,000. The default is therefore half the step, α = ½ (slopes ½ at
±1 and 11/12 at 0). Measured with `energy-band` after it (graph model of band 4, 4 runs of 256 sites
× 10,000 steps from the same states): the whole step (with the energy rotation capped at 0.1 per
chain) over-localises, polaron fraction 0.85 against 0.81 exact; half the step (with the cap per
8 sites of `energy_shell`) gives 0.83, and the energy it adds in the first step, where it acts on the
band-truncated Fermi sea, falls from 0.067 to 0.045 per site. At 8 sites, where the band is the
whole ring, both keep the climate (32 runs: polaron fraction 0.734 and 0.736 against 0.725).

Far outside [−1, 1] the quintic overshoots: for α = ½ it sends σ = 1.6 to −0.3 (an occupation 1.3 to 0.34,
another basin) and diverges beyond 1.76. Each chain's step is therefore capped where the spectral radius x of its
σ (30 power iterations on the band, `band_algebra.spectral_radius`: a lower bound, which can lag far behind where
the top eigenvector is localised, 1.08 against 1.41 at one polaron in the rollout below) exceeds 1: with

    α ≤ 12 / (x (x + 1) (4x² − 1))

an eigenvalue λ ∈ (1, x] moves towards 1 by at most twice its distance, so no eigenvalue of σ − α f(σ) (before
the band cut) lies further from the nearest of ±1 than it did. The cap is 2 at x = 1 and reaches ½ at x = 1.41,
above the 1.2 of the band-truncated Fermi sea (band 4), so a rollout that stays near the physical range never
feels it.

The purified band is returned Hermitian to the last bit, (ρ + ρ†)/2. Round-off can leave ρ_ij and ρ_ji* one ulp
apart; the purification of a band with occupations near 1 amplifies that anti-Hermitian part (in a 256-site held-out
rollout of the committed deep model it grew from 2e-10 at step 6,122 to 1e-3 by step 7,000, and the run blew up at
step 7,354; replayed from step 7,000 with the Hermitian part taken, it stays bounded).

Shapes: states as in `graphqd.runtime.rollout.rollout`: ρ band (count·M, 2) in the band-graph
order of `graphqd.graphs.holstein`.
"""
from __future__ import annotations

import torch

from graphqd import keys as K
from graphqd.graphs.holstein import HolsteinGraphSpec, band_to_rows, graph_fields, rows_to_band
from graphqd.runtime import band_algebra


class BandPurity:
    """One band-truncated purification step of strength α per call (capped per chain where σ's spectral radius
    exceeds 1), with the electron number kept (see the module docstring)."""

    def __init__(self, L: int, periodic: bool, spec: HolsteinGraphSpec, strength: float = 0.5):
        self.L, self.periodic, self.spec, self.strength = L, periodic, spec, strength
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
        x = band_algebra.spectral_radius(sigma.detach())      # a safeguard: no gradient through the cap
        cap = 12 / (x * (x + 1) * (4 * x ** 2 - 1))
        strength = torch.where(x > 1, cap.clamp(max=self.strength), torch.full_like(x, self.strength))
        rho = (sigma - strength[..., None, None] * (4 * fifth - 5 * cube[..., 2 * r:4 * r + 1] + sigma) / 6) / 2
        rho = (rho + band_algebra.adjoint(rho, periodic)) / 2    # Hermitian to the last bit (see the docstring)
        rho[..., r] += 0.5 + ((number - L / 2 - rho[..., r].real.sum(-1)) / L)[:, None]
        band = rows_to_band(rho, L, periodic, self.spec)
        return dict(state, **{K.RHO: band.reshape(state[K.RHO].shape).to(state[K.RHO].dtype)})
