"""The L = 32 recipes that claim the published code's settings (Ning, Yang, Chern, arXiv
2412.06631; apning/holstein-parc, data/data_src/model.cpp) against an independent NumPy
transcription of that code's equations:

    dQ/dt = K0 P',  dP'/dt = −K0 Q + ηG (D_ii − ½),  dD/dt = −i[H, D],  H = −t·hop − G·diag(Q),

K0 = 0.3, η = 0.8, t = 1, RK4 at 0.01; the initial Q solves Q = ηG_i(D_ii − ½)/K0, then noise
of 1e-4 goes on Q and P' and D is the half-filled ground state of H(Q) for the noisy Q.
"""
import os

import numpy as np
import pytest
import torch

from graphqd import config as cfg
from graphqd.data.recipes import holstein as recipe
from graphqd.physics import holstein as H

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "datasets")
K0, ETA, NOISE = 0.3, 0.8, 1e-4
RECIPES = {"holstein_L32_g05to08.yaml": 64, "holstein_L32_g0to1.yaml": 256}  # internal steps per snapshot


def load(name):
    return cfg.validate(cfg.read_yaml(os.path.join(ROOT, name)), recipe.SCHEMA)


def published_hamiltonian(Q, G):
    L = len(Q)
    h = np.diag(-G * Q).astype(complex)
    for i in range(L):
        h[i, (i + 1) % L] = h[i, (i - 1) % L] = -1.0
    return h


def published_density(h):
    """D = Σ_m f_m v_m v_m† at half filling with the published kT = 1e-8: in that limit the
    levels degenerate with the Fermi level share its electrons equally."""
    energies, vectors = np.linalg.eigh(h)
    fermi = energies[len(h) // 2 - 1]
    at_fermi = np.abs(energies - fermi) < 1e-9
    below = (energies < fermi) & ~at_fermi
    occupation = below + at_fermi * (len(h) // 2 - below.sum()) / at_fermi.sum()
    return (vectors * occupation) @ vectors.conj().T


def published_rk4(Q, Pp, D, G, dt, steps):
    def rates(Q, Pp, D):
        h = published_hamiltonian(Q, G)
        return K0 * Pp, -K0 * Q + ETA * G * (D.diagonal().real - 0.5), -1j * (h @ D - D @ h)
    for _ in range(steps):
        k1 = rates(Q, Pp, D)
        k2 = rates(*(y + dt / 2 * k for y, k in zip((Q, Pp, D), k1)))
        k3 = rates(*(y + dt / 2 * k for y, k in zip((Q, Pp, D), k2)))
        k4 = rates(*(y + dt * k for y, k in zip((Q, Pp, D), k3)))
        Q, Pp, D = (y + dt / 6 * (a + 2 * b + 2 * c + d) for y, a, b, c, d in zip((Q, Pp, D), k1, k2, k3, k4))
    return Q, Pp, D


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_parameters_are_the_published_ones(name):
    config = load(name)
    initial, final = recipe.params_of(config)
    assert final.omega == pytest.approx(K0) and final.stiffness == pytest.approx(K0 / ETA)
    assert final.mass == pytest.approx(1 / (ETA * K0))
    assert config["integrator"]["dt"] / config["integrator"]["substeps"] == pytest.approx(0.01)
    assert config["integrator"]["substeps"] == RECIPES[name]


@pytest.mark.parametrize("name", RECIPES)
def test_initial_states_are_prepared_as_published(name):
    config = load(name)
    initial, final = recipe.params_of(config)
    states = recipe.initial_states(config, range(16), torch.device("cpu"))
    Q, P, rho = (x.numpy() for x in states)
    # the noiseless Q solves the published self-consistency at G = g_initial (iterated from its checkerboard)
    G = initial.g
    clean = 0.250104 * (-1.0) ** np.arange(32)
    for _ in range(3000):
        clean = ETA * G * (published_density(published_hamiltonian(clean, G)).diagonal().real - 0.5) / K0
    q_noise, p_noise = Q - clean, P / (final.mass * K0)
    for noise in (q_noise, p_noise):  # 512 draws: the std is known to ~3 %
        assert abs(noise.std() / NOISE - 1) < 0.12 and abs(noise.mean()) < 3 * NOISE / np.sqrt(noise.size)
    for k in range(len(Q)):  # D is the ground state of H for the noisy Q
        np.testing.assert_allclose(rho[k], published_density(published_hamiltonian(Q[k], G)), atol=1e-10)


@pytest.mark.parametrize("name", RECIPES)
def test_dynamics_follow_the_published_equations(name):
    config = load(name)
    _, final = recipe.params_of(config)
    state = recipe.initial_states(config, range(1), torch.device("cpu"))
    steps = RECIPES[name]
    ours = H.simulate(state, final, config["integrator"]["dt"], 1, steps)
    Q, Pp, D = published_rk4(state.Q[0].numpy(), state.P[0].numpy() / (final.mass * K0), state.rho[0].numpy(),
                             final.g, 0.01, steps)
    np.testing.assert_allclose(ours.Q[0, 1].numpy(), Q, atol=1e-12)
    np.testing.assert_allclose(ours.P[0, 1].numpy() / (final.mass * K0), Pp, atol=1e-12)
    np.testing.assert_allclose(ours.rho[0, 1].numpy(), D, atol=1e-12)


def test_transient_discards_time_and_draws_a_phase_per_run():
    config = load("holstein_L32_g0to1.yaml")
    steps = recipe.transient_steps(config, range(40))
    assert (steps >= 6400).all() and (steps < 6400 + 256).all() and len(set(steps)) > 20
    np.testing.assert_array_equal(recipe.transient_steps(config, range(20, 40)), steps[20:])  # batch-independent
    state = recipe.initial_states(config, range(3), torch.device("cpu"))
    _, final = recipe.params_of(config)
    counts = torch.tensor([0, 3, 5])
    moved = H.advance(state, final, 0.01, counts)
    for k in range(3):  # each run its own number of steps
        alone = H.simulate(H.State(*(x[k] for x in state)), final, 0.01 * max(int(counts[k]), 1), 1,
                           max(int(counts[k]), 1))
        expected = state.Q[k] if counts[k] == 0 else alone.Q[1]
        torch.testing.assert_close(moved.Q[k], expected, rtol=0, atol=1e-13)
    bad = {**config, "integrator": {**config["integrator"], "discard": 0.005}}
    with pytest.raises(Exception, match="integrator.discard"):
        recipe.transient_steps(bad, range(1))
