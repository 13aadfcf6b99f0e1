"""BandPurity: one band-truncated purification step against dense matrix algebra, and through --conserve."""
import pytest
import torch

from graphqd import keys as K
from graphqd.graphs.holstein import HolsteinGraphSpec, band_to_dense, dense_to_band
from graphqd.physics import holstein
from graphqd.runtime.band_purity import BandPurity
from graphqd.runtime.conservation import invariant_projection
from graphqd.runtime.rollout import rollout


def _noisy_slater(L: int, band_radius: int, count: int = 2, noise: float = 0.02):
    """Fermi seas of h(Q) for random Q with a Hermitian perturbation, on the band of radius band_radius."""
    params = holstein.HolsteinParams(L=L, g=2.0)
    generator = torch.Generator().manual_seed(L)
    Q = 2 * torch.randn(count, L, dtype=torch.float64, generator=generator)
    rho = holstein.fermi_sea(holstein.hamiltonian(Q, params), L / 2).to(torch.complex128)
    H = torch.randn(count, L, L, dtype=torch.complex128, generator=generator)
    spec = HolsteinGraphSpec(band_radius=band_radius)
    band = dense_to_band(rho + noise * (H + H.mH) / 2, L, True, spec)
    return params, spec, {K.Q: Q.reshape(-1), K.P: torch.zeros(count * L, dtype=torch.float64),
                          K.RHO: band.reshape(-1, 2)}


@pytest.mark.parametrize("strength", [1.0, 0.5])
def test_purification_is_the_band_of_the_polynomial_of_the_banded_matrix_with_the_number_kept(strength):
    for L, radius in ((8, 4), (40, 3)):
        params, spec, state = _noisy_slater(L, radius)
        purity = BandPurity(L, True, spec, strength=strength)
        number = torch.full((2,), L / 2, dtype=torch.float64)
        out = purity.project(state, number)
        rho = band_to_dense(state[K.RHO].reshape(2, -1, 2), L, True, spec)     # zero outside the band
        sigma = 2 * rho - torch.eye(L, dtype=rho.dtype)
        cube = sigma @ sigma @ sigma
        step = strength * (4 * cube @ sigma @ sigma - 5 * cube + sigma) / 6
        purified = (sigma - step + torch.eye(L, dtype=rho.dtype)) / 2
        expected = dense_to_band(purified, L, True, spec)
        shift = (number - purified.diagonal(dim1=-2, dim2=-1).real.sum(-1)) / L
        diagonal = band_to_dense(torch.ones_like(expected), L, True, spec).diagonal(dim1=-2, dim2=-1) != 0
        expected[..., 0] += shift[:, None] * dense_to_band(torch.diag_embed(diagonal.double()).to(
            torch.complex128), L, True, spec)[..., 0]
        torch.testing.assert_close(out[K.RHO].reshape(2, -1, 2), expected, rtol=0, atol=1e-12)
        torch.testing.assert_close(purity.number(out), number, rtol=0, atol=1e-12)


@pytest.mark.parametrize("strength", [1.0, 0.5])
def test_purification_pulls_occupations_back_to_zero_and_one_fast_and_to_one_half_slowly(strength):
    """A distance x from 0 or 1 goes to (1 − α) x + α (25/3) x² + O(x³) (quadratic for the whole step), a
    distance y from ½ to (1 − α/6) y + O(y³)."""
    L, spec = 8, HolsteinGraphSpec(band_radius=4)
    unitary = torch.linalg.qr(torch.randn(L, L, dtype=torch.complex128, generator=torch.Generator().manual_seed(3)))[0]
    occupations = torch.tensor([-0.03, 0.02, 0.04, 0.47, 0.55, 0.97, 0.99, 1.02], dtype=torch.float64)
    rho = (unitary * occupations.to(unitary.dtype)) @ unitary.mH
    state = {K.Q: torch.zeros(L, dtype=torch.float64), K.P: torch.zeros(L, dtype=torch.float64),
             K.RHO: dense_to_band(rho, L, True, spec)}
    purity = BandPurity(L, True, spec, strength=strength)
    after = torch.linalg.eigvalsh(band_to_dense(purity.project(state, purity.number(state))[K.RHO][None], L, True,
                                                spec)[0])
    outer = torch.cat([occupations[:3], 1 - occupations[5:]]).abs().max()
    outer_after = torch.cat([after[:3], 1 - after[5:]]).abs().max()
    x = float(outer)
    assert (1 - strength) * x <= float(outer_after) < (1 - strength) * x + strength * 9 * x ** 2
    half, half_after = (occupations[3:5] - 0.5).abs().max(), (after[3:5] - 0.5).abs().max()
    slope = 1 - strength / 6
    assert (slope - 0.05) * float(half) < float(half_after) < (slope + 0.05) * float(half)


