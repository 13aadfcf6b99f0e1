"""Keeping a Holstein surrogate rollout on its initial energy shell.

The Ehrenfest dynamics conserves the total energy (`physics.holstein.energy`, DESIGN §3.1)

    E(Q, P, ρ) = T(P) + V(Q, ρ),   T = Σ_i P_i²/2m,
    V = Tr(h₀ρ) − g Σ_i (ρ_ii − ½) Q_i + K Σ_i Q_i²/2,

a learned step does not. Its small per-step errors are not random in sign: the deep-quench
surrogates of issue 6 heat the chain from E/L = −0.60 to about 0 over 10,000 steps, which
melts the CDW polarons that make up the truth's late-time ensemble. After each step the
lattice coordinates u = (Q, P) of every chain are moved along the energy gradient onto the
initial shell, ρ held fixed:

    u ← u − s ∇_u E,   ∇_Q E = K Q − g (n − ½),   ∇_P E = P/m,   E(u − s ∇_u E) = E₀,

the orthogonal projection method for a first integral (Hairer, Lubich, Wanner, Geometric
Numerical Integration, 2nd ed., §IV.4). At fixed ρ the energy is quadratic in (Q, P), so s is
the root of smallest magnitude of  H s² − G s + (E − E₀) = 0,  G = |∇_u E|²,
H = ½ K |∇_Q E|² + |∇_P E|²/2m — exact, no iteration. If the shell lies below the lowest
energy on that line, s = G/2H, its minimum, and the rest is left to the next steps. It acts
on (Q, P) only, so Hermiticity, trace and spectrum of ρ are untouched, and costs O(L) per
chain. Unlike a rescaling of P alone it also works where the lattice is at rest (the deep
quench starts with P = 0 and must turn electronic energy into lattice energy).

`ElectronicShell` keeps the same shell through ρ instead (a unitary rotation of the electrons),
where the energy error of a learned step actually arises; (Q, P) take only what it cannot reach.

Shapes: states as in `graphqd.runtime.rollout.rollout`, `count` chains of L sites stacked:
Q, P (count·L,); rho band (count·M, 2) in the band-graph order of `graphqd.graphs.holstein`.
"""
from __future__ import annotations

import torch

from graphqd import keys as K
from graphqd.errors import GraphqdError
from graphqd.graphs.holstein import HolsteinGraphSpec, band_to_rows, dense_to_band, graph_fields, rows_to_band
from graphqd.physics import holstein
from graphqd.physics.lattice import neighbour_table
from graphqd.runtime import band_algebra
from graphqd.runtime.isospectral import Isospectral

# The cap on the rotation angle ‖sA‖_F of the electronic shells, per chain of 8 sites (where it was chosen);
# ‖sA‖²_F sums over the sites, so a chain of L sites gets MAX_ANGLE_8·√(L/8): each site rotates as far on any length.
MAX_ANGLE_8 = 0.1
# The largest lattice move `energy-band-conditioned` takes, as the fraction |s|·max(K, 1/m) of the way from (Q, P)
# to the minimum of E along ∇E (see `EnergyShell.project`); at rest on the free Fermi sea the move is the whole way
# (1), in the domain phase of a deep quench the rotation takes nearly all of the error and the moves are small.
MAX_RELAXATION = 0.05


