"""The banded Ehrenfest dynamics against the dense equations with the same cut, and its invariants."""
import numpy as np
import pytest
import torch

from graphqd.errors import GraphqdError
from graphqd.physics import holstein, holstein_band
from graphqd.physics.lattice import band_slots


def _dense_mask(L: int, radius: int, periodic: bool) -> torch.Tensor:
    i, j = torch.arange(L)[:, None], torch.arange(L)[None]
    d = (j - i).abs()
    return (torch.minimum(d, L - d) if periodic else d) <= radius


def _start(params, seed):
    """A nonequilibrium start: the ground state at g = 0.5 with noisy Q and P."""
    state = holstein.noisy_ground_states(params.with_g(0.5), 0.3, [seed, seed + 1])
    return state.Q, state.P + 0.2 * torch.randn(state.P.shape, generator=torch.Generator().manual_seed(seed),
                                                dtype=torch.float64), state.rho


@pytest.mark.parametrize("L, radius, boundary", [(12, 3, "periodic"), (11, 2, "open"), (10, 4, "periodic")])
def test_band_dynamics_is_the_dense_dynamics_cut_at_every_evaluation(L, radius, boundary):
    """An explicit dense RK4 whose right-hand side (holstein.rhs) is set to 0 beyond the band at every
    evaluation gives the same trajectory to round-off."""
    params = holstein.HolsteinParams(L=L, g=1.2, boundary=boundary)
    periodic = boundary == "periodic"
    mask = _dense_mask(L, radius, periodic)
    Q, P, rho = _start(params, 3)
    rho = rho * mask
    dt, substeps, steps = 0.08, 8, 25
    h = dt / substeps

    def f(state):
        d = holstein.rhs(state, params)
        return holstein.State(d.Q, d.P, d.rho * mask)

    y = holstein.State(Q, P, rho)
    for _ in range(steps * substeps):
        k1 = f(y)
        k2 = f(holstein.State(*(a + h / 2 * b for a, b in zip(y, k1))))
        k3 = f(holstein.State(*(a + h / 2 * b for a, b in zip(y, k2))))
        k4 = f(holstein.State(*(a + h * b for a, b in zip(y, k3))))
        y = holstein.State(*(a + h / 6 * (b + 2 * c + 2 * d + e) for a, b, c, d, e in zip(y, k1, k2, k3, k4)))
    band = holstein_band.simulate(Q, P, holstein_band.band_rows(rho, radius, params), params, dt, steps, substeps)
    assert band.rho.shape == (2, steps + 1, L, 2 * radius + 1) and band.t[-1] == pytest.approx(dt * steps)
    assert torch.allclose(band.Q[:, -1], y.Q, atol=1e-12, rtol=0)
    assert torch.allclose(band.P[:, -1], y.P, atol=1e-12, rtol=0)
    assert torch.allclose(band.rho[:, -1], holstein_band.band_rows(y.rho, radius, params), atol=1e-12, rtol=0)
    assert (y.rho[..., ~mask] == 0).all()
    # and the cut matters: the uncut dynamics leaves the band
    uncut = holstein.simulate(holstein.State(Q, P, rho), params, dt, steps, substeps, kernel="torch")
    assert (uncut.Q[:, -1] - y.Q).abs().max() > 1e-6


def test_band_dynamics_conserves_energy_and_trace_and_keeps_hermiticity():
    L, radius = 16, 2
    params = holstein.HolsteinParams(L=L, g=1.5)
    Q, P, rho = _start(params, 7)
    band = holstein_band.simulate(Q, P, holstein_band.band_rows(rho, radius, params), params,
                                  0.08, 250, 8)
    columns, _ = band_slots(L, radius, True)
    dense = torch.zeros(*band.rho.shape[:-1], L, dtype=band.rho.dtype)
    dense.scatter_(-1, columns.expand(*band.rho.shape[:-2], -1, -1), band.rho)
    energy = holstein.energy(holstein.State(band.Q, band.P, dense), params)
    assert (energy - energy[:, :1]).abs().max() < 1e-7
    trace = band.rho[..., radius].real.sum(-1)
    assert (trace - trace[:, :1]).abs().max() < 1e-10
    assert (dense - dense.mH).abs().max() < 1e-12
    # the band dynamics is not the dense one: the energy is kept while purity is lost
    assert (dense[:, -1] @ dense[:, -1] - dense[:, -1]).abs().max() > 1e-3


@pytest.mark.parametrize("L, radius, boundary", [(8, 4, "periodic"), (8, 0, "periodic"), (6, 5, "open")])
def test_band_that_holds_the_whole_chain_is_refused(L, radius, boundary):
    params = holstein.HolsteinParams(L=L, boundary=boundary)
    band = torch.zeros(1, L, 2 * radius + 1, dtype=torch.complex128)
    with pytest.raises(GraphqdError, match="radius"):
        holstein_band.simulate(torch.zeros(1, L), torch.zeros(1, L), band, params, 0.08, 1)


def test_recipe_with_a_band_radius_stores_the_band_equations(tmp_path):
    """`integrator.band_radius` in a Holstein recipe: the store holds holstein_band's trajectory of the recipe's
    initial states (after integrator.discard), on the band of storage.rho_band, over two write blocks."""
    import h5py

    from graphqd import config as cfg
    from graphqd.data.recipes import holstein as recipe
    from graphqd.errors import ConfigError

    spec = {"system": "holstein", "seed": 3, "trajectories": 3, "lattice": {"L": 12},
            "quench": {"g_initial": 0.0, "g_final": 2.0, "q_noise": 0.1},
            "integrator": {"dt": 0.08, "substeps": 4, "t_final": 0.8, "discard": 0.04, "band_radius": 3},
            "storage": {"dtype": "float64", "batch": 2, "rho_band": 2}}
    config = cfg.validate(spec, recipe.SCHEMA)
    recipe.generate(config, str(tmp_path / "band.h5"), torch.device("cpu"))
    _, final = recipe.params_of(config)
    state = recipe.initial_states(config, range(3), torch.device("cpu"))
    rows = holstein_band.band_rows(state.rho, 3, final)
    moved = holstein_band.simulate(state.Q, state.P, rows, final, 0.04, 1, 2)   # discard: 2 steps of 0.02
    expected = holstein_band.simulate(moved.Q[:, -1], moved.P[:, -1], moved.rho[:, -1], final, 0.08, 10, 4,
                                      record_band=2)
    with h5py.File(tmp_path / "band.h5", "r") as f:
        assert f.attrs["integrator_band_radius"] == 3 and f.attrs["rho_band_radius"] == 2
        np.testing.assert_allclose(f["Q"][()], expected.Q.numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(f["rho_band"][()], expected.rho.numpy(), rtol=0, atol=1e-12)
    for key, value, match in [("storage.rho_band", -1, "storage.rho_band"), ("storage.rho_band", 4, "storage.rho_band"),
                              ("integrator.band_radius", 6, "integrator.band_radius"),
                              ("integrator.random_phase", True, "random_phase")]:
        bad = cfg.validate(spec, recipe.SCHEMA)
        section, name = key.split(".")
        bad[section][name] = value
        with pytest.raises(ConfigError, match=match):
            recipe.generate(bad, str(tmp_path / "bad.h5"), torch.device("cpu"))
