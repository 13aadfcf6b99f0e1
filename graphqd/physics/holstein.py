"""Ehrenfest (non-adiabatic) dynamics of the semiclassical Holstein model.

    H = −t Σ_⟨ij⟩ (c†_i c_j + h.c.) − g Σ_i (n_i − ½) Q_i + Σ_i [P_i²/2m + K Q_i²/2]

Classical phonons (Q, P) couple to a free-fermion density matrix ρ_ij = ⟨c†_j c_i⟩:

    dQ_i/dt = P_i/m,   dP_i/dt = g(ρ_ii − ½) − K Q_i,   dρ/dt = −i[h(Q), ρ],
    h_ij(Q) = −t·[i, j nearest neighbours] − g Q_i δ_ij.

Source: Ning, Yang, Chern, arXiv 2412.06631 (Phys. Rev. E 113, 015307), Eqs. (1)–(4);
units ħ = 1, mass m = K/Ω² so that the bare phonon frequency is Ω.

h is a nearest-neighbour matrix, so the commutator is evaluated from neighbour gathers in
O(z·L²) per step instead of dense O(L³) products. Everything is batched over leading
dimensions and runs in float64/complex128 on the inputs' device.

Shapes: Q, P (..., n_sites); rho (..., n_sites, n_sites); sites of a square lattice
(Ly, Lx) are flattened row-major.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, NamedTuple

import numpy as np
import torch

from graphqd.errors import GraphqdError
from graphqd.physics import holstein_kernel
from graphqd.physics.lattice import NeighbourTable, band_slots, lattice_shape, neighbour_table, staggered_sign


@dataclass(frozen=True)
class HolsteinParams:
    """Parameters of the Holstein model (DESIGN.md §3.1).

    Args:
        L: chain length, or (Ly, Lx) for a square lattice.
        hopping: t.
        omega: bare phonon frequency Ω; the mass is m = K/Ω².
        stiffness: K.
        g: electron-phonon coupling (the coupling the dynamics runs with).
        boundary: "periodic" or "open".
    """

    L: int | tuple[int, int] = 8
    hopping: float = 1.0
    omega: float = 0.4
    stiffness: float = 0.4
    g: float = 0.8
    boundary: str = "periodic"

    def __post_init__(self):
        object.__setattr__(self, "L", lattice_shape(self.L) if not isinstance(self.L, int) else int(self.L))
        lattice_shape(self.L)
        for name in ("omega", "stiffness"):
            if not getattr(self, name) > 0:
                raise GraphqdError(f"HolsteinParams.{name} = {getattr(self, name)} must be positive")
        neighbour_table(self.shape, self.boundary)  # validates the boundary

    @property
    def shape(self) -> tuple[int, ...]:
        return lattice_shape(self.L)

    @property
    def n_sites(self) -> int:
        return math.prod(self.shape)

    @property
    def mass(self) -> float:
        return self.stiffness / self.omega**2

    def with_g(self, g: float) -> "HolsteinParams":
        return replace(self, g=g)


class State(NamedTuple):
    """Q, P (..., n_sites) float64; rho (..., n_sites, n_sites) complex128."""

    Q: torch.Tensor
    P: torch.Tensor
    rho: torch.Tensor


class Trajectory(NamedTuple):
    """t (T+1,); Q, P (..., T+1, n_sites); rho (..., T+1, n_sites, n_sites); t = 0 included."""

    t: torch.Tensor
    Q: torch.Tensor
    P: torch.Tensor
    rho: torch.Tensor


def _table(params: HolsteinParams, device: torch.device) -> NeighbourTable:
    return neighbour_table(params.shape, params.boundary, device)


def _hopping_slots(table: NeighbourTable) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """Neighbour slots that carry bonds, each with its weight column (None when all bonds are 1)."""
    slots = []
    for slot in range(table.neighbour.shape[1]):
        w = table.weight[:, slot]
        if bool(w.any()):
            slots.append((table.neighbour[:, slot], None if bool((w == 1).all()) else w[:, None]))
    return slots


def hop_rows(rho: torch.Tensor, slots: list) -> torch.Tensor:
    """(A ρ)_ij = Σ_{k nn i} ρ_kj, the adjacency matrix applied from the left, in O(z·n²);
    `slots` from `_hopping_slots`. A is symmetric, so ρA = (A ρᵀ)ᵀ.
    """
    out = torch.zeros_like(rho)
    for neighbour, weight in slots:
        gathered = rho.index_select(-2, neighbour)
        out = out + (gathered if weight is None else gathered * weight)
    return out


def hamiltonian(Q: torch.Tensor, params: HolsteinParams) -> torch.Tensor:
    """Dense single-particle h(Q) = −t A − g diag(Q), (..., n, n) float64 (for diagonalisation)."""
    a = _table(params, Q.device).adjacency().to(Q.dtype)
    return -params.hopping * a - params.g * torch.diag_embed(Q)


def rhs(state: State, params: HolsteinParams) -> State:
    """Time derivatives (dQ/dt, dP/dt, dρ/dt) of Eqs. (2)–(4) of arXiv 2412.06631.

    dρ/dt = −i[h, ρ] = i t (Aρ − ρA) + i g (Q_i − Q_j) ρ_ij.
    """
    Q, P, rho = state
    slots = _hopping_slots(_table(params, rho.device))
    n = rho.diagonal(dim1=-2, dim2=-1).real
    dQ = P / params.mass
    dP = params.g * (n - 0.5) - params.stiffness * Q
    q_diff = (Q.unsqueeze(-1) - Q.unsqueeze(-2)).to(rho.dtype)
    drho = 1j * (params.hopping * (hop_rows(rho, slots) - hop_rows(rho.mT, slots).mT) + params.g * q_diff * rho)
    return State(dQ, dP, drho)


def energy(state: State, params: HolsteinParams) -> torch.Tensor:
    """Total energy E = Tr(h₀ρ) − g Σ(ρ_ii − ½)Q_i + Σ P_i²/2m + K Σ Q_i²/2, shape (...)."""
    Q, P, rho = state
    slots = _hopping_slots(_table(params, rho.device))
    n = rho.diagonal(dim1=-2, dim2=-1).real
    kinetic_electrons = -params.hopping * hop_rows(rho, slots).diagonal(dim1=-2, dim2=-1).real.sum(-1)
    coupling = -params.g * ((n - 0.5) * Q).sum(-1)
    lattice = (P**2).sum(-1) / (2 * params.mass) + params.stiffness * (Q**2).sum(-1) / 2
    return kinetic_electrons + coupling + lattice


def order_parameters(Q: torch.Tensor, rho: torch.Tensor, params: HolsteinParams) -> tuple[torch.Tensor, torch.Tensor]:
    """CDW order parameters φ_Q = (1/n)Σ(−1)^i Q_i and φ_ρ = (1/n)Σ(−1)^i ρ_ii, shape (...)."""
    sign = staggered_sign(params.shape, Q.device).to(Q.dtype)
    n = rho.diagonal(dim1=-2, dim2=-1).real.to(Q.dtype)
    return (sign * Q).mean(-1), (sign * n).mean(-1)


def fermi_sea(h: torch.Tensor, n_electrons: float, degeneracy_tol: float = 1e-9) -> torch.Tensor:
    """Zero-temperature density matrix ρ = Σ_k f_k v_k v_k† of the Hermitian h (..., n, n).

    Levels are filled from the bottom; the levels degenerate (within `degeneracy_tol`) with
    the Fermi level share the remaining electrons equally (DESIGN.md §3.1).
    """
    eps, vecs = torch.linalg.eigh(h)
    occupation = torch.zeros_like(eps)
    flat_eps, flat_occ = eps.reshape(-1, eps.shape[-1]), occupation.reshape(-1, eps.shape[-1])
    last = math.ceil(n_electrons - 1e-12) - 1  # level of the highest electron
    if last >= 0:
        for b in range(flat_eps.shape[0]):
            e = flat_eps[b]
            fermi = e[min(last, e.shape[0] - 1)]
            degenerate = (e - fermi).abs() <= degeneracy_tol * max(1.0, float(e.abs().max()))
            below = (e < fermi) & ~degenerate
            flat_occ[b][below] = 1.0
            flat_occ[b][degenerate] = (n_electrons - float(below.sum())) / float(degenerate.sum())
    occupation = flat_occ.reshape(eps.shape).to(vecs.dtype)
    return (vecs * occupation.unsqueeze(-2)) @ vecs.conj().transpose(-1, -2)


def ground_state(params: HolsteinParams, device: torch.device | str = "cpu", tol: float = 1e-12,
                 max_iterations: int = 20000, mixing: float = 0.5) -> State:
    """Self-consistent Born–Oppenheimer ground state at coupling `params.g`, half filling.

    Iterates Q_i = g(n_i − ½)/K with n from the T → 0 Fermi sea of h(Q) (linear mixing),
    starting from a small checkerboard so that a CDW forms wherever it lowers the energy.
    At g = 0 this is the free Fermi sea with Q = 0. P = 0.
    """
    n = params.n_sites
    sign = staggered_sign(params.shape, device)
    Q = 0.25 * params.g / params.stiffness * sign
    complex_rho = None
    for _ in range(max_iterations):
        h = hamiltonian(Q, params)
        complex_rho = fermi_sea(h.to(torch.complex128), n / 2)
        target = params.g * (complex_rho.diagonal().real - 0.5) / params.stiffness
        change = float((target - Q).abs().max())
        Q = Q + mixing * (target - Q)
        if change < tol:
            break
    else:
        raise GraphqdError(f"the Holstein ground state at g = {params.g} did not converge in {max_iterations} iterations")
    Q = params.g * (complex_rho.diagonal().real - 0.5) / params.stiffness
    return State(Q, torch.zeros_like(Q), complex_rho)


def noisy_ground_states(params: HolsteinParams, q_noise: float, seeds: list[int],
                        device: torch.device | str = "cpu", p_noise: float = 0.0,
                        rho_of_noisy_q: bool = False) -> State:
    """Quench initial states: the ground state at `params.g` with Q_i += N(0, q_noise²) and
    P_i += N(0, p_noise²), one per seed; ρ is the ground state's, or with `rho_of_noisy_q` the
    half-filled Fermi sea of h(Q) for the noisy Q (as the published code of Ning et al.,
    arXiv 2412.06631, prepares its quenches).

    The noise of run k is drawn from numpy's generator seeded with `seeds[k]` (Q first, then
    P), so a run is the same whatever batch or device it is made in. Returns a batch
    (len(seeds), ...).
    """
    base = ground_state(params, device)
    n, batch = params.n_sites, len(seeds)
    generators = [np.random.default_rng(s) for s in seeds]
    noise = [np.stack([g.normal(0.0, 1.0, n) for g in generators]) if seeds else np.zeros((0, n))
             for _ in ("Q", "P")]
    Q = base.Q + q_noise * torch.as_tensor(noise[0], dtype=torch.float64, device=base.Q.device)
    P = base.P + p_noise * torch.as_tensor(noise[1], dtype=torch.float64, device=base.Q.device)
    if rho_of_noisy_q:
        rho = fermi_sea(hamiltonian(Q, params).to(torch.complex128), n / 2)
    else:
        rho = base.rho.expand(batch, -1, -1).clone()
    return State(Q, P, rho)


def _packed(state: State) -> torch.Tensor:
    """The state as one complex buffer y = (Q, P, vec ρ) (..., 2n + n²), as `_packed_rhs` reads it."""
    return torch.cat([state.Q.to(torch.complex128), state.P.to(torch.complex128),
                      state.rho.to(torch.complex128).flatten(-2)], -1)


def advance(state: State, params: HolsteinParams, h: float, steps, kernel: str = "auto") -> State:
    """`steps` RK4 steps of length h (an int, or one count per run of a batch (B,)): runs
    with fewer steps stop early and wait while the others go on, so one batched integration
    gives every run its own transient (e.g. the random phase of the published data).
    `kernel` as in `simulate`.
    """
    n = state.Q.shape[-1]
    counts = torch.as_tensor(steps, device=state.Q.device).expand(state.Q.shape[:-1])
    if _compiled(kernel, state.Q.device):
        y = _packed_real(state)
        holstein_kernel.advance(y, *_kernel_args(params, h), counts.reshape(-1).cpu())
        return _unpacked_real(y, state.Q.shape[:-1], n, torch.float64)
    slots = _hopping_slots(_table(params, state.Q.device))
    y = _packed(state)
    for step in range(int(counts.max()) if counts.numel() else 0):
        moving = (counts > step).unsqueeze(-1)
        y = torch.where(moving, _rk4_step(y.clone(), params, slots, n, h), y)
    return State(y[..., :n].real.clone(), y[..., n:2 * n].real.clone(), y[..., 2 * n:].unflatten(-1, (n, n)).clone())


def _compiled(kernel: str, device: torch.device) -> bool:
    """Whether to integrate with the compiled kernel: "auto" on the CPU where it compiles, "c" or "torch"."""
    if kernel not in ("auto", "c", "torch"):
        raise GraphqdError(f"kernel must be 'auto', 'c' or 'torch', got {kernel!r}")
    if kernel == "torch" or (kernel == "auto" and torch.device(device).type != "cpu"):
        return False
    if torch.device(device).type != "cpu":
        raise GraphqdError(f"kernel 'c' runs on the CPU only, the state is on {device}")
    if holstein_kernel.library() is None:
        if kernel == "c":
            raise GraphqdError("kernel 'c' needs a C compiler ($CC or cc) and a writable cache directory "
                               f"({holstein_kernel.cache_dir()})")
        return False
    return True


def _kernel_args(params: HolsteinParams, h: float) -> tuple:
    table = _table(params, torch.device("cpu"))
    return table.neighbour, table.weight, params.hopping, params.g, params.stiffness, params.mass, h


def _packed_real(state: State) -> torch.Tensor:
    """The state as the compiled kernel's rows (B, 2n + 2n²) float64: Q, P, ρ as (re, im) pairs."""
    n = state.Q.shape[-1]
    rho = torch.view_as_real(state.rho.to(torch.complex128).resolve_conj())
    return torch.cat([state.Q.to(torch.float64).reshape(-1, n), state.P.to(torch.float64).reshape(-1, n),
                      rho.reshape(-1, 2 * n * n)], -1).contiguous()