def _rotation_step(c1: torch.Tensor, c2: torch.Tensor, excess: torch.Tensor, h_norm: torch.Tensor,
                   max_angle: float, L: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The step s along the double-bracket rotation and its cap s_max, per chain. s is the root of smallest
    magnitude of excess + c₁s + ½c₂s² = 0 (c₁ = −‖A‖²_F), or the minimum −c₁/c₂ where there is none; the
    rotation angle ‖sA‖_F is capped at max_angle·√(L/8) (L sites per chain), and there is no rotation where A
    is at the round-off of float32 storage (‖A‖_F ≤ 1e-6 ‖h‖_F) and has no direction."""
    discriminant = c1 ** 2 - 2 * c2 * excess
    s = torch.where(discriminant >= 0, 2 * excess / (-c1 + discriminant.clamp(min=0).sqrt()).clamp(min=1e-300),
                    -c1 / c2.clamp(min=1e-300))
    size = (-c1).sqrt()
    s_max = torch.where(size > 1e-6 * h_norm, max_angle * (L / 8) ** 0.5 / size.clamp(min=1e-300), 0.0)
    return torch.clamp(s, -s_max, s_max), s_max


class EnergyShell:
    """Energy of band-stored Holstein states and the projection of (Q, P) onto a given shell."""

    def __init__(self, params: holstein.HolsteinParams, spec: HolsteinGraphSpec):
        if len(params.shape) != 1:
            raise GraphqdError("energy conservation is available for chains only")
        L = params.n_sites
        pairs = graph_fields(L, params.boundary == "periodic", spec)["pairs"]
        # Tr(h₀ρ) = −t Σ_ij A_ij Re ρ_ji: weight of each band entry (i, j) is A_ji
        adjacency = neighbour_table(params.shape, params.boundary).adjacency()
        bonds = adjacency[pairs[1], pairs[0]]
        if bonds.sum() < adjacency.sum():
            raise GraphqdError(f"energy conservation needs the nearest-neighbour entries of ρ, but the model's "
                               f"band_radius = {spec.band_radius} leaves them out")
        self.hop_weight = -params.hopping * bonds
        self.diagonal = (pairs[0] == pairs[1]).nonzero().squeeze(1)
        self.params, self.L, self.M = params, L, pairs.size(1)

    def _split(self, state: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Q, P (count, L), ρ band (count, M, 2) and occupations n (count, L), float64."""
        Q = state[K.Q].double().reshape(-1, self.L)
        P = state[K.P].double().reshape(-1, self.L)
        rho = state[K.RHO].double().reshape(-1, self.M, 2)
        return Q, P, rho, rho[:, self.diagonal.to(rho.device), 0]

    def _potential(self, Q: torch.Tensor, rho: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        p = self.params
        electrons = (rho[..., 0] * self.hop_weight.to(rho.device)).sum(-1)
        return electrons - p.g * ((n - 0.5) * Q).sum(-1) + p.stiffness * (Q ** 2).sum(-1) / 2

    def _kinetic(self, P: torch.Tensor) -> torch.Tensor:
        return (P ** 2).sum(-1) / (2 * self.params.mass)

    def potential(self, state: dict) -> torch.Tensor:
        """V(Q, ρ) per chain, (count,) float64."""
        Q, _, rho, n = self._split(state)
        return self._potential(Q, rho, n)

    def kinetic(self, state: dict) -> torch.Tensor:
        """T(P) per chain, (count,) float64."""
        return self._kinetic(self._split(state)[1])

    def energy(self, state: dict) -> torch.Tensor:
        """E per chain, (count,) float64; equals `physics.holstein.energy` on the dense state."""
        Q, P, rho, n = self._split(state)
        return self._kinetic(P) + self._potential(Q, rho, n)

    def project(self, state: dict, target: torch.Tensor, max_relaxation: float | None = None) -> dict:
        """The state with (Q, P) moved along ∇E so that E = target per chain (see the module docstring).

        The move is Q ← (1 − sK) Q + sK·g(n − ½)/K, P ← (1 − s/m) P: a fraction sK of the way to the
        lattice's equilibrium at fixed ρ and s/m of its momentum. With `max_relaxation` κ a chain whose move
        has |s|·max(K, 1/m) > κ stays where it is (an ill-conditioned move, see `BandElectronicShell`)."""
        Q, P, rho, n = self._split(state)
        p = self.params
        grad_Q, grad_P = p.stiffness * Q - p.g * (n - 0.5), P / p.mass
        G = (grad_Q ** 2).sum(-1) + (grad_P ** 2).sum(-1)
        H = (p.stiffness * (grad_Q ** 2).sum(-1) / 2 + self._kinetic(grad_P)).clamp(min=1e-300)
        excess = self._kinetic(P) + self._potential(Q, rho, n) - target
        discriminant = G ** 2 - 4 * H * excess
        s = torch.where(discriminant >= 0, 2 * excess / (G + discriminant.clamp(min=0).sqrt()).clamp(min=1e-300),
                        G / (2 * H))
        if max_relaxation is not None:
            s = torch.where(s.abs() * max(p.stiffness, 1 / p.mass) <= max_relaxation, s, 0.0)
        Q, P = Q - s[:, None] * grad_Q, P - s[:, None] * grad_P
        return dict(state, **{K.Q: Q.reshape(state[K.Q].shape).to(state[K.Q].dtype),
                              K.P: P.reshape(state[K.P].shape).to(state[K.P].dtype)})


class ElectronicShell:
    """The projection onto the initial energy shell through ρ, by a unitary rotation of the electrons.

    The energy error of a learned step sits in its ρ update (issue 6: per site and step, std 2e-3 for
    the ρ update of the deep-quench graph model against 3e-5 for its (Q, P) update), so it is undone
    there, with (Q, P) held fixed. With h(Q) the single-particle Hamiltonian, E = Tr(hρ) + f(Q, P),
    and the direction that changes Tr(hρ) fastest while keeping the spectrum of ρ is the
    double-bracket flow of Brockett (Linear Algebra Appl. 146, 79 (1991)):

        ρ(s) = e^{sA} ρ e^{−sA},   A = [ρ, h] (anti-Hermitian),   dE/ds|₀ = −‖A‖²_F,

    so ρ(s) keeps Hermiticity, trace and spectrum exactly. s solves the second-order expansion
    E + c₁s + c₂s²/2 = E₀ (c₂ = Tr(h[A, [A, ρ]])), refined by Newton steps on the exact E(s), and
    the rotation angle ‖sA‖_F is capped at `max_angle` per 8 sites (`MAX_ANGLE_8`). Where ρ nearly
    commutes with h (‖A‖ ≈ 0, as right after a quench from the ground state) no small rotation reaches
    the shell; what is left is moved through (Q, P) by `EnergyShell.project`. Dense, O(L³) per chain, so
    it needs the whole density matrix in the band, like `graphqd.runtime.isospectral`.
    """

    def __init__(self, params: holstein.HolsteinParams, spec: HolsteinGraphSpec, newton_steps: int = 2,
                 max_angle: float = MAX_ANGLE_8):
        self.lattice = EnergyShell(params, spec)
        if self.lattice.M != params.n_sites ** 2:
            raise GraphqdError(f"energy conservation through rho needs the whole density matrix, but band_radius = "
                               f"{spec.band_radius} on {params.n_sites} sites leaves entries out; use --conserve "
                               f"energy or --conserve energy-band")
        self.dense = Isospectral(params.n_sites, params.boundary == "periodic", spec)
        self.params, self.newton_steps, self.max_angle = params, newton_steps, max_angle

    def energy(self, state: dict) -> torch.Tensor:
        return self.lattice.energy(state)

    def project(self, state: dict, target: torch.Tensor) -> dict:
        """The state with ρ rotated so that E = target per chain, the rest through (Q, P)."""
        L, iso = self.lattice.L, self.dense
        rho = iso._dense(state)
        h = holstein.hamiltonian(state[K.Q].double().reshape(-1, L), self.params).to(rho.dtype)
        A = rho @ h - h @ rho
        excess = self.lattice.energy(state) - target
        c1 = -(A.abs() ** 2).sum((-1, -2))
        bracket = A @ rho - rho @ A
        c2 = torch.einsum("cij,cji->c", h, A @ bracket - bracket @ A).real
        # the lattice takes what a rotation of at most max_angle leaves
        s, s_max = _rotation_step(c1, c2, excess, torch.linalg.matrix_norm(h), self.max_angle, L)

        def rotated(s):
            U = torch.linalg.matrix_exp(s[:, None, None] * A)
            return U @ rho @ U.mH

        offset = excess - torch.einsum("cij,cji->c", h, rho).real        # E(s) − E₀ = offset + Tr(hρ(s))
        for _ in range(self.newton_steps):
            r = rotated(s)
            residual = offset + torch.einsum("cij,cji->c", h, r).real
            slope = torch.einsum("cij,cji->c", h, A @ r - r @ A).real    # d Tr(hρ(s))/ds = Tr(h[A, ρ(s)])
            s = torch.where(slope < -1e-24, s - residual / slope.clamp(max=-1e-24), s)
            s = torch.clamp(s, -s_max, s_max)
        band = dense_to_band(rotated(s), L, iso.periodic, iso.spec)
        state = dict(state, **{K.RHO: band.reshape(state[K.RHO].shape).to(state[K.RHO].dtype)})
        return self.lattice.project(state, target)


class BandElectronicShell:
    """The projection onto the initial energy shell through ρ with band-local algebra, O(L · r²) per chain.

    `ElectronicShell` rotates the whole ρ; on a long chain a banded model carries only ρ_ij with
    d(i, j) ≤ r. Here the same double-bracket rotation ρ(s) = e^{sA} ρ e^{−sA}, A = [ρ, h], is taken to
    second order in s, every product truncated to the band (`graphqd.runtime.band_algebra`):

        ρ(s) = ρ + s D + ½ s² D₂,   D = [A, ρ]_r,   D₂ = [A, D]_r,

    A of radius r + 1 (h(Q) is tridiagonal). D and D₂ are Hermitian and traceless, so Hermiticity and
    the trace are exact; the spectrum is kept to O(s³) on the whole matrix (the band truncation aside).
    The energy is linear in ρ at fixed (Q, P) and reads only the diagonal and the bonds, which lie in
    the band, so E(s) = E + c₁s + ½c₂s² exactly, with c₁ = Tr(hD) = −‖A‖²_F and c₂ = Tr(hD₂): s is the
    root of smallest magnitude (or the minimum where there is none), capped at the rotation angle
    ‖sA‖_F ≤ `max_angle`·√(L/8) as in `ElectronicShell`; (Q, P) take what is left (`EnergyShell.project`).
    Needs band_radius ≥ 1; on a ring with 2r + 1 ≥ L it is the whole matrix and agrees with
    `ElectronicShell` to O(s³).

    With `max_relaxation` κ ("energy-band-conditioned", κ = `MAX_RELAXATION`) the lattice takes what is left
    only where that move is well conditioned, at most a fraction κ of the way to its minimum
    (`EnergyShell.project`); elsewhere the error stays for the rotation and the lattice of later steps, which
    aim at E₀ every step. The move is ill-conditioned where (Q, P) rest near their minimum, as on the free
    Fermi sea of a deep quench: there ∇_(Q,P)E is tiny, an energy excess is met by relaxing Q all the way to
    g(n − ½)/K, which triples a staggered seed per step (the Peierls instability at the wrong rate), and a
    deficit by a move of size √(2|ΔE|/K) along the seed. ρ then also nearly commutes with h, so the rotation
    cannot take it either, and a learned step's energy error of 10⁻² per site (or the band purification of the
    truncated Fermi sea, +10⁻² per site) nucleates the polarons within a few steps (experiment 8c, results 12, 13).
    """

    def __init__(self, params: holstein.HolsteinParams, spec: HolsteinGraphSpec, max_angle: float = MAX_ANGLE_8,
                 max_relaxation: float | None = None):
        self.lattice = EnergyShell(params, spec)
        self.params, self.spec, self.max_angle, self.max_relaxation = params, spec, max_angle, max_relaxation
        self.periodic = params.boundary == "periodic"

    def energy(self, state: dict) -> torch.Tensor:
        return self.lattice.energy(state)

    def project(self, state: dict, target: torch.Tensor) -> dict:
        """The state with ρ moved along the truncated rotation so that E = target per chain, the rest
        through (Q, P) (where well conditioned, with `max_relaxation`)."""
        L, r, periodic, p = self.lattice.L, self.spec.band_radius, self.periodic, self.params
        rho = band_to_rows(state[K.RHO].double().reshape(-1, self.lattice.M, 2), L, periodic, self.spec)
        h = band_algebra.hopping_rows(state[K.Q].double().reshape(-1, L), p.hopping, p.g, periodic)
        A = band_algebra.commutator(rho, h, r + 1, periodic)
        D = band_algebra.commutator(A, rho, r, periodic)
        D2 = band_algebra.commutator(A, D, r, periodic)
        c1 = -(A.abs() ** 2).sum((-1, -2))                                   # Tr(hD)
        c2 = band_algebra.trace_of_product(h, D2, periodic).real
        excess = self.lattice.energy(state) - target
        s, _ = _rotation_step(c1, c2, excess, (h.abs() ** 2).sum((-1, -2)).sqrt(), self.max_angle, L)
        s = s[:, None, None]
        band = rows_to_band(rho + s * D + s ** 2 / 2 * D2, L, periodic, self.spec)
        state = dict(state, **{K.RHO: band.reshape(state[K.RHO].shape).to(state[K.RHO].dtype)})
        return self.lattice.project(state, target, self.max_relaxation)
