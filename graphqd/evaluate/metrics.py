"""Metrics of surrogate rollouts (DESIGN.md §6), on numpy arrays or torch tensors.

Paper metrics of arXiv 2412.06631: RMSE_Q = √(Σ_i (Q̂_i − Q_i)²/L) (likewise P) and
RMSE_ρ = √(Σ_ij |ρ̂_ij − ρ_ij|²/L²); of arXiv 2203.10200: MAE and the normalised
correlation |Σ ψ̂*ψ| / (‖ψ̂‖ ‖ψ‖); for climate statistics the normalised autocorrelation
pooled over runs and time, the Wasserstein-1 distance of marginals, invariant drift and
the valid prediction time.
"""
from __future__ import annotations

import numpy as np


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def rmse_sites(prediction, truth) -> np.ndarray:
    """√(Σ_i |Δ_i|²/L) over the last axis: (..., L) → (...)."""
    d = _np(prediction) - _np(truth)
    return np.sqrt((np.abs(d) ** 2).sum(-1) / d.shape[-1])


def rmse_matrix(prediction, truth) -> np.ndarray:
    """√(Σ_ij |Δ_ij|²/L²) over the last two axes: (..., L, L) → (...)."""
    d = _np(prediction) - _np(truth)
    return np.sqrt((np.abs(d) ** 2).sum((-1, -2)) / (d.shape[-1] * d.shape[-2]))


def mae(prediction, truth) -> np.ndarray:
    """Mean |ψ̂ − ψ| over the last axis: (..., X) → (...)."""
    return np.abs(_np(prediction) - _np(truth)).mean(-1)


def mae_components(prediction, truth) -> np.ndarray:
    """Mean over the last axis of (|Δ Re ψ| + |Δ Im ψ|)/2, as the published code of arXiv 2203.10200
    computes its MAE (its Eq. 9 writes the modulus, `mae`): (..., X) complex → (...)."""
    d = _np(prediction) - _np(truth)
    return ((np.abs(d.real) + np.abs(d.imag)) / 2).mean(-1)


def normalized_correlation(prediction, truth) -> np.ndarray:
    """|Σ ψ̂* ψ| / (‖ψ̂‖ ‖ψ‖) over the last axis: (..., X) → (...); 1 for identical shapes."""
    a, b = _np(prediction), _np(truth)
    overlap = np.abs((np.conj(a) * b).sum(-1))
    return overlap / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-300)


def autocorrelation(series, max_lag: int) -> np.ndarray:
    """C(τ) = (⟨x_t x_{t+τ}⟩ − ⟨x⟩²)/(⟨x²⟩ − ⟨x⟩²) pooled over runs and time, τ = 0 … max_lag.

    Args:
        series: (runs, T) or (T,); ⟨·⟩ averages over every run and every valid t.
    """
    x = np.atleast_2d(_np(series)).astype(np.float64)
    max_lag = min(int(max_lag), x.shape[1] - 1)
    mean, var = x.mean(), x.var()
    if var == 0:
        return np.ones(max_lag + 1)
    return np.array([((x[:, :x.shape[1] - tau] * x[:, tau:]).mean() - mean ** 2) / var
                     for tau in range(max_lag + 1)])


def wasserstein1(a, b) -> float:
    """Wasserstein-1 distance ∫|F_a(x) − F_b(x)| dx between the empirical distributions of a and b."""
    a, b = np.sort(_np(a).ravel()), np.sort(_np(b).ravel())
    grid = np.sort(np.concatenate([a, b]))
    cdf_a = np.searchsorted(a, grid[:-1], side="right") / a.size
    cdf_b = np.searchsorted(b, grid[:-1], side="right") / b.size
    return float((np.abs(cdf_a - cdf_b) * np.diff(grid)).sum())


def invariant_drift(values) -> np.ndarray:
    """max_t |x(t) − x(0)| along the last axis (time): (..., T) → (...)."""
    v = _np(values)
    return np.abs(v - v[..., :1]).max(-1)


def valid_time(errors, threshold: float, dt: float) -> np.ndarray:
    """Time before the error first exceeds `threshold`: errors (..., steps) at t = dt, 2dt, …
    → (...); the whole horizon steps·dt where it never does. A non-finite error (a rollout
    that blew up) counts as exceeding it."""
    e = _np(errors)
    above = ~(e <= threshold)
    first = np.where(above.any(-1), above.argmax(-1), e.shape[-1])
    return first * dt


def nucleation_time(polaron_fraction, t, level: float) -> float | None:
    """The first time t at which the polaron fraction (|Q_i| > 1; a series over t) reaches `level` (for the deep
    quench, half its late mean); None where it never does or level ≤ 0."""
    reached = np.flatnonzero(_np(polaron_fraction) >= level) if level > 0 else []
    return float(_np(t)[reached[0]]) if len(reached) else None
