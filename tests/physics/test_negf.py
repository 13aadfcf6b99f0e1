"""Exact NEGF steady state against brute-force quadrature and analytic limits."""
import math

import numpy as np
import pytest
import scipy.special
import torch

from graphqd.errors import GraphqdError
from graphqd.physics import negf


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # small dense linear algebra is much faster single-threaded on a shared CPU
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def random_Q(params, seed, scale=1.0, batch=()):
    gen = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*batch, params.Ly, params.Lx, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("temperature", [0.0, 0.07])
@pytest.mark.parametrize("shape,bias,mu", [((4, 3), 1.3, 0.2), ((5, 1), 0.8, -0.3), ((3, 2), 2.5, 0.0)])
def test_density_and_current_match_quadrature(shape, bias, mu, temperature):
    Lx, Ly = shape
    p = negf.NEGFParams(Lx=Lx, Ly=Ly, bias=bias, mu=mu, temperature=temperature, gamma_lead=0.8)
    Q = random_Q(p, seed=Lx * 10 + Ly)
    quad = negf.quadrature(Q, p, tol=1e-9)
    state = negf.steady_state(Q, p)
    assert (state.density - quad.density).abs().max() < 1e-6
    assert abs(float(state.current_left - quad.current)) < 1e-6
    assert abs(float(state.current_left + state.current_right)) < 1e-10


def test_half_filling_at_zero_displacement():
    for Lx, Ly in [(6, 4), (5, 1), (4, 2)]:
        p = negf.NEGFParams(Lx=Lx, Ly=Ly)
        n = negf.density(torch.zeros(Ly, Lx, dtype=torch.float64), p)
        assert (n - 0.5).abs().max() < 1e-12


@pytest.mark.parametrize("temperature", [0.0, 0.2])
def test_single_level(temperature):
    # 1 x 1: both leads on one level e0 = -g Q with total broadening 2 Gamma
    p = negf.NEGFParams(Lx=1, Ly=1, bias=0.7, mu=0.1, gamma_lead=0.5, temperature=temperature)
    Q = torch.tensor([[0.3]], dtype=torch.float64)
    e0, G = -p.g * 0.3, p.gamma_lead
    if temperature == 0:
        expected = sum(0.25 + math.atan((m - e0) / G) / (2 * math.pi) for m in (p.mu_left, p.mu_right))
    else:  # Lorentzian of half-width G against Fermi: 1/2 - Im psi(1/2 + (G + i(e0 - mu))/(2 pi T)) / pi, per lead / 2
        expected = sum(0.25 - scipy.special.psi(0.5 + (G + 1j * (e0 - m)) / (2 * math.pi * temperature)).imag
                       / (2 * math.pi) for m in (p.mu_left, p.mu_right))
    assert abs(float(negf.density(Q, p)) - expected) < 1e-12


def test_complex_digamma_against_scipy():
    z = torch.tensor([0.5 + 0j, 0.5 + 3j, 2.0 - 40j, 0.6 + 0.01j, 300 + 1e4j], dtype=torch.complex128)
    ref = torch.as_tensor(scipy.special.psi(z.numpy()))
    assert (negf.complex_digamma(z) - ref).abs().max() < 1e-13


def test_current_is_conserved_and_equals_bond_current():
    p = negf.NEGFParams(Lx=6, Ly=4, bias=1.5, temperature=0.05)
    Q = random_Q(p, seed=3)
    I = negf.current(Q, p)
    assert float(I.left) > 0 and abs(float(I.left + I.right)) < 1e-10
    rho = negf.density_matrix(Q, p)
    for x in range(p.Lx - 1):
        bond = sum(2 * p.hopping * rho[y * p.Lx + x + 1, y * p.Lx + x].imag for y in range(p.Ly))
        assert abs(float(bond - I.left)) < 1e-9


def test_no_current_without_bias_and_reflection():
    p = negf.NEGFParams(Lx=5, Ly=3, temperature=0.1)
    Q = random_Q(p, seed=5)
    I = negf.current(Q, p)
    assert float(I.left) == 0.0
    # x-reflection maps bias V to -V
    pv = negf.NEGFParams(Lx=5, Ly=3, bias=0.9, temperature=0.1)
    pm = negf.NEGFParams(Lx=5, Ly=3, bias=-0.9, temperature=0.1)
    assert (negf.density(Q, pv).flip(-1) - negf.density(Q.flip(-1), pm)).abs().max() < 1e-10