def test_conserve_purity_band_keeps_a_drifting_model_bounded_on_a_long_chain():
    params, spec, state = _noisy_slater(40, 3, count=1, noise=0.0)
    params = holstein.HolsteinParams(L=40, g=2.0)

    def inflating_model(batch, s):   # a "surrogate" that scales ρ up by 2 % each step
        return dict(s, **{K.RHO: s[K.RHO] * 1.02})

    make = invariant_projection(("purity-band", "energy-band"), params, spec)
    held = rollout(inflating_model, None, state, 50, constraint=make(state))
    bare = rollout(inflating_model, None, state, 50)
    occupations = lambda s: band_to_dense(s[K.RHO].reshape(1, -1, 2), 40, True, spec).diagonal(  # noqa: E731
        dim1=-2, dim2=-1).real
    assert float(occupations(bare[-1]).max()) > 1.5
    assert -0.05 < float(occupations(held[-1]).min()) and float(occupations(held[-1]).max()) < 1.05
    torch.testing.assert_close(occupations(held[-1]).sum(), torch.tensor(20.0, dtype=torch.float64))


def test_an_occupation_far_outside_zero_one_returns_to_its_own_basin_without_overshoot():
    """σ = 1.6 (occupation 1.3): the uncapped half step sends it to −0.32 (occupation 0.34, the basin of ½) and
    σ > 1.76 diverges; the capped step moves each eigenvalue towards ±1 by at most twice its distance."""
    L, spec = 8, HolsteinGraphSpec(band_radius=4)
    unitary = torch.linalg.qr(torch.randn(L, L, dtype=torch.complex128, generator=torch.Generator().manual_seed(5)))[0]
    for outlier in (1.3, 1.6):
        occupations = torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, outlier], dtype=torch.float64)
        state = {K.Q: torch.zeros(L, dtype=torch.float64), K.P: torch.zeros(L, dtype=torch.float64),
                 K.RHO: dense_to_band((unitary * occupations.to(unitary.dtype)) @ unitary.mH, L, True, spec)}
        purity, number = BandPurity(L, True, spec), torch.tensor([4.0], dtype=torch.float64)
        distance = outlier - 1
        for _ in range(100):
            state = purity.project(state, number)
            after = torch.linalg.eigvalsh(band_to_dense(state[K.RHO][None], L, True, spec)[0])
            assert float(after.max() - 1) < 0.05 + distance and float(after.min()) > -0.05 - distance
            distance = max(float(after.max() - 1), float(-after.min()), 0.0)
        torch.testing.assert_close(after, occupations.clamp(max=1), rtol=0, atol=1e-3)


def test_purification_returns_a_hermitian_band_from_a_slightly_non_hermitian_one():
    """An anti-Hermitian part (round-off in a long rollout) is dropped, not amplified: without it a 256-site
    held-out rollout of the committed deep model blew up at step 7,354 (experiment 8c)."""
    for L, radius in ((8, 4), (40, 3)):
        params, spec, state = _noisy_slater(L, radius)
        rows = band_to_dense(state[K.RHO].reshape(2, -1, 2), L, True, spec)
        skew = 1e-3 * torch.randn(2, L, L, dtype=torch.complex128, generator=torch.Generator().manual_seed(9))
        state[K.RHO] = dense_to_band(rows + (skew - skew.mH) / 2, L, True, spec).reshape(-1, 2)
        out = band_to_dense(BandPurity(L, True, spec).project(state, torch.full((2,), L / 2, dtype=torch.float64))[
            K.RHO].reshape(2, -1, 2), L, True, spec)
        assert float((out - out.mH).abs().max()) == 0.0
