"""Checks of the 1D Schrödinger ground truth against independent numpy/scipy implementations."""
import math

import numpy as np
import pytest
import scipy.linalg
import torch

from graphqd.errors import GraphqdError
from graphqd.physics import schrodinger

METHODS = [(lap, prop) for lap in ("fd3", "spectral") for prop in ("split", "exact")]


def small_case(n=64, length=20.0, seed=0):
    """A random normalised state and a random potential on a small grid."""
    rng = np.random.default_rng(seed)
    x = schrodinger.grid(n, length)
    psi = rng.normal(size=n) + 1j * rng.normal(size=n)
    psi /= np.sqrt(np.sum(np.abs(psi) ** 2) * (length / n))
    V = rng.uniform(0.0, 5.0, size=n)
    return x, torch.from_numpy(psi), torch.from_numpy(V)


def numpy_hamiltonian(n, dx, V, laplacian):
    """H built without the library: explicit stencil loop, or the DFT matrix for −½∇²."""
    H = np.diag(np.asarray(V, dtype=float)).astype(complex)
    if laplacian == "fd3":
        for i in range(n):
            H[i, i] += 1.0 / dx**2
            H[i, (i + 1) % n] -= 0.5 / dx**2
            H[i, (i - 1) % n] -= 0.5 / dx**2
    else:
        j = np.arange(n)
        dft = np.exp(-2j * np.pi * np.outer(j, j) / n)
        k = 2 * np.pi * np.fft.fftfreq(n, d=dx)
        H += np.linalg.inv(dft) @ np.diag(0.5 * k**2) @ dft
    return H


def numpy_space_splitting(psi, V, dx, tau, steps, n_steps):
    """Nakano's space splitting with dense matrices: every 2 × 2 bond block by scipy expm."""
    n = psi.shape[0]
    bond = np.array([[1.0, -1.0], [-1.0, 1.0]]) / (2 * dx**2)

    def bond_family(first, duration):
        U = np.zeros((n, n), dtype=complex)
        block = scipy.linalg.expm(-1j * duration * bond)
        for i in range(first, n, 2):
            pair = [i, (i + 1) % n]
            U[np.ix_(pair, pair)] = block
        return U

    half_potential = np.diag(np.exp(-0.5j * tau * V))
    step = half_potential @ bond_family(0, tau / 2) @ bond_family(1, tau) @ bond_family(0, tau / 2) @ half_potential
    frames = [psi]
    for _ in range(n_steps):
        for _ in range(steps):
            psi = step @ psi
        frames.append(psi)
    return np.stack(frames)


def norms(psi, x):
    return (psi.abs() ** 2).sum(-1) * schrodinger.spacing(x)


def test_grid_packet_and_barrier():
    x = schrodinger.grid()
    assert x.shape == (1024,) and x.dtype == torch.float64
    assert float(x[1]) == pytest.approx(100 / 1024) and float(x[0]) == 0.0
    psi = schrodinger.packet(x, torch.tensor([10.0, 40.0, 70.0]), 4.0, torch.tensor([[1.0], [9.0]]))
    assert psi.shape == (2, 3, 1024) and psi.dtype == torch.complex128
    assert torch.allclose(norms(psi, x), torch.ones(2, 3, dtype=torch.float64), atol=1e-13)
    # minimum image: a packet near the edge is smooth across it
    edge = schrodinger.packet(x, 0.0, 4.0, 0.0).abs()
    assert torch.allclose(edge[1:], edge[1:].flip(-1), rtol=1e-12, atol=0)
    V = schrodinger.barrier(x, torch.tensor([1.0, 14.0]), 7.0, 50.0)
    assert V.shape == (2, 1024)
    inside = torch.nonzero(V[1]).flatten()              # 46.5 <= x < 53.5 at dx = 100/1024
    assert (int(inside[0]), int(inside[-1]), inside.numel()) == (477, 547, 71)
    assert float(V[1].max()) == 14.0 and float(V[0].max()) == 1.0


