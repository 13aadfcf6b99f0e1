"""Banded products and traces in the rows layout against dense matrix algebra."""
import pytest
import torch

from graphqd.physics import holstein
from graphqd.runtime import band_algebra


def _rows(X: torch.Tensor, radius: int, periodic: bool) -> torch.Tensor:
    """Dense (..., L, L) → rows (..., L, 2r + 1), by an explicit loop over the slots."""
    L = X.shape[-1]
    rows = torch.zeros(*X.shape[:-2], L, 2 * radius + 1, dtype=X.dtype)
    for i in range(L):
        for a in range(-radius, radius + 1):
            j = i + a
            if periodic and (a + L // 2) % L - L // 2 == a:
                rows[..., i, radius + a] = X[..., i, j % L]
            elif not periodic and 0 <= j < L:
                rows[..., i, radius + a] = X[..., i, j]
    return rows


def _banded(count: int, L: int, radius: int, periodic: bool, seed: int) -> torch.Tensor:
    """Random complex dense matrices that vanish outside the band d(i, j) ≤ radius."""
    X = torch.randn(count, L, L, dtype=torch.complex128, generator=torch.Generator().manual_seed(seed))
    i = torch.arange(L)
    d = (i[None, :] - i[:, None]).abs()
    if periodic:
        d = torch.minimum(d, L - d)
    return X * (d <= radius)


@pytest.mark.parametrize("L,rx,ry,radius,periodic", [(12, 2, 3, 4, True), (12, 2, 3, 2, True), (8, 4, 4, 4, True),
                                                      (9, 3, 2, 5, True), (10, 2, 3, 3, False), (7, 1, 1, 2, False)])
def test_banded_product_and_trace_equal_the_dense_ones(L, rx, ry, radius, periodic):
    X, Y = _banded(3, L, rx, periodic, 0), _banded(3, L, ry, periodic, 1)
    product = band_algebra.matmul(_rows(X, rx, periodic), _rows(Y, ry, periodic), radius, periodic)
    torch.testing.assert_close(product, _rows(X @ Y, radius, periodic), rtol=0, atol=1e-12)
    trace = band_algebra.trace_of_product(_rows(X, rx, periodic), _rows(Y, ry, periodic), periodic)
    torch.testing.assert_close(trace, torch.einsum("cij,cji->c", X, Y), rtol=0, atol=1e-12)


@pytest.mark.parametrize("L,radius,periodic", [(12, 3, True), (8, 4, True), (10, 2, False)])
def test_banded_matvec_adjoint_and_spectral_radius_equal_the_dense_ones(L, radius, periodic):
    X = _banded(3, L, radius, periodic, 2)
    X = X + X.mH                                                     # Hermitian, as σ = 2ρ − 1
    v = torch.randn(3, L, dtype=torch.complex128, generator=torch.Generator().manual_seed(4))
    rows = _rows(X, radius, periodic)
    torch.testing.assert_close(band_algebra.matvec(rows, v), torch.einsum("cij,cj->ci", X, v), rtol=0, atol=1e-12)
    Z = _banded(3, L, radius, periodic, 5)                          # not Hermitian
    adjoint = band_algebra.adjoint(_rows(Z, radius, periodic), periodic)
    torch.testing.assert_close(adjoint, _rows(Z.mH, radius, periodic), rtol=0, atol=0)
    exact = torch.linalg.eigvalsh(X).abs().amax(-1)
    estimate = band_algebra.spectral_radius(rows, iterations=300)
    assert bool((estimate <= exact + 1e-12).all())                  # a lower bound ...
    torch.testing.assert_close(estimate, exact, rtol=1e-3, atol=0)   # ... that converges


@pytest.mark.parametrize("L,boundary", [(10, "periodic"), (9, "open")])
def test_hamiltonian_rows_are_the_dense_hamiltonian(L, boundary):
    params = holstein.HolsteinParams(L=L, g=1.3, hopping=0.7, boundary=boundary)
    Q = torch.randn(2, L, dtype=torch.float64)
    rows = band_algebra.hopping_rows(Q, params.hopping, params.g, boundary == "periodic")
    dense = holstein.hamiltonian(Q, params).to(torch.complex128)
    torch.testing.assert_close(rows, _rows(dense, 1, boundary == "periodic"), rtol=0, atol=1e-14)
