"""The band layout of ρ in Holstein stores (graphqd.data.density_band) against direct indexing."""
import h5py
import numpy as np
import pytest

from graphqd.data.density_band import read_density, read_occupations, to_band, to_dense
from graphqd.errors import StoreError


def distance(L, periodic):
    i, j = np.indices((L, L))
    d = np.abs(i - j)
    return np.minimum(d, L - d) if periodic else d


@pytest.mark.parametrize("periodic", [True, False])
def test_band_holds_exactly_the_entries_within_the_radius(periodic):
    L, radius = 9, 2
    rho = np.random.default_rng(0).normal(size=(3, L, L)) + 1j * np.random.default_rng(1).normal(size=(3, L, L))
    band = to_band(rho, radius, periodic)
    assert band.shape == (3, L, 2 * radius + 1)
    for i in range(L):
        for s in range(-radius, radius + 1):
            j = i + s
            expected = rho[:, i, j % L] if periodic or 0 <= j < L else 0
            np.testing.assert_array_equal(band[:, i, radius + s], expected)
    inside = distance(L, periodic) <= radius
    np.testing.assert_array_equal(to_dense(band, periodic), np.where(inside, rho, 0))


def test_readers_give_the_same_density_from_both_layouts(tmp_path):
    L, radius = 8, 3
    rho = np.random.default_rng(2).normal(size=(2, 4, L, L)).astype(np.complex64)
    rho = np.where(distance(L, True) <= radius, rho, 0)
    with h5py.File(tmp_path / "dense.h5", "w") as dense, h5py.File(tmp_path / "band.h5", "w") as band:
        dense["rho"] = rho
        band["rho_band"] = to_band(rho, radius, True)
        band.attrs.update({"rho_band_radius": radius, "boundary": "periodic"})
        for run in range(2):
            np.testing.assert_array_equal(read_density(band, run, slice(1, 3)), read_density(dense, run, slice(1, 3)))
            np.testing.assert_array_equal(read_occupations(band, run), read_occupations(dense, run))
    with h5py.File(tmp_path / "empty.h5", "w") as empty, pytest.raises(StoreError, match="no density matrix"):
        read_density(empty, 0)
    with pytest.raises(StoreError, match="radius 4 does not fit a chain of 8 sites"):
        to_band(rho, 4, True)


@pytest.mark.parametrize("boundary,kernel", [("periodic", "torch"), ("open", "torch"), ("periodic", "auto")])
def test_simulate_records_the_band_of_the_dense_trajectory(boundary, kernel):
    import torch

    from graphqd.physics import holstein
    params = holstein.HolsteinParams(L=10, g=1.5, boundary=boundary)
    state = holstein.random_state(params, seed=4)
    dense = holstein.simulate(state, params, 0.1, 5, 2, kernel=kernel)
    band = holstein.simulate(state, params, 0.1, 5, 2, kernel=kernel, record_band=3)
    assert band.rho.shape == (6, 10, 7)
    np.testing.assert_array_equal(band.rho.numpy(), to_band(dense.rho.numpy(), 3, boundary == "periodic"))
    torch.testing.assert_close(band.Q, dense.Q, rtol=0, atol=0)
