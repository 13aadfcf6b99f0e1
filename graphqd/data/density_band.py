"""ρ in Holstein stores, dense or as a band (DESIGN.md §2.2).

A dense store holds `rho` (runs, T, L, L). A band store holds only the entries a banded model
carries, ρ_ij with chain distance d(i, j) ≤ r, as `rho_band` (runs, T, L, 2r + 1) with

    rho_band[..., i, r + s] = ρ_{i, i+s},   s = −r … r,

(i + s taken modulo L on periodic chains; entries beyond an open chain's ends are 0) and the
radius r in the attribute `rho_band_radius`. At L = 1024 and r = 4 that is 114× smaller than
dense. Readers use `read_density` (dense, zeros outside the band) or `read_occupations`
(n_i = ρ_ii, without building L × L matrices).
"""
from __future__ import annotations

import numpy as np

from graphqd.errors import StoreError
from graphqd.physics.lattice import band_slots

DENSE, BAND = "rho", "rho_band"
RADIUS_ATTR = "rho_band_radius"


def _columns(L: int, radius: int, periodic: bool) -> tuple[np.ndarray, np.ndarray]:
    """Column j = i + s of every band slot (L, 2r + 1), and which slots exist (open chains)."""
    return tuple(x.numpy() for x in band_slots(L, radius, periodic))


def check_radius(L: int, radius: int) -> None:
    if not 0 <= radius or 2 * radius + 1 > L:
        raise StoreError(f"a band of radius {radius} does not fit a chain of {L} sites (2r + 1 <= L); store ρ dense")


def to_band(rho: np.ndarray, radius: int, periodic: bool) -> np.ndarray:
    """(..., L, L) → (..., L, 2r + 1)."""
    L = rho.shape[-1]
    check_radius(L, radius)
    columns, inside = _columns(L, radius, periodic)
    band = np.take_along_axis(rho, np.broadcast_to(columns, rho.shape[:-2] + columns.shape), -1)
    return np.where(inside, band, 0)


def to_dense(band: np.ndarray, periodic: bool) -> np.ndarray:
    """(..., L, 2r + 1) → (..., L, L), zeros outside the band."""
    L, width = band.shape[-2:]
    columns, inside = _columns(L, width // 2, periodic)
    dense = np.zeros(band.shape[:-1] + (L + 1,), dtype=band.dtype)  # slots beyond an open chain go to column L
    np.put_along_axis(dense, np.broadcast_to(np.where(inside, columns, L), band.shape), band, -1)
    return dense[..., :L]


def read_density(handle, run: int, frames=slice(None)) -> np.ndarray:
    """ρ of snapshots `frames` of one run, dense (T, L, L), from either layout."""
    if DENSE in handle:
        return handle[DENSE][run, frames]
    if BAND in handle:
        return to_dense(handle[BAND][run, frames], str(handle.attrs["boundary"]) == "periodic")
    raise StoreError(f"'{handle.filename}' holds no density matrix ('{DENSE}' or '{BAND}')")


def read_occupations(handle, run: int, frames=slice(None)) -> np.ndarray:
    """n_i = ρ_ii of snapshots `frames` of one run (T, L), from either layout."""
    if DENSE in handle:
        return handle[DENSE][run, frames].diagonal(axis1=-2, axis2=-1).real
    if BAND in handle:
        radius = int(handle.attrs[RADIUS_ATTR])
        return handle[BAND][run, frames][..., radius].real
    raise StoreError(f"'{handle.filename}' holds no density matrix ('{DENSE}' or '{BAND}')")
