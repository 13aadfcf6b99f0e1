"""Wave emulators on the grid graph: parameter counts, assembly against an explicit loop,
batch vs single, translation equivariance, complex linearity and the norm option."""
import math

import pytest
import torch
from torch_geometric.data import Batch

from graphqd import keys as K
from graphqd.data.wave import WaveSample
from graphqd.graphs.wave import window_fields
from graphqd.models.normalization import Normalization
from graphqd.models.registry import build_model, model_class, validate_model_section

NORM = Normalization({K.PSI: {"mean": [0.0, 0.0], "std": [0.1, 0.1], "step_std": [0.01, 0.01],
                              "rate_std": [0.1, 0.1]}}, 0.1)
WINDOW_MODELS = {"wave_linear": 3220, "wave_dense": 27163, "wave_conv": 28889, "wave_gru": 40204}
MODELS = [*WINDOW_MODELS, "wave_kernel", "wave_field"]


def model(name, **keys):
    torch.manual_seed(0)
    built = build_model(validate_model_section({"name": name, **keys}), NORM).double()
    if name == "wave_kernel":  # a kernel that moves: the untrained one is the identity
        torch.nn.init.normal_(built.kernel_net[-1].weight, std=0.1)
    return built


def grid_sample(net, points=48, seed=0, shift=0):
    generator = torch.Generator().manual_seed(seed)
    psi = torch.randn(points, net.spec.frames, 2, dtype=torch.float64, generator=generator)
    V = 14 * torch.rand(points, dtype=torch.float64, generator=generator)
    sample = WaveSample(num_nodes=points, **{K.PSI: psi.roll(shift, 0), K.POTENTIAL: V.roll(shift, 0)},
                        **window_fields(points, net.spec, periodic=True))
    return Batch.from_data_list([sample])


@pytest.mark.parametrize("name,count", WINDOW_MODELS.items())
def test_parameter_counts_of_the_paper(name, count):
    assert sum(p.numel() for p in model(name).parameters()) == count
    assert model_class(name).system == "wave"


@pytest.mark.parametrize("name", WINDOW_MODELS)
def test_grid_step_is_the_window_average_of_an_explicit_loop(name):
    net = model(name)
    batch = grid_sample(net, points=30)
    new = net(batch, {K.PSI: batch[K.PSI]})[K.PSI]
    psi, V = batch[K.PSI], batch[K.POTENTIAL] / 14
    points, half = 30, 11
    total, weights = torch.zeros(points, 2, dtype=torch.float64), torch.zeros(points, dtype=torch.float64)
    for c in range(points):  # the window of every centre, its 23 predictions spread with w(k)
        members = [(c + k) % points for k in range(-half, half + 1)]
        window = torch.cat([psi[members], V[members, None, None].expand(-1, 4, 1)], -1).transpose(0, 1)
        prediction = net.net(window[None])[0]
        for slot, m in enumerate(members):
            w = math.exp(-((slot - half) ** 2) / (2 * 2.8 ** 2))
            total[m] += w * prediction[slot]
            weights[m] += w
    torch.testing.assert_close(new[:, -1], total / weights[:, None])
    torch.testing.assert_close(new[:, :-1], psi[:, 1:])


@pytest.mark.parametrize("name", MODELS)
def test_batch_equals_single_and_translation_equivariance(name):
    net = model(name)
    singles = [grid_sample(net, seed=s) for s in range(3)]
    batch = Batch.from_data_list([s.to_data_list()[0] for s in singles])
    together = net(batch, {K.PSI: batch[K.PSI]})[K.PSI]
    alone = torch.cat([net(s, {K.PSI: s[K.PSI]})[K.PSI] for s in singles])
    torch.testing.assert_close(together, alone, rtol=1e-12, atol=1e-12)
    moved = grid_sample(net, seed=0, shift=7)
    torch.testing.assert_close(net(moved, {K.PSI: moved[K.PSI]})[K.PSI], alone[:48].roll(7, 0), rtol=1e-12,
                               atol=1e-12)


def test_kernel_model_is_complex_linear_and_starts_at_the_identity():
    net = model("wave_kernel")
    batch = grid_sample(net)
    psi = batch[K.PSI]

    def step(values):
        return net(batch, {K.PSI: values})[K.PSI][:, -1]

    def as_complex(values):
        return torch.complex(values[..., 0], values[..., 1])

    phase = torch.tensor([math.cos(0.7), math.sin(0.7)], dtype=torch.float64)
    rotated = torch.stack([psi[..., 0] * phase[0] - psi[..., 1] * phase[1],
                           psi[..., 0] * phase[1] + psi[..., 1] * phase[0]], -1)
    torch.testing.assert_close(as_complex(step(rotated)), as_complex(step(psi)) * complex(*phase.tolist()))
    other = grid_sample(net, seed=5)[K.PSI]
    torch.testing.assert_close(step(psi + 2 * other), step(psi) + 2 * step(other))
    fresh = build_model(validate_model_section({"name": "wave_kernel"}), NORM).double()
    torch.testing.assert_close(fresh(batch, {K.PSI: psi})[K.PSI][:, -1], psi[:, -1])
    net.eval()
    with torch.no_grad():  # a rollout: the sparse propagator, built once and reused
        fast = [step(psi), step(other)]
    torch.testing.assert_close(fast[0], step(psi))  # with gradients: the window gather
    torch.testing.assert_close(fast[1], step(other))
    with torch.no_grad():  # new weights (an optimiser step) build a new propagator
        net.base_kernel.add_(0.01)
        moved = step(psi)
    torch.testing.assert_close(moved, step(psi))
    assert not torch.allclose(moved, fast[0])


