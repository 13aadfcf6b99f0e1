"""The Ehrenfest equations of `graphqd.physics.holstein` on a chain with ρ kept on a band: the exact rules, no closure.

ρ is held as the rows of its band of radius r (the `rho_band` layout of `graphqd.data.density_band`),
B[..., i, r + s] = ρ_{i, i+s} for s = −r … r (i + s modulo L on a ring), and evolved by the band of the
exact right-hand side (Eqs. (2)–(4) of arXiv 2412.06631, h = −tA − g diag Q):

    dB_{i,s}/dt = i t (ρ_{i+1, i+s} + ρ_{i−1, i+s} − ρ_{i, i+s+1} − ρ_{i, i+s−1}) + i g (Q_i − Q_{i+s}) ρ_{i, i+s},

where entries outside the band read as 0, so the entries at |s| = r + 1 that −i[h, ρ] would create are
dropped at every evaluation. This is the dynamics of a band surrogate that has learned the exact rules and
no closure for what leaves its band (the floor `experiments/holstein_parc/band_truncation.py` measures by
cutting a dense run). dQ/dt and dP/dt read ρ_ii, and the energy and Tr ρ read ρ_ii and the bonds ρ_{i,i±1},
whose derivatives the cut leaves exact (r ≥ 1), so energy and trace are conserved up to the RK4 error;
Hermiticity is kept to round-off; purity (ρ² = ρ) is not. Cost O(L·r) per step instead of O(L²).

Shapes: Q, P (..., L) float64; band (..., L, 2r + 1) complex128.
"""
from __future__ import annotations

from typing import Callable

import torch

from graphqd.errors import GraphqdError
from graphqd.physics.holstein import HolsteinParams, Trajectory
from graphqd.physics.lattice import band_slots


def check_band(params: HolsteinParams, radius: int) -> bool:
    """Whether the chain is periodic; raises unless a band of `radius` ≥ 1 leaves entries out of the chain."""
    if len(params.shape) != 1:
        raise GraphqdError("the band dynamics is for chains only (HolsteinParams.L an int)")
    periodic, L = params.boundary == "periodic", params.n_sites
    if radius < 1 or (2 * radius + 2 > L if periodic else radius + 1 > L - 1):
        raise GraphqdError(f"a band of radius {radius} needs 1 <= r and 2r + 2 <= L on a ring (r <= L - 2 open); "
                           f"L = {L}: integrate ρ dense with graphqd.physics.holstein.simulate")
    return periodic


def band_rows(rho: torch.Tensor, radius: int, params: HolsteinParams) -> torch.Tensor:
    """The band of radius r of dense ρ (..., L, L) as rows (..., L, 2r + 1), slots beyond an open chain's ends 0."""
    columns, inside = band_slots(params.n_sites, radius, check_band(params, radius), rho.device)
    return rho.gather(-1, columns.expand(*rho.shape[:-2], -1, -1)) * inside


def rhs(Q: torch.Tensor, P: torch.Tensor, band: torch.Tensor, params: HolsteinParams,
        columns: torch.Tensor, inside: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dQ/dt, dP/dt, dB/dt) of the banded equations; `columns`, `inside` from `band_slots`."""
    # rows i + 1 and i − 1; on an open chain the rows rolled round its ends land on slots beyond them, which are 0
    up, down = torch.roll(band, -1, dims=-2), torch.roll(band, 1, dims=-2)
    hop = torch.zeros_like(band)                    # (Aρ − ρA)_{i, i+s}
    hop[..., 1:] += up[..., :-1] - band[..., :-1]   # ρ_{i+1, i+s} − ρ_{i, i+s−1}
    hop[..., :-1] += down[..., 1:] - band[..., 1:]  # ρ_{i−1, i+s} − ρ_{i, i+s+1}
    q_diff = Q.unsqueeze(-1) - Q[..., columns]      # Q_i − Q_{i+s}
    dband = (1j * params.hopping * hop + (1j * params.g) * q_diff * band) * inside
    radius = band.shape[-1] // 2
    dP = params.g * (band[..., radius].real - 0.5) - params.stiffness * Q
    return P / params.mass, dP, dband


def simulate(Q: torch.Tensor, P: torch.Tensor, band: torch.Tensor, params: HolsteinParams, dt: float,
             n_steps: int, substeps: int = 8, record_dtype: torch.dtype | None = None, record_band: int | None = None,
             progress: Callable[[int], None] | None = None) -> Trajectory:
    """RK4 of the banded equations: snapshots every dt (each `substeps` RK4 steps), t = 0 included.

    Args:
        record_dtype: real dtype of the recorded trajectory (float32: complex64 ρ); the integration runs in float64.
        record_band: radius of the band of ρ recorded (default: the whole band r of the integration).
        progress: called with 1 after each snapshot.

    Returns a Trajectory whose rho is the recorded band, (..., T+1, L, 2k + 1) for k = record_band, as
    `holstein.simulate(..., record_band=k)` records it.
    """
    radius = band.shape[-1] // 2
    periodic = check_band(params, radius)
    kept = radius if record_band is None else record_band
    if not 0 <= kept <= radius:
        raise GraphqdError(f"record_band = {record_band} must lie between 0 and the band radius {radius}")
    if substeps < 1 or n_steps < 0 or not dt > 0:
        raise GraphqdError(f"simulate needs dt > 0, n_steps >= 0 and substeps >= 1 (got {dt}, {n_steps}, {substeps})")
    columns, inside = band_slots(params.n_sites, radius, periodic, band.device)
    y = (Q.to(torch.float64), P.to(torch.float64), band.to(torch.complex128) * inside)
    real = record_dtype or torch.float64
    batch, L = Q.shape[:-1], params.n_sites
    Qs = torch.empty(*batch, n_steps + 1, L, dtype=real, device=Q.device)
    Ps = torch.empty_like(Qs)
    bands = torch.empty(*batch, n_steps + 1, L, 2 * kept + 1, device=Q.device,
                        dtype=torch.complex64 if real == torch.float32 else torch.complex128)
    h = dt / substeps

    def shifted(state, rate, factor):
        return tuple(x + factor * k for x, k in zip(state, rate))

    for step in range(n_steps + 1):
        if step:
            for _ in range(substeps):
                k1 = rhs(*y, params, columns, inside)
                k2 = rhs(*shifted(y, k1, h / 2), params, columns, inside)
                k3 = rhs(*shifted(y, k2, h / 2), params, columns, inside)
                k4 = rhs(*shifted(y, k3, h), params, columns, inside)
                y = tuple(x + (h / 6) * (a + 2 * b + 2 * c + d) for x, a, b, c, d in zip(y, k1, k2, k3, k4))
            if progress is not None:
                progress(1)
        Qs[..., step, :], Ps[..., step, :] = y[0], y[1]
        bands[..., step, :, :] = y[2][..., radius - kept:radius + kept + 1]
    t = torch.arange(n_steps + 1, dtype=torch.float64, device=Q.device) * dt
    return Trajectory(t, Qs, Ps, bands)
