"""Holstein Ehrenfest ground truth against independent references and exact invariants."""
import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from graphqd.physics import holstein as H

SHALLOW = (H.HolsteinParams(L=8, g=0.5), H.HolsteinParams(L=8, g=0.8), 0.0)
DEEP = (H.HolsteinParams(L=8, g=0.0), H.HolsteinParams(L=8, g=2.0), 1e-4)


def dense_rhs(state, params):
    """Independent right-hand side with dense matrices: dρ/dt = −i(hρ − ρh)."""
    h = H.hamiltonian(state.Q, params).to(torch.complex128)
    n = state.rho.diagonal(dim1=-2, dim2=-1).real
    return (state.P / params.mass, params.g * (n - 0.5) - params.stiffness * state.Q,
            -1j * (h @ state.rho - state.rho @ h))


def pack(Q, P, rho):
    return np.concatenate([Q, P, rho.real.ravel(), rho.imag.ravel()])


def dop853(state, params, t_eval):
    n = params.n_sites

    def f(t, y):
        rho = torch.from_numpy(y[2 * n:2 * n + n * n].reshape(n, n) + 1j * y[2 * n + n * n:].reshape(n, n))
        dQ, dP, drho = dense_rhs(H.State(torch.from_numpy(y[:n]), torch.from_numpy(y[n:2 * n]), rho), params)
        return pack(dQ.numpy(), dP.numpy(), drho.numpy())

    sol = solve_ivp(f, (0, t_eval[-1]), pack(state.Q.numpy(), state.P.numpy(), state.rho.numpy()),
                    method="DOP853", rtol=1e-12, atol=1e-12, t_eval=t_eval)
    Q = sol.y[:n].T
    rho = (sol.y[2 * n:2 * n + n * n] + 1j * sol.y[2 * n + n * n:]).T.reshape(-1, n, n)
    return Q, rho


@pytest.mark.parametrize("case", [SHALLOW, DEEP], ids=["shallow", "deep"])
def test_rk4_matches_dop853_to_t20(case):
    initial, final, noise = case
    state = H.noisy_ground_states(initial, noise, [7])
    state = H.State(*(s[0] for s in state))
    traj = H.simulate(state, final, dt=0.08, n_steps=250, substeps=8)
    Q, rho = dop853(state, final, traj.t.numpy())
    assert np.abs(Q - traj.Q.numpy()).max() <= 1e-6
    assert np.abs(rho - traj.rho.numpy()).max() <= 1e-6
    assert np.abs(traj.Q.numpy()).max() > 0.1  # the run did move


def test_deep_quench_invariants_over_t200():
    initial, final, noise = DEEP
    state = H.noisy_ground_states(initial, noise, [1, 2])
    traj = H.simulate(state, final, dt=0.08, n_steps=2500, substeps=8)
    E = H.energy(H.State(traj.Q, traj.P, traj.rho), final)
    assert (E - E[:, :1]).abs().max() <= 1e-6
    trace = traj.rho.diagonal(dim1=-2, dim2=-1).sum(-1)
    assert (trace - 4).abs().max() <= 1e-9
    assert (traj.rho - traj.rho.mH).abs().max() <= 1e-9
    purity = (traj.rho[:, ::500] @ traj.rho[:, ::500]).diagonal(dim1=-2, dim2=-1).sum(-1).real
    # Tr ρ² is conserved by the exact flow; RK4 is not unitary, so it drifts (measured ~1e-5 at t = 200)
    assert (purity - 3.5).abs().max() <= 1e-4
    assert traj.Q.abs().max() > 1.0  # CDW domains formed


def test_batch_equals_single():
    initial, final, noise = DEEP
    batch = H.noisy_ground_states(initial, noise, [3, 4, 5])
    traj = H.simulate(batch, final, 0.08, 40)
    for k in range(3):
        single = H.simulate(H.State(*(s[k] for s in batch)), final, 0.08, 40)
        assert torch.equal(single.Q, traj.Q[k]) and torch.equal(single.rho, traj.rho[k])


@pytest.mark.parametrize("L,boundary", [(8, "periodic"), (7, "open"), ((3, 4), "periodic"), ((3, 4), "open")])
def test_banded_rhs_equals_dense_commutator(L, boundary):
    params = H.HolsteinParams(L=L, g=1.3, boundary=boundary)
    state = H.random_state(params, seed=11)
    fast = H.rhs(state, params)
    for got, want in zip(fast, dense_rhs(state, params)):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    packed = torch.cat([state.Q.to(torch.complex128), state.P.to(torch.complex128), state.rho.flatten()])
    slots = H._hopping_slots(H._table(params, torch.device("cpu")))
    out = H._packed_rhs(packed, params, slots, params.n_sites)
    torch.testing.assert_close(out[2 * params.n_sites:], fast.rho.flatten(), rtol=0, atol=1e-12)