def _unpacked_real(y: torch.Tensor, batch: tuple, n: int, real: torch.dtype) -> State:
    """The state of the kernel rows y, as views of y where the dtypes already match."""
    cplx = torch.complex64 if real == torch.float32 else torch.complex128
    rho = torch.view_as_complex(y[:, 2 * n:].reshape(-1, n, n, 2)).to(cplx)
    return State(y[:, :n].to(real).reshape(*batch, n), y[:, n:2 * n].to(real).reshape(*batch, n),
                 rho.reshape(*batch, n, n))


def random_state(params: HolsteinParams, seed: int, q_scale: float = 1.0, p_scale: float = 1.0,
                 disorder: float = 2.0, device: torch.device | str = "cpu") -> State:
    """An "arbitrary nonequilibrium" state, for transfer tests of surrogates.

    Q_i ~ N(0, (q_scale·Q*)²) with Q* = g/K; P_i ~ N(0, (p_scale·mΩ·Q*)²); ρ the
    half-filled Fermi sea of h₀ + W_i with on-site disorder W_i ~ U(−disorder, disorder):
    a pure Slater determinant that is not stationary under h(Q).
    """
    rng = np.random.default_rng(seed)
    q_star = params.g / params.stiffness if params.g != 0 else 1.0
    Q = torch.as_tensor(rng.normal(0.0, q_scale * q_star, params.n_sites), dtype=torch.float64, device=device)
    P = torch.as_tensor(rng.normal(0.0, p_scale * params.omega * params.mass * q_star, params.n_sites),
                        dtype=torch.float64, device=device)
    W = torch.as_tensor(rng.uniform(-disorder, disorder, params.n_sites), dtype=torch.float64, device=device)
    h = hamiltonian(torch.zeros_like(W), params) + torch.diag(W)
    return State(Q, P, fermi_sea(h.to(torch.complex128), params.n_sites / 2))


