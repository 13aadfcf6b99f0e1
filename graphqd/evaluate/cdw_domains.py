"""CDW domain observables of the biased Holstein lattice (Zhang, Fan, Chern, arXiv 2201.02194).

Q has shape (..., Ly, Lx) (any leading dims, e.g. runs and time). The column-resolved order
parameter phi(x) = |sum_y (-1)^(x+y) Q_{y,x}| / Ly is ~Q0 in the insulating CDW and ~0 in
the metal; the metal-insulator domain wall sits where phi crosses half its bulk value.
"""
from __future__ import annotations

import torch

__all__ = ["column_order_parameter", "bulk_order_parameter", "domain_wall_position",
           "domain_wall_velocity", "metallic_fraction", "transport_current"]


def column_order_parameter(Q: torch.Tensor) -> torch.Tensor:
    """phi(x) = |sum_y (-1)^(x+y) Q_{y,x}| / Ly. Shape (..., Ly, Lx) -> (..., Lx)."""
    Ly, Lx = Q.shape[-2:]
    y = torch.arange(Ly, device=Q.device)[:, None]
    x = torch.arange(Lx, device=Q.device)[None, :]
    sign = (1 - 2 * ((x + y) % 2)).to(Q.dtype)
    return (Q * sign).sum(-2).abs() / Ly


def bulk_order_parameter(phi: torch.Tensor) -> torch.Tensor:
    """Bulk value of a column profile: the median over columns. Shape (..., Lx) -> (...)."""
    return phi.median(dim=-1).values


def domain_wall_position(phi: torch.Tensor, bulk, side: str = "left") -> torch.Tensor:
    """Position of the metal-insulator wall grown from the `side` electrode: scanning from that
    electrode, the first x where phi(x) rises through bulk/2, linearly interpolated between
    columns, measured in columns from x = 0. A profile already insulating at the electrode
    gives -0.5 (left) / Lx - 0.5 (right); a fully metallic one the opposite end.
    Shapes: phi (..., Lx), bulk float or (...) -> (...)."""
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    Lx = phi.shape[-1]
    if side == "right":
        return (Lx - 1) - domain_wall_position(phi.flip(-1), bulk, "left")
    half = 0.5 * torch.as_tensor(bulk, dtype=phi.dtype, device=phi.device)[..., None]
    insulating = phi >= half
    # index of the first insulating column (Lx if none)
    idx = torch.where(insulating.any(-1), insulating.to(torch.int64).argmax(-1),
                      torch.full(phi.shape[:-1], Lx, device=phi.device))
    prev = (idx - 1).clamp(min=0)
    cur = idx.clamp(max=Lx - 1)
    p0 = phi.gather(-1, prev[..., None])[..., 0]
    p1 = phi.gather(-1, cur[..., None])[..., 0]
    h = half[..., 0].expand_as(p0)
    frac = ((h - p0) / (p1 - p0).clamp(min=1e-12)).clamp(0, 1)
    pos = prev.to(phi.dtype) + frac
    pos = torch.where(idx == 0, torch.full_like(pos, -0.5), pos)
    return torch.where(idx == Lx, torch.full_like(pos, Lx - 0.5), pos)


def domain_wall_velocity(t: torch.Tensor, position: torch.Tensor, lo: float | None = None,
                         hi: float | None = None) -> torch.Tensor:
    """Least-squares slope d(position)/dt over the records where lo < position < hi (the wall
    is inside the sample; defaults: strictly between the electrodes). Shapes: t (T,),
    position (..., T) -> (...); NaN where fewer than two records qualify."""
    Lx_end = position.max() if hi is None else hi
    lo = 0.0 if lo is None else lo
    hi = float(Lx_end) if hi is None else hi
    t = t.to(position.dtype).expand_as(position)
    mask = ((position > lo) & (position < hi)).to(position.dtype)
    count = mask.sum(-1)
    tm = (t * mask).sum(-1) / count.clamp(min=1)
    xm = (position * mask).sum(-1) / count.clamp(min=1)
    cov = ((t - tm[..., None]) * (position - xm[..., None]) * mask).sum(-1)
    var = ((t - tm[..., None]) ** 2 * mask).sum(-1)
    slope = cov / var.clamp(min=1e-300)
    return torch.where(count >= 2, slope, torch.full_like(slope, float("nan")))


def metallic_fraction(phi: torch.Tensor, bulk) -> torch.Tensor:
    """Fraction of columns with phi < bulk/2. Shape (..., Lx) -> (...)."""
    half = 0.5 * torch.as_tensor(bulk, dtype=phi.dtype, device=phi.device)[..., None]
    return (phi < half).to(phi.dtype).mean(-1)


def transport_current(current_left: torch.Tensor, current_right: torch.Tensor) -> torch.Tensor:
    """I(t) = (I_L - I_R) / 2, the current through the sample (equals I_L in a steady state)."""
    return 0.5 * (current_left - current_right)