def test_force_formula():
    p = negf.NEGFParams(Lx=4, Ly=3, bias=0.5)
    Q = random_Q(p, seed=7)
    n = negf.density(Q, p)
    F = negf.forces(Q, p)
    expected = torch.empty_like(Q)
    for y in range(p.Ly):
        for x in range(p.Lx):
            nn = [(y, x - 1), (y, x + 1), ((y - 1) % p.Ly, x), ((y + 1) % p.Ly, x)]
            s = sum(Q[j, i] for j, i in nn if 0 <= i < p.Lx)
            expected[y, x] = p.g * (n[y, x] - 0.5) - p.stiffness * Q[y, x] - p.kappa * s
    assert (F - expected).abs().max() < 1e-12
    assert (negf.steady_state(Q, p).force - F).abs().max() < 1e-12


def test_batched_equals_single_and_checkerboard():
    p = negf.NEGFParams(Lx=4, Ly=4, bias=1.0, temperature=0.1)
    Qb = random_Q(p, seed=11, batch=(2, 3))
    state = negf.steady_state(Qb, p)
    for i in range(2):
        for j in range(3):
            single = negf.steady_state(Qb[i, j], p)
            assert (state.density[i, j] - single.density).abs().max() < 1e-12
            assert abs(float(state.current_left[i, j] - single.current_left)) < 1e-12
    Q0 = negf.checkerboard(p)
    assert abs(float(Q0[0, 0]) - 1.5 / (2 * (1 - 4 * 0.18))) < 1e-12 and float(Q0[0, 1]) < 0
    # Gamma = 0+ limit would give a fixed point; with the leads the bulk force stays small
    assert float(negf.forces(Q0, p).abs().mean()) < 1.0


def test_bad_parameters_raise_graphqd_error():
    with pytest.raises(GraphqdError, match="gamma_lead"):
        negf.NEGFParams(Lx=4, Ly=3, gamma_lead=0.0)
    with pytest.raises(GraphqdError, match="temperature"):
        negf.NEGFParams(Lx=4, Ly=3, temperature=-1.0)
    with pytest.raises(GraphqdError, match="Lx"):
        negf.NEGFParams(Lx=0, Ly=3)
    with pytest.raises(GraphqdError, match="shape"):
        negf.density(torch.zeros(3, 3, dtype=torch.float64), negf.NEGFParams(Lx=4, Ly=3))


def test_states_nearly_decoupled_from_the_leads_stay_physical():
    # a strongly disordered chain localises states far from both contacts (Im lambda ~ 1e-17):
    # occupations must stay in [0, 1] and depend continuously on Q
    gen = torch.Generator().manual_seed(0)
    p = negf.NEGFParams(Lx=40, Ly=1, bias=3.0)
    Q = 3.0 * torch.randn(1, 40, generator=gen, dtype=torch.float64)
    assert float(torch.linalg.eigvals(negf.hamiltonian(Q, p)).imag.abs().min()) < 1e-14
    state = negf.steady_state(Q, p)
    assert float(state.density.min()) > -1e-9 and float(state.density.max()) < 1 + 1e-9
    nudged = negf.density(Q + 1e-10 * torch.randn(1, 40, generator=gen, dtype=torch.float64), p)
    assert (nudged - state.density).abs().max() < 1e-6
    assert abs(float(state.current_left + state.current_right)) < 1e-12


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    p = negf.NEGFParams(Lx=6, Ly=4, bias=1.2, temperature=0.05)
    Q = random_Q(p, seed=13, batch=(2,))
    cpu = negf.steady_state(Q, p)
    gpu = negf.steady_state(Q.cuda(), p)
    assert gpu.density.is_cuda
    assert (gpu.density.cpu() - cpu.density).abs().max() < 1e-10
    assert (gpu.current_left.cpu() - cpu.current_left).abs().max() < 1e-10
    quad = negf.quadrature(Q[0].cuda(), p, tol=1e-9)
    assert (quad.density.cpu() - cpu.density[0]).abs().max() < 1e-6