def test_fd3_split_matches_dense_space_splitting():
    x, psi, V = small_case()
    dx = schrodinger.spacing(x)
    ours = schrodinger.simulate(psi, V, x, dt=0.1, n_steps=10, laplacian="fd3", propagator="split", internal_dt=0.005)
    reference = numpy_space_splitting(psi.numpy(), V.numpy(), dx, 0.005, 20, 10)
    assert ours.shape == (11, 64)
    assert np.abs(ours.numpy() - reference).max() < 1e-8


@pytest.mark.parametrize("laplacian", ["fd3", "spectral"])
def test_exact_matches_matrix_exponential(laplacian):
    x, psi, V = small_case(seed=1)
    dt, n_steps = 0.3, 5
    ours = schrodinger.simulate(psi, V, x, dt=dt, n_steps=n_steps, laplacian=laplacian, propagator="exact")
    H = numpy_hamiltonian(64, schrodinger.spacing(x), V.numpy(), laplacian)
    step = scipy.linalg.expm(-1j * dt * H)
    reference = [psi.numpy()]
    for _ in range(n_steps):
        reference.append(step @ reference[-1])
    assert np.abs(ours.numpy() - np.stack(reference)).max() < 1e-10
    library_H = schrodinger.hamiltonian(x, V, laplacian).numpy()
    assert np.abs(library_H - H).max() < 1e-9


@pytest.mark.parametrize("laplacian,propagator", METHODS)
def test_norm_conserved(laplacian, propagator):
    x = schrodinger.grid(128, 25.0)
    psi0 = schrodinger.packet(x, torch.tensor([5.0, 12.0]), 1.5, 4.0)
    V = schrodinger.barrier(x, 7.0, 3.0, 15.0)
    psi = schrodinger.simulate(psi0, V, x, dt=0.1, n_steps=10, laplacian=laplacian, propagator=propagator)
    assert psi.shape == (2, 11, 128)
    assert (norms(psi, x) - 1).abs().max() < 1e-10


@pytest.mark.parametrize("laplacian", ["fd3", "spectral"])
def test_split_is_second_order(laplacian):
    x = schrodinger.grid(256, 50.0)
    psi0 = schrodinger.packet(x, 20.0, 2.0, 3.0)
    V = schrodinger.barrier(x, 5.0, 4.0, 25.0)
    exact = schrodinger.simulate(psi0, V, x, dt=0.5, n_steps=2, laplacian=laplacian, propagator="exact")
    errors = [float((schrodinger.simulate(psi0, V, x, dt=0.5, n_steps=2, laplacian=laplacian, internal_dt=h)
                     - exact).abs().max()) for h in (0.01, 0.005, 0.0025)]
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    assert all(3.7 < r < 4.3 for r in ratios), (errors, ratios)


@pytest.mark.parametrize("propagator", ["split", "exact"])
def test_spectral_free_packet_is_the_analytic_spreading_gaussian(propagator):
    x = schrodinger.grid(512, 200.0)
    X0, S0, E0 = 60.0, 2.0, 2.0
    psi = schrodinger.simulate(schrodinger.packet(x, X0, S0, E0), torch.zeros(512, dtype=torch.float64), x,
                               dt=2.0, n_steps=5, laplacian="spectral", propagator=propagator, internal_dt=0.5)
    k0 = math.sqrt(2 * E0)
    t = 2.0 * torch.arange(6, dtype=torch.float64)[:, None]
    spread = 1 + 1j * t / (2 * S0**2)
    analytic = ((2 * math.pi * S0**2) ** -0.25 / torch.sqrt(spread)
                * torch.exp(-(x - X0 - k0 * t) ** 2 / (4 * S0**2 * spread))
                * torch.exp(1j * k0 * (x - X0 - k0 * t / 2)))
    assert (psi - analytic).abs().max() < 1e-10


