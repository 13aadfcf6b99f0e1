"""PARC with phonons: exact: the lattice stepped by its own equations (velocity Verlet), only ρ learned."""
import math

import pytest
import torch

from graphqd import keys as K
from graphqd.errors import ConfigError
from graphqd.graphs.holstein import graph_batch
from graphqd.models.normalization import Normalization
from graphqd.models.registry import build_model, validate_model_section

from test_parc_graph import STATS, build_parc, chain, hermitian_state

CONSTANTS = {"g": 2.0, "stiffness": 0.4, "mass": 2.5}


def exact_model(**keys):
    return build_parc(band_radius=2, splitting="strang", phonons="exact", constants=CONSTANTS, **keys)


def freeze_density(model):
    """Zero the last layer of the ρ integrator: ρ' = ρ at every step."""
    for p in model.integral_rho.parameters():
        p.data.zero_()


def lattice_energy(state):
    c = CONSTANTS
    return float((state[K.P] ** 2 / (2 * c["mass"]) + c["stiffness"] * state[K.Q] ** 2 / 2).sum().detach())


def test_only_the_density_networks_exist():
    model, spec = exact_model()
    learned, _ = build_parc(band_radius=2, splitting="strang", constants=CONSTANTS)
    names = {name.split(".")[0] for name, _ in model.named_parameters()}
    assert names == {"derivative_rho", "integral_rho"}
    assert model.parameter_count() == sum(p.numel() for name, p in learned.named_parameters()
                                          if name.split(".")[0] in names)
    assert spec.site_cutoff == 0


def test_lattice_under_a_fixed_density_is_the_driven_oscillator():
    """With ρ fixed, m Q̈ = g(n − ½) − K Q: Q(t) = Q* + (Q0 − Q*) cos ωt + P0/(mω) sin ωt, Q* = g(n − ½)/K.
    Velocity Verlet follows it to O((ωΔt)²) and its energy about Q* has no drift (symplectic)."""
    model, spec = exact_model()
    freeze_density(model)
    L, c = 7, CONSTANTS
    state = hermitian_state(L, spec)
    batch = graph_batch(L, True, spec, 1)
    n = state[K.RHO][batch[K.BAND_DIAGONAL], 0]
    Q_star = c["g"] * (n - 0.5) / c["stiffness"]
    omega = math.sqrt(c["stiffness"] / c["mass"])
    Q0, P0 = state[K.Q].clone(), state[K.P].clone()

    def energy(s):
        return float((s[K.P] ** 2 / (2 * c["mass"]) + c["stiffness"] * (s[K.Q] - Q_star) ** 2 / 2).sum())
    E0, energies = energy(state), []
    with torch.no_grad():
        for _ in range(2000):
            state = {k: v for k, v in model(batch, state).items() if k in (K.Q, K.P, K.RHO)}
            energies.append(energy(state))
    t = 2000 * 0.08
    Q_exact = Q_star + (Q0 - Q_star) * math.cos(omega * t) + P0 / (c["mass"] * omega) * math.sin(omega * t)
    torch.testing.assert_close(state[K.Q], Q_exact, rtol=0, atol=2e-3 * float((Q0 - Q_star).abs().max() + 1))
    # the shadow energy of velocity Verlet: O((ωΔt)²) oscillation, no growth
    assert max(abs(e - E0) for e in energies) < 2 * (omega * 0.08) ** 2 * E0
    assert abs(sum(energies[-200:]) / 200 - sum(energies[:200]) / 200) < 1e-4 * E0


def test_lattice_gains_the_work_of_the_electrons_force():
    """One step with a learned ρ: E_lat' − E_lat = Δt (P + P')/(2m) [g(n̄ − ½) + K Δt² F/(4m)], n̄ the mean
    occupation of the step and F = (P' − P)/Δt (the discrete work identity of velocity Verlet)."""
    model, spec = exact_model()
    L, c, dt = 9, CONSTANTS, 0.08
    state = hermitian_state(L, spec, count=2)
    batch = graph_batch(L, True, spec, 2)
    with torch.no_grad():
        out = model(batch, state)
    diagonal = batch[K.BAND_DIAGONAL]
    n_mean = 0.5 * (state[K.RHO][diagonal, 0] + out[K.RHO][diagonal, 0])
    assert (out[K.RHO] - state[K.RHO]).abs().max() > 1e-4  # ρ is learned, it moves
    F = (out[K.P] - state[K.P]) / dt
    work = dt * (state[K.P] + out[K.P]) / (2 * c["mass"]) * (c["g"] * (n_mean - 0.5)
                                                              + c["stiffness"] * dt ** 2 * F / (4 * c["mass"]))
    assert lattice_energy(out) - lattice_energy(state) == pytest.approx(float(work.sum()), abs=1e-12)
    torch.testing.assert_close(out[K.P_RATE], F, rtol=0, atol=1e-12)
    torch.testing.assert_close(out[K.Q_RATE], (out[K.Q] - state[K.Q]) / dt, rtol=0, atol=1e-12)


def test_batch_equals_single():
    model, spec = exact_model()
    L, count = 9, 3
    state = hermitian_state(L, spec, count)
    M = state[K.RHO].size(0) // count
    batched = model(graph_batch(L, True, spec, count), state)
    for g in range(count):
        out = model(graph_batch(L, True, spec, 1), chain(state, g, L, M))
        for key, value in out.items():
            rows = L if value.dim() == 1 else M
            torch.testing.assert_close(batched[key][g * rows:(g + 1) * rows], value, rtol=0, atol=1e-10)


@pytest.mark.parametrize("keys,constants,message", [
    ({"splitting": "simultaneous"}, CONSTANTS, "model.splitting"),
    ({"splitting": "strang", "onsite_phonons": True}, CONSTANTS, "model.onsite_phonons"),
    ({"splitting": "strang"}, None, "lattice constants"),
])
def test_config_errors(keys, constants, message):
    section = validate_model_section({"name": "parc_graph", "width": 8, "phonons": "exact", **keys})
    with pytest.raises(ConfigError, match=message):
        build_model(section, Normalization(STATS, dt=0.08, constants=constants))