def test_field_model_is_local_with_the_reach_of_its_spec():
    net = model("wave_field")
    batch = grid_sample(net)
    psi = batch[K.PSI].clone().requires_grad_(True)
    net(batch, {K.PSI: psi})[K.PSI][20, -1].sum().backward()
    touched = psi.grad.abs().sum((1, 2)).nonzero().flatten().tolist()
    reach = net.spec.margin
    assert touched == list(range(20 - reach, 20 + reach + 1))
    assert sum(p.numel() for p in net.parameters()) == 38498  # at the GRU's scale (40,204)


@pytest.mark.parametrize("laplacian", ["fd3", "spectral"])
def test_kernel_free_start_moves_a_packet_as_exact_propagation(laplacian):
    from graphqd.physics import schrodinger
    x = schrodinger.grid()
    psi = schrodinger.packet(x, 30.0, 2.0, 5.0)
    truth = schrodinger.simulate(psi[None], torch.zeros(1, 1024, dtype=torch.float64), x, 0.1, 1, laplacian,
                                 "exact")[0, 1]
    net = build_model(validate_model_section({"name": "wave_kernel", "width": 47, "free_start": True,
                                              "free_laplacian": laplacian}), NORM).double()
    sample = WaveSample(num_nodes=1024, **{K.PSI: torch.stack([psi.real, psi.imag], -1)[:, None],
                                          K.POTENTIAL: torch.zeros(1024, dtype=torch.float64)},
                        **window_fields(1024, net.spec, periodic=True))
    batch = Batch.from_data_list([sample])
    with torch.no_grad():
        step = net(batch, {K.PSI: batch[K.PSI]})[K.PSI][:, -1]
    assert float((torch.complex(step[:, 0], step[:, 1]) - truth).abs().max()) < 1e-5


@pytest.mark.parametrize("name", ["wave_gru", "wave_kernel", "wave_field"])
def test_norm_preserving_keeps_the_norm_of_a_whole_grid(name):
    net = model(name, norm_preserving=True)
    batch = grid_sample(net)
    new = net(batch, {K.PSI: batch[K.PSI]})[K.PSI]
    torch.testing.assert_close(new[:, -1].pow(2).sum(), batch[K.PSI][:, -1].pow(2).sum())


def test_anchored_kernel_is_the_free_kernel_where_the_potential_vanishes():
    """anchor_free: K0 is no parameter, and MLP(V) − MLP(0) is 0 on a window with V = 0 whatever the
    weights (here random), and not elsewhere; without it the random MLP changes the free kernel too."""
    anchored, plain = model("wave_kernel", width=5, anchor_free=True), model("wave_kernel", width=5)
    assert all(parameter is not anchored.base_kernel for parameter in anchored.parameters())
    for net in (anchored, plain):
        torch.nn.init.normal_(net.kernel_net[-1].bias, std=0.1)
    windows = torch.zeros(2, 5, dtype=torch.float64)
    windows[1, 3] = 4.0
    with torch.no_grad():
        kernels, free = anchored.kernel(windows), anchored.base_kernel.expand(2, 5, 2)
        torch.testing.assert_close(kernels[0], free[0], rtol=0, atol=1e-15)
        assert float((kernels[1] - free[1]).abs().max()) > 1e-3
        assert float((plain.kernel(windows)[0] - plain.base_kernel).abs().max()) > 1e-3


def test_kernel_strang_start_is_one_strang_step_of_the_frame_spacing():
    """Untrained, free_start + strang_phase is e^{-iVΔt/2} U_free e^{-iVΔt/2}, here against the
    same step with U_free applied by FFT (the dispersion of the 3-point Laplacian)."""
    from graphqd.physics import schrodinger
    x = schrodinger.grid()
    dx, dt = schrodinger.spacing(x), NORM.dt
    psi = schrodinger.packet(x, 40.0, 2.0, 5.0)
    V = 6.0 * torch.exp(-((x - 50.0) / 2.0) ** 2)
    half = torch.exp(-0.5j * dt * V)
    omega = (1 - torch.cos(schrodinger.wavenumbers(x) * dx)) / dx ** 2
    truth = half * torch.fft.ifft(torch.exp(-1j * dt * omega) * torch.fft.fft(half * psi))
    net = build_model(validate_model_section({"name": "wave_kernel", "width": 47, "free_start": True,
                                              "strang_phase": True}), NORM).double()
    sample = WaveSample(num_nodes=1024, **{K.PSI: torch.stack([psi.real, psi.imag], -1)[:, None], K.POTENTIAL: V},
                        **window_fields(1024, net.spec, periodic=True))
    batch = Batch.from_data_list([sample])
    with torch.no_grad():
        step = net(batch, {K.PSI: batch[K.PSI]})[K.PSI][:, -1]
        moved = float((torch.complex(step[:, 0], step[:, 1]) - psi).abs().max())
    assert float((torch.complex(step[:, 0], step[:, 1]) - truth).abs().max()) < 1e-4 * moved
