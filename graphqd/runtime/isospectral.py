"""Keeping the spectrum of a surrogate's density matrix fixed along a Holstein rollout.

The von Neumann equation dρ/dt = −i[h(Q), ρ] is a Lax (isospectral) flow: ρ(t) = U ρ(0) U†
with U unitary, so every eigenvalue of ρ — the occupations of the natural orbitals — is
conserved, and with them Tr ρ² and the purity of a Slater determinant. A learned ρ step keeps
Hermiticity and the trace (by construction, `hermitian_projection`) but not the spectrum:
the deep-quench surrogates of issue 6 lose Tr ρ² from 3.5 to 2.7 over 10,000 steps, which
weakens the CDW (the electrons become more mixed than any unitary evolution allows). After
each step ρ is replaced by the nearest matrix with the initial spectrum,

    ρ = V diag(λ) V†  →  V diag(λ₀) V†,   λ and λ₀ in ascending order,

the orthogonal projection onto the isospectral manifold in the Frobenius norm
(Calvo, Iserles, Zanna, Math. Comp. 66, 1461 (1997), projection methods for isospectral
flows). It keeps Hermiticity and the trace exactly. The eigen-decomposition is dense, O(L³)
per chain, so it needs the whole matrix in the band (band_radius ≥ L/2 on a ring, L − 1 open); it is
meant for the small lattices on which climate statistics are taken.

Shapes: ρ band (count·M, 2) in the band-graph order of `graphqd.graphs.holstein`.
"""
from __future__ import annotations

import torch

from graphqd import keys as K
from graphqd.errors import GraphqdError
from graphqd.graphs.holstein import HolsteinGraphSpec, band_to_dense, dense_to_band, graph_fields


class Isospectral:
    """Eigenvalues of band-stored density matrices, and the projection onto a given spectrum."""

    def __init__(self, L: int, periodic: bool, spec: HolsteinGraphSpec):
        if graph_fields(L, periodic, spec)["pairs"].size(1) != L * L:
            needed = L // 2 if periodic else L - 1
            raise GraphqdError(f"spectrum conservation needs the whole density matrix, but band_radius = "
                               f"{spec.band_radius} on {L} sites leaves entries out (use band_radius >= {needed})")
        self.L, self.periodic, self.spec = L, periodic, spec

    def _dense(self, state: dict) -> torch.Tensor:
        band = state[K.RHO].double().reshape(-1, self.L * self.L, 2)
        return band_to_dense(band, self.L, self.periodic, self.spec)

    def spectrum(self, state: dict) -> torch.Tensor:
        """Eigenvalues of each chain's ρ (its Hermitian part), ascending, (count, L) float64."""
        rho = self._dense(state)
        return torch.linalg.eigvalsh((rho + rho.mH) / 2)

    def project(self, state: dict, spectrum: torch.Tensor) -> dict:
        """The state with ρ = V diag(spectrum) V†, V the eigenvectors of its Hermitian part."""
        rho = self._dense(state)
        _, vectors = torch.linalg.eigh((rho + rho.mH) / 2)
        projected = (vectors * spectrum[:, None, :].to(vectors.dtype)) @ vectors.mH
        band = dense_to_band(projected, self.L, self.periodic, self.spec)
        return dict(state, **{K.RHO: band.reshape(state[K.RHO].shape).to(state[K.RHO].dtype)})