def _packed_rhs(y: torch.Tensor, params: HolsteinParams, slots: list, n: int) -> torch.Tensor:
    """`rhs` on the packed state y = (Q, P, vec ρ) as one complex tensor (..., 2n + n²).

    One buffer makes every RK4 linear combination a single tensor operation, which is
    what dominates the cost for the small lattices of training data. ρ must be Hermitian:
    then ρA = (Aρ)†, so one neighbour gather gives the commutator, and the derivative is
    exactly Hermitian in floating point, so ρ stays exactly Hermitian along the run.
    """
    Q, P, rho = y[..., :n].real, y[..., n:2 * n].real, y[..., 2 * n:].unflatten(-1, (n, n))
    a_rho = hop_rows(rho, slots)
    q_diff = (Q.unsqueeze(-1) - Q.unsqueeze(-2)) * (1j * params.g)
    drho = q_diff * rho + (1j * params.hopping) * (a_rho - a_rho.mH)
    dQ = P / params.mass
    dP = params.g * (rho.diagonal(dim1=-2, dim2=-1).real - 0.5) - params.stiffness * Q
    return torch.cat([dQ, dP, drho.flatten(-2)], -1)


def _rk4_step(y: torch.Tensor, params: HolsteinParams, slots: list, n: int, h: float) -> torch.Tensor:
    k1 = _packed_rhs(y, params, slots, n)
    k2 = _packed_rhs(torch.add(y, k1, alpha=h / 2), params, slots, n)
    k3 = _packed_rhs(torch.add(y, k2, alpha=h / 2), params, slots, n)
    k4 = _packed_rhs(torch.add(y, k3, alpha=h), params, slots, n)
    k1.add_(k2, alpha=2).add_(k3, alpha=2).add_(k4)
    return y.add_(k1, alpha=h / 6)


