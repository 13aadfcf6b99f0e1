"""Isospectral: the projection of band-stored density matrices onto a fixed spectrum."""
import pytest
import torch

from graphqd import keys as K
from graphqd.errors import GraphqdError
from graphqd.graphs.holstein import HolsteinGraphSpec, band_to_dense, dense_to_band
from graphqd.physics import holstein
from graphqd.runtime.isospectral import Isospectral


def _band(rho: torch.Tensor, spec: HolsteinGraphSpec) -> dict:
    L = rho.size(-1)
    return {K.RHO: dense_to_band(rho, L, True, spec).reshape(-1, 2)}


def test_projection_gives_the_spectrum_and_keeps_the_eigenvectors():
    L, spec = 8, HolsteinGraphSpec(band_radius=4)
    params = holstein.HolsteinParams(L=L, g=2.0)
    exact = torch.stack([holstein.random_state(params, seed=s).rho for s in range(3)])
    iso = Isospectral(L, True, spec)
    spectrum = iso.spectrum(_band(exact, spec))
    torch.testing.assert_close(spectrum, torch.linalg.eigvalsh(exact))
    # a perturbed ρ (Hermitian, same trace, other spectrum), as a learned step leaves it
    noise = 0.05 * torch.randn(3, L, L, dtype=torch.complex128, generator=torch.Generator().manual_seed(0))
    noise = noise + noise.mH
    noise = noise - torch.eye(L) * noise.diagonal(dim1=-2, dim2=-1).mean(-1)[:, None, None]
    perturbed = exact + noise
    projected = band_to_dense(iso.project(_band(perturbed, spec), spectrum)[K.RHO].reshape(3, -1, 2), L, True, spec)
    torch.testing.assert_close(torch.linalg.eigvalsh(projected), spectrum)
    torch.testing.assert_close(projected, projected.mH)
    torch.testing.assert_close(projected.diagonal(dim1=-2, dim2=-1).real.sum(-1), spectrum.sum(-1))
    torch.testing.assert_close(projected @ perturbed, perturbed @ projected, atol=1e-12, rtol=0)  # same eigenvectors
    # the projection is the closest isospectral matrix: closer than the unperturbed ρ, and a fixed point
    assert bool(((projected - perturbed).abs().pow(2).sum((-1, -2)) <=
                 (exact - perturbed).abs().pow(2).sum((-1, -2))).all())
    again = iso.project(_band(projected, spec), spectrum)[K.RHO]
    torch.testing.assert_close(again, _band(projected, spec)[K.RHO])


def test_exact_ehrenfest_dynamics_is_isospectral():
    params = holstein.HolsteinParams(L=8, g=2.0)
    state = holstein.random_state(params, seed=4)
    trajectory = holstein.simulate(state, params, dt=0.02, n_steps=100)
    spectra = torch.linalg.eigvalsh(trajectory.rho)
    # to the solver's RK4 error (the models of issue 6 lose 0.8 of Tr ρ² = 3.5 in 10,000 steps)
    torch.testing.assert_close(spectra, spectra[:1].expand_as(spectra), atol=1e-5, rtol=0)


def test_partial_band_is_refused():
    with pytest.raises(GraphqdError, match="band_radius = 2 on 8 sites"):
        Isospectral(8, True, HolsteinGraphSpec(band_radius=2))