@pytest.mark.parametrize("laplacian,propagator", METHODS)
def test_batched_equals_single(laplacian, propagator):
    x = schrodinger.grid(64, 20.0)
    X0 = torch.tensor([4.0, 8.0, 15.0])
    psi0 = schrodinger.packet(x, X0, 1.5, torch.tensor([[2.0], [5.0]]))       # (2, 3, X)
    V = schrodinger.barrier(x, torch.tensor([[3.0], [6.0]]), 2.0, 10.0)      # (2, 1, X)
    kwargs = dict(dt=0.1, n_steps=3, laplacian=laplacian, propagator=propagator, internal_dt=0.01)
    batched = schrodinger.simulate(psi0, V, x, **kwargs)
    assert batched.shape == (2, 3, 4, 64)
    for i in range(2):
        for j in range(3):
            single = schrodinger.simulate(psi0[i, j], V[i, 0], x, **kwargs)
            assert torch.allclose(batched[i, j], single, rtol=0, atol=1e-12)


def test_exact_shares_one_decomposition_per_potential():
    """Runs with repeated potentials (as in the curriculum) equal runs decomposed one by one."""
    x = schrodinger.grid(64, 20.0)
    psi0 = schrodinger.packet(x, torch.tensor([3.0, 5.0, 7.0, 9.0]), 1.5, 3.0)
    V = schrodinger.barrier(x, torch.tensor([4.0, 2.0, 4.0, 2.0]), 3.0, 14.0)
    together = schrodinger.simulate(psi0, V, x, dt=0.2, n_steps=4, propagator="exact")
    for run in range(4):
        alone = schrodinger.simulate(psi0[run], V[run], x, dt=0.2, n_steps=4, propagator="exact")
        assert torch.allclose(together[run], alone, rtol=0, atol=1e-12)


def test_user_errors_are_graphqd_errors():
    x, psi, V = small_case(n=16, length=4.0)
    with pytest.raises(GraphqdError, match="laplacian"):
        schrodinger.simulate(psi, V, x, laplacian="fd5")
    with pytest.raises(GraphqdError, match="propagator"):
        schrodinger.simulate(psi, V, x, propagator="rk4")
    with pytest.raises(GraphqdError, match="internal_dt"):
        schrodinger.simulate(psi, V, x, dt=0.1, n_steps=1, internal_dt=0.03)
    with pytest.raises(GraphqdError, match="broadcast"):
        schrodinger.simulate(psi.expand(2, 16), V.expand(3, 16), x, n_steps=1, internal_dt=0.1)
    assert schrodinger.internal_steps(0.1, 0.0005) == 200


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("laplacian,propagator", METHODS)
def test_cuda_matches_cpu(laplacian, propagator):
    x, psi, V = small_case()
    kwargs = dict(dt=0.1, n_steps=5, laplacian=laplacian, propagator=propagator, internal_dt=0.005)
    cpu = schrodinger.simulate(psi, V, x, **kwargs)
    cuda = schrodinger.simulate(psi.cuda(), V.cuda(), x.cuda(), **kwargs)
    assert cuda.device.type == "cuda"
    assert torch.allclose(cuda.cpu(), cpu, rtol=0, atol=1e-10)


@pytest.mark.parametrize("laplacian,propagator", METHODS)
def test_bench_per_run_references_agree(laplacian, propagator):
    """The plain numpy/scipy loops that `graphqd bench wave` times compute the same thing."""
    from graphqd.bench import wave as bench_wave

    x, psi, V = small_case(seed=2)
    dx = schrodinger.spacing(x)
    ours = schrodinger.simulate(psi, V, x, dt=0.1, n_steps=3, laplacian=laplacian, propagator=propagator,
                                internal_dt=0.01).numpy()
    if propagator == "exact":
        reference = bench_wave.reference_exact(psi.numpy(), V.numpy(), dx, laplacian, 0.1, 3)
    else:
        reference = bench_wave.reference_split(psi.numpy(), V.numpy(), dx, laplacian, 0.01, 10, 3)
    assert np.abs(ours - reference).max() < 1e-10