def simulate(state: State, params: HolsteinParams, dt: float, n_steps: int, substeps: int = 8,
             record_dtype: torch.dtype | None = None,
             progress: Callable[[int], None] | None = None, kernel: str = "auto",
             record_band: int = -1) -> Trajectory:
    """Integrate the Ehrenfest equations with classical RK4 in float64/complex128.

    Args:
        state: initial State, batched over any leading dimensions.
        params: HolsteinParams with the coupling of the dynamics (g_final of a quench).
        dt: snapshot spacing; each snapshot takes `substeps` RK4 steps of dt/substeps.
        n_steps: number of snapshots after t = 0.
        record_dtype: real dtype of the recorded trajectory (float32 stores complex64 ρ);
            the integration itself always runs in float64.
        progress: called with 1 after each snapshot (e.g. a tqdm's `update`).
        kernel: "torch" (the tensor code), "c" (the compiled loop of `holstein_kernel`, CPU only:
            the same RK4 to round-off, without the per-operation cost that dominates small
            lattices) or "auto" (compiled on the CPU where a C compiler is present, else torch).
        record_band: r ≥ 0 records only the band of ρ, rho[..., i, r + s] = ρ_{i, i+s} for s = −r … r
            (the `rho_band` layout of `graphqd.data.density_band`; chains only), so a long run keeps
            O(n·r) per snapshot in memory instead of n² (a 10,001-snapshot run of 256 sites: 0.2 GB
            instead of 10.5 GB); the integration still evolves the whole ρ.

    Returns:
        Trajectory with t (T+1,), Q, P (..., T+1, n), rho (..., T+1, n, n) or its band (..., T+1, n, 2r+1),
        t = 0 included.
    """
    if substeps < 1 or n_steps < 0 or not dt > 0:
        raise GraphqdError(f"simulate needs dt > 0, n_steps >= 0 and substeps >= 1 (got {dt}, {n_steps}, {substeps})")
    real = record_dtype or torch.float64
    cplx = torch.complex64 if real == torch.float32 else torch.complex128
    batch, n = state.Q.shape[:-1], state.Q.shape[-1]
    device = state.Q.device
    Q = torch.empty(*batch, n_steps + 1, n, dtype=real, device=device)
    P = torch.empty_like(Q)
    if record_band >= 0:
        if len(params.shape) != 1:
            raise GraphqdError("simulate records the band of rho for chains only")
        columns, inside = band_slots(n, record_band, params.boundary == "periodic", device)

        def recorded(matrix):
            return matrix.gather(-1, columns.expand(*matrix.shape[:-1], -1)) * inside
    else:
        def recorded(matrix):
            return matrix
    rho = torch.empty(*batch, n_steps + 1, n, n if record_band < 0 else 2 * record_band + 1, dtype=cplx,
                      device=device)
    h = dt / substeps
    compiled = _compiled(kernel, device)
    if compiled:
        y, args = _packed_real(state), _kernel_args(params, h)
        counts = torch.full((y.shape[0],), substeps, dtype=torch.int64)
    else:
        y, slots = _packed(state), _hopping_slots(_table(params, device))
    for step in range(n_steps + 1):
        if step > 0:
            if compiled:
                holstein_kernel.advance(y, *args, counts)
            else:
                for _ in range(substeps):
                    y = _rk4_step(y, params, slots, n, h)
            if progress is not None:
                progress(1)
        if compiled:
            Q[..., step, :], P[..., step, :], matrix = _unpacked_real(y, batch, n, real)
        else:
            Q[..., step, :] = y[..., :n].real
            P[..., step, :] = y[..., n:2 * n].real
            matrix = y[..., 2 * n:].unflatten(-1, (n, n))
        rho[..., step, :, :] = recorded(matrix)
    t = torch.arange(n_steps + 1, dtype=torch.float64, device=device) * dt
    return Trajectory(t, Q, P, rho)
