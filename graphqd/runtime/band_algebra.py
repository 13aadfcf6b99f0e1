"""Products and traces of banded matrices on a chain, in O(L · r_X · r_Y).

A banded matrix X of radius r is held as rows (the `rho_band` layout of
`graphqd.data.density_band`, `graphqd.graphs.holstein.band_to_rows`):

    X[..., i, r + a] = X_{i, i+a},   a = −r … r,

i + a taken modulo L on a periodic chain (minimum image, so on a ring with 2r + 1 > L each
entry has one slot and the others stay 0) and slots beyond an open chain's ends 0. The
product Z = XY has entries

    Z_{i, i+d} = Σ_a X_{i, i+a} Y_{i+a, i+d},   d = a + b for the slot b = d − a of Y,

so each slot a of X multiplies the rows of Y shifted by a (a `roll` along the sites); Z is
kept up to the radius the caller asks for (`radius`), the band truncation of the exact
product. Tr(XY) = Σ_i Σ_a X_{i, i+a} Y_{i+a, i}. Used by the band-local projections of
`graphqd.runtime.energy_shell`, which must not build L × L matrices.

Shapes: rows (..., L, 2r + 1) complex, sites on dim −2.
"""
from __future__ import annotations

import torch
from torch import Tensor


def _slots(L: int, radius: int, periodic: bool, device) -> Tensor:
    """Which of the offsets d = −r … r are slots of a matrix on this chain, (L, 2r + 1)."""
    d = torch.arange(-radius, radius + 1, device=device)
    i = torch.arange(L, device=device)[:, None]
    if periodic:
        valid = ((d + L // 2) % L - L // 2 == d)[None, :].expand(L, -1)
    else:
        valid = (i + d >= 0) & (i + d < L)
    return valid


def matmul(X: Tensor, Y: Tensor, radius: int, periodic: bool) -> Tensor:
    """The band of radius `radius` of the product XY of two banded matrices (rows layout)."""
    L, rx, ry = X.shape[-2], X.shape[-1] // 2, Y.shape[-1] // 2
    out = X.new_zeros(*torch.broadcast_shapes(X.shape[:-2], Y.shape[:-2]), L, 2 * radius + 1)
    b = torch.arange(-ry, ry + 1, device=X.device)
    for a in range(-rx, rx + 1):
        d = a + b
        if periodic:
            d = (d + L // 2) % L - L // 2
        keep = d.abs() <= radius
        if not keep.any():
            continue
        shifted = torch.roll(Y, -a, dims=-2)[..., keep]           # Y_{i+a, i+a+b}
        out.index_add_(-1, d[keep] + radius, X[..., a + rx, None] * shifted)
    return out * _slots(L, radius, periodic, X.device)


def commutator(X: Tensor, Y: Tensor, radius: int, periodic: bool) -> Tensor:
    """The band of radius `radius` of [X, Y] = XY − YX (rows layout)."""
    return matmul(X, Y, radius, periodic) - matmul(Y, X, radius, periodic)


def trace_of_product(X: Tensor, Y: Tensor, periodic: bool) -> Tensor:
    """Tr(XY) of banded matrices (rows layout), shape (...)."""
    L, rx, ry = X.shape[-2], X.shape[-1] // 2, Y.shape[-1] // 2
    total = X.new_zeros(torch.broadcast_shapes(X.shape[:-2], Y.shape[:-2]))
    for a in range(-rx, rx + 1):
        back = (L // 2 - a) % L - L // 2 if periodic else -a   # slot of Y_{i+a, i}
        if abs(back) > ry:
            continue
        total = total + (X[..., a + rx] * torch.roll(Y[..., back + ry], -a, dims=-1)).sum(-1)
    return total


def adjoint(X: Tensor, periodic: bool) -> Tensor:
    """X† of a banded matrix (rows layout): X†_{i, i+a} = conj(X_{i+a, i}), X_{i+a, i} in the slot of offset −a
    (its minimum image on a ring)."""
    L, r = X.shape[-2], X.shape[-1] // 2
    back = [(L // 2 - a) % L - L // 2 if periodic else -a for a in range(-r, r + 1)]   # the slot of −a
    Y = torch.stack([torch.roll(X[..., r + b], -a, dims=-1) for a, b in zip(range(-r, r + 1), back)], -1).conj()
    return Y * _slots(L, r, periodic, X.device)


def matvec(X: Tensor, v: Tensor) -> Tensor:
    """Xv of a banded matrix (rows layout) and vectors v (..., L): (Xv)_i = Σ_a X_{i, i+a} v_{i+a}."""
    r = X.shape[-1] // 2
    return sum(X[..., a + r] * torch.roll(v, -a, dims=-1) for a in range(-r, r + 1))


def spectral_radius(X: Tensor, iterations: int = 30) -> Tensor:
    """max |λ| of a Hermitian banded matrix (rows layout), (...) float: ‖X v_k‖ after `iterations` power
    iterations v_k = X v_{k−1}/‖X v_{k−1}‖ from a fixed random start, a lower bound that converges to it."""
    start = torch.randn(X.shape[-2], generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    v = start.to(X.device, X.dtype).expand(X.shape[:-1])
    norm = torch.linalg.vector_norm(v, dim=-1)
    for _ in range(iterations):
        w = matvec(X, v / norm[..., None])
        norm, v = torch.linalg.vector_norm(w, dim=-1).clamp_min(torch.finfo(norm.dtype).tiny), w
    return norm


def hopping_rows(Q: Tensor, hopping: float, g: float, periodic: bool) -> Tensor:
    """The Holstein single-particle Hamiltonian h(Q) = −t A − g diag(Q) as rows of radius 1, (..., L, 3)."""
    L = Q.shape[-1]
    h = torch.zeros(*Q.shape, 3, dtype=torch.complex128 if Q.dtype == torch.float64 else torch.complex64,
                    device=Q.device)
    h[..., 0], h[..., 2], h[..., 1] = -hopping, -hopping, -g * Q
    return h * _slots(L, 1, periodic, Q.device)