def test_energy_conserved_on_open_square_lattice():
    params = H.HolsteinParams(L=(3, 4), g=1.5, boundary="open")
    state = H.random_state(params, seed=5)
    traj = H.simulate(state, params, 0.05, 200, substeps=5)
    E = H.energy(H.State(traj.Q, traj.P, traj.rho), params)
    assert (E - E[0]).abs().max() < 1e-7


def test_ground_state_is_self_consistent_and_stationary():
    params = H.HolsteinParams(L=8, g=0.5)
    s = H.ground_state(params)
    n = s.rho.diagonal().real
    torch.testing.assert_close(s.Q, params.g * (n - 0.5) / params.stiffness, rtol=0, atol=1e-11)
    assert abs(float(s.rho.trace().real) - 4) < 1e-12
    torch.testing.assert_close(s.rho @ s.rho, s.rho, rtol=0, atol=1e-10)  # gapped CDW: a projector
    assert float(s.Q[0] * s.Q[1]) < 0  # checkerboard
    for d in H.rhs(s, params):
        assert d.abs().max() < 1e-9


def test_free_ground_state_shares_degenerate_fermi_level():
    s = H.ground_state(H.HolsteinParams(L=8, g=0.0))
    occupations = torch.linalg.eigvalsh(s.rho)
    torch.testing.assert_close(occupations, torch.tensor([0, 0, 0, 0.5, 0.5, 1, 1, 1], dtype=torch.float64),
                               rtol=0, atol=1e-12)
    torch.testing.assert_close(s.rho.diagonal().real, torch.full((8,), 0.5, dtype=torch.float64))


def test_random_state_is_a_half_filled_slater_determinant():
    params = H.HolsteinParams(L=10, g=2.0)
    s = H.random_state(params, seed=3)
    occupations = torch.linalg.eigvalsh(s.rho)
    torch.testing.assert_close(occupations, torch.tensor([0.0] * 5 + [1.0] * 5, dtype=torch.float64),
                               rtol=0, atol=1e-10)
    assert H.rhs(s, params).rho.abs().max() > 0.1  # not stationary
    again = H.random_state(params, seed=3)
    assert torch.equal(again.Q, s.Q) and torch.equal(again.rho, s.rho)


def test_order_parameters_of_checkerboard():
    params = H.HolsteinParams(L=6)
    Q = torch.tensor([1.0, -1, 1, -1, 1, -1], dtype=torch.float64)
    rho = torch.diag(torch.tensor([1.0, 0, 1, 0, 1, 0], dtype=torch.complex128))
    phi_q, phi_rho = H.order_parameters(Q, rho, params)
    assert float(phi_q) == 1.0 and float(phi_rho) == 0.5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    initial, final, noise = DEEP
    state = H.noisy_ground_states(initial, noise, [1, 2])
    cpu = H.simulate(state, final, 0.08, 50)
    gpu = H.simulate(H.State(*(s.cuda() for s in state)), final, 0.08, 50)
    torch.testing.assert_close(gpu.Q.cpu(), cpu.Q, rtol=0, atol=1e-10)


def test_invalid_parameters_raise_clear_errors():
    from graphqd.errors import GraphqdError
    with pytest.raises(GraphqdError, match="boundary"):
        H.HolsteinParams(L=8, boundary="twisted")
    with pytest.raises(GraphqdError, match="omega"):
        H.HolsteinParams(L=8, omega=0.0)


def particle_hole(state):
    """c_i → (−1)^i c_i†, Q → −Q, P → −P: ρ → 1 − S ρ* S with S = diag((−1)^i) (graphqd.models.particle_hole)."""
    L = state.Q.shape[-1]
    S = torch.diag(torch.tensor([(-1.0) ** i for i in range(L)], dtype=torch.complex128))
    return H.State(-state.Q, -state.P, torch.eye(L, dtype=torch.complex128) - S @ state.rho.conj() @ S)


@pytest.mark.parametrize("L,boundary,bipartite", [(8, "periodic", True), (7, "open", True), (7, "periodic", False)])
def test_the_flow_commutes_with_particle_hole_on_bipartite_chains(L, boundary, bipartite):
    params = H.HolsteinParams(L=L, g=1.3, boundary=boundary)
    state = H.random_state(params, seed=3)
    direct = H.simulate(state, params, 0.5, 4)
    mirrored = H.simulate(particle_hole(state), params, 0.5, 4)
    final = H.State(direct.Q[-1], direct.P[-1], direct.rho[-1])
    difference = max((a - b).abs().max() for a, b in zip(particle_hole(final),
                                                          (mirrored.Q[-1], mirrored.P[-1], mirrored.rho[-1])))
    assert (difference < 1e-12) if bipartite else (difference > 1e-3)
    assert (final.Q - state.Q).abs().max() > 0.1   # the state did move
