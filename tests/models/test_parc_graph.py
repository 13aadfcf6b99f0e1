"""Graph PARC: shapes, batch vs single, translation and inversion equivariance, exact Hermiticity
and trace of ρ, equality with the CNN PARC on a band covering the whole matrix, parameter
counts, and a model built for L = 8 running on L = 256."""
import time

import pytest
import torch

from graphqd import keys as K
from graphqd.graphs import (band_graph, band_inversion_permutation, band_translation_permutation,
                            chain_inversion_permutation, translation_permutation)
from graphqd.graphs.holstein import band_to_dense, dense_to_band, graph_batch
from graphqd.models.layers import copy_dense_weights
from graphqd.models.normalization import Normalization
from graphqd.models.parc_cnn import CNNPARC
from graphqd.models.parc_graph import GraphPARC
from graphqd.models.registry import build_model, validate_model_section

STATS = {"Q": {"mean": [0.1], "std": [0.5], "step_std": [0.02], "rate_std": [0.3]},
         "P": {"mean": [0.0], "std": [0.4], "step_std": [0.03], "rate_std": [0.2]},
         "rho": {"mean": [0.1, 0.0], "std": [0.2, 0.1], "step_std": [0.01, 0.01], "rate_std": [0.1, 0.1]}}


def build_parc(name="parc_graph", dtype=torch.float64, seed=0, constants=None, **keys):
    torch.manual_seed(seed)
    # silu: no dead units, so that every output of these narrow test networks depends on its input
    section = validate_model_section({"name": name, "width": 8, "readout_scale": 1.0, "activation": "silu", **keys})
    model = build_model(section, Normalization(STATS, dt=0.08, constants=constants)).to(dtype).eval()
    return model, model.graph_spec({k: v for k, v in section.items() if k != "name"})


def hermitian_state(L, spec, count=1, periodic=True, dtype=torch.float64, seed=1):
    """Random Q, P and a random Hermitian ρ (as its band), `count` chains."""
    generator = torch.Generator().manual_seed(seed)
    A = torch.randn(count, L, L, dtype=torch.complex128, generator=generator)
    rho = (A + A.mH) / 4 + 0.5 * torch.eye(L)
    band = dense_to_band(rho, L, periodic, spec).to(dtype)
    return {K.Q: torch.randn(count * L, generator=generator, dtype=dtype),
            K.P: torch.randn(count * L, generator=generator, dtype=dtype),
            K.RHO: band.reshape(-1, 2)}


def chain(state, g, L, M):
    return {K.Q: state[K.Q][g * L:(g + 1) * L], K.P: state[K.P][g * L:(g + 1) * L],
            K.RHO: state[K.RHO][g * M:(g + 1) * M]}


def test_output_keys_and_shapes_float32():
    model, spec = build_parc(dtype=torch.float32, band_radius=2)
    for L, periodic in ((8, True), (11, True), (7, False)):
        M = band_graph(L, 2, periodic, spec.kernel_radius).num_nodes
        state = hermitian_state(L, spec, count=2, periodic=periodic, dtype=torch.float32)
        out = model(graph_batch(L, periodic, spec, 2), state)
        assert set(out) == {"Q", "P", "rho", "Q_rate", "P_rate", "rho_rate"}
        assert out[K.Q].shape == out[K.Q_RATE].shape == (2 * L,) and out[K.P].shape == (2 * L,)
        assert out[K.RHO].shape == out[K.RHO_RATE].shape == (2 * M, 2) and out[K.RHO].dtype == torch.float32
        assert all(torch.isfinite(v).all() for v in out.values())
        assert all(v.abs().max() > 1e-5 for k, v in out.items() if k.endswith("_rate"))
        assert all((out[k] - state[k]).abs().max() > 1e-5 for k in state)
    assert spec.band_radius == 2 and spec.kernel_radius == spec.site_cutoff == 3


@pytest.mark.parametrize("keys", [{"band_radius": 2}, {"band_radius": 3, "q_embedding": "diagonal", "depth": 3},
                                  {"band_radius": 2, "splitting": "strang"},
                                  {"band_radius": 2, "splitting": "strang", "onsite_phonons": True}])
def test_batch_equals_single(keys):
    model, spec = build_parc(dropout=0.2, **keys)  # eval mode: dropout is the identity
    L, count = 9, 3
    state = hermitian_state(L, spec, count)
    M = state[K.RHO].size(0) // count
    batched = model(graph_batch(L, True, spec, count), state)
    single = graph_batch(L, True, spec, 1)
    for g in range(count):
        out = model(single, chain(state, g, L, M))
        for key, value in out.items():
            rows = L if value.dim() == 1 else M
            torch.testing.assert_close(batched[key][g * rows:(g + 1) * rows], value, rtol=0, atol=1e-8)


def test_channel_dropout_drops_whole_channels_per_chain():
    model, spec = build_parc(dropout=0.5, band_radius=1)
    model.train()
    L = 9
    state = hermitian_state(L, spec, 2)
    torch.manual_seed(3)
    a = model(graph_batch(L, True, spec, 2), state)
    torch.manual_seed(4)
    b = model(graph_batch(L, True, spec, 2), state)
    assert not torch.allclose(a[K.Q], b[K.Q])  # training mode: dropout acts
    dropout = model.derivative_rho.dropout.dropout
    x = torch.ones(6, 16, dtype=torch.float64)
    y = dropout(x, torch.tensor([0, 0, 0, 1, 1, 1]))
    assert torch.equal(y[0], y[2]) and torch.equal(y[3], y[5])  # one mask per chain
    assert set(y.unique().tolist()) <= {0.0, 2.0}


@pytest.mark.parametrize("shift", [1, 4])
@pytest.mark.parametrize("band_radius,splitting", [(2, "simultaneous"), (4, "simultaneous"), (2, "strang")])
def test_translation_equivariance(shift, band_radius, splitting):
    model, spec = build_parc(band_radius=band_radius, splitting=splitting)
    L = 9  # band radius 4 on L = 9: the whole matrix
    state = hermitian_state(L, spec)
    graph = band_graph(L, band_radius, True, spec.kernel_radius)
    sites, band = translation_permutation(L, shift), band_translation_permutation(graph, shift)
    batch = graph_batch(L, True, spec, 1)
    moved = model(batch, {K.Q: state[K.Q][sites], K.P: state[K.P][sites], K.RHO: state[K.RHO][band]})
    out = model(batch, state)
    for key, value in out.items():
        perm = sites if value.dim() == 1 else band
        torch.testing.assert_close(moved[key], value[perm], rtol=0, atol=1e-10)


@pytest.mark.parametrize("onsite", [True, False])
def test_onsite_phonon_networks_see_one_site(onsite):
    """onsite_phonons: F_Q, S_Q, F_P, S_P of site i read site i alone (dQ_i/dt = P_i/m and
    dP_i/dt = g(n_i − ½) − K Q_i are on-site); the ρ networks keep their kernels."""
    model, spec = build_parc(band_radius=2, onsite_phonons=onsite)
    L = 9
    state = hermitian_state(L, spec)
    batch = graph_batch(L, True, spec, 1)
    context = model.context(batch, state)
    for network, channels in ((model.derivative_Q, 1), (model.integral_Q, 1), (model.derivative_P, 2),
                              (model.integral_P, 1)):
        x = torch.randn(L, channels, dtype=torch.float64, generator=torch.Generator().manual_seed(channels))
        kicked = x.clone()
        kicked[4] += 1.0
        change = (model.apply_site(network, kicked, context) - model.apply_site(network, x, context)).abs()[:, 0]
        assert change[4] > 1e-6
        others = torch.cat([change[:4], change[5:]])
        assert (others.max() == 0) if onsite else (others.max() > 1e-6)
    assert spec.site_cutoff == (0 if onsite else 3) and spec.kernel_radius == 3
    band_change = model(batch, {**state, K.Q: state[K.Q] + torch.eye(L, dtype=torch.float64)[4]})[K.RHO_RATE]
    assert (band_change - model(batch, state)[K.RHO_RATE]).abs().max() > 1e-6


@pytest.mark.parametrize("periodic,splitting", [(True, "simultaneous"), (False, "simultaneous"), (False, "strang")])
def test_inversion_equivariance_with_tied_weights(periodic, splitting):
    model, spec = build_parc(band_radius=2, tie_inversion=True, splitting=splitting)
    L = 9
    state = hermitian_state(L, spec, periodic=periodic)
    graph = band_graph(L, 2, periodic, spec.kernel_radius)
    sites, band = chain_inversion_permutation(L, periodic), band_inversion_permutation(graph)
    batch = graph_batch(L, periodic, spec, 1)
    moved = model(batch, {K.Q: state[K.Q][sites], K.P: state[K.P][sites], K.RHO: state[K.RHO][band]})
    out = model(batch, state)
    for key, value in out.items():
        perm = sites if value.dim() == 1 else band
        torch.testing.assert_close(moved[key], value[perm], rtol=0, atol=1e-10)
    untied, _ = build_parc(band_radius=2)
    moved = untied(batch, {K.Q: state[K.Q][sites], K.P: state[K.P][sites], K.RHO: state[K.RHO][band]})
    reference = untied(batch, state)
    assert (moved[K.Q_RATE] - reference[K.Q_RATE][sites]).abs().max() > 1e-4  # untied weights: not equivariant
    assert (moved[K.RHO_RATE] - reference[K.RHO_RATE][band]).abs().max() > 1e-4


@pytest.mark.parametrize("splitting", ["simultaneous", "strang"])
def test_density_matrix_stays_hermitian_with_fixed_trace(splitting):
    L, count = 8, 2
    model, spec = build_parc(band_radius=4, splitting=splitting)  # the whole matrix: compare dense
    state = hermitian_state(L, spec, count)
    out = model(graph_batch(L, True, spec, count), state)
    rho = band_to_dense(state[K.RHO].reshape(count, -1, 2), L, True, spec)
    new = band_to_dense(out[K.RHO].reshape(count, -1, 2), L, True, spec)
    rate = band_to_dense(out[K.RHO_RATE].reshape(count, -1, 2), L, True, spec)
    assert torch.equal(new, new.mH)  # bit for bit
    assert torch.equal(rate, rate.mH)
    trace = lambda m: m.diagonal(dim1=-2, dim2=-1).sum(-1)  # noqa: E731
    torch.testing.assert_close(trace(new), trace(rho), rtol=0, atol=1e-13)
    assert trace(rate).abs().max() < 1e-13
    assert (new - rho).abs().max() > 1e-4  # the step did change ρ

    # a partial band: Hermitian partner entries and the diagonal are in the band
    model, spec = build_parc(band_radius=1, seed=2)
    state = hermitian_state(L, spec, count)
    out = model(graph_batch(L, True, spec, count), state)[K.RHO]
    partner = graph_batch(L, True, spec, count)[K.BAND_PARTNER]
    assert torch.equal(out[partner] * out.new_tensor([1.0, -1.0]), out)

    # the constraint switched off: the step breaks both
    model, spec = build_parc(band_radius=4, hermitian_projection=False)
    state = hermitian_state(L, spec, count)
    new = band_to_dense(model(graph_batch(L, True, spec, count), state)[K.RHO].reshape(count, -1, 2), L, True, spec)
    assert (new - new.mH).abs().max() > 1e-6 and (trace(new) - trace(rho)).abs().max() > 1e-8


@pytest.mark.parametrize("splitting", ["simultaneous", "strang"])
def test_splitting_order(splitting):
    """What each differentiator reads. Simultaneous (the paper): F_Q(P), F_P(Q, n), F_ρ(Q, ρ), all at t.
    Strang: F_Q(P), then F_ρ and F_P at Q½ = Q + ½ S_Q(F_Q(P)) with n̄ = ½(n + n'), then F_Q(P')."""
    L = 8
    model, spec = build_parc(band_radius=4, splitting=splitting)
    inputs, outputs = {}, {}
    def record(name):
        def hook(module, args, result):
            inputs.setdefault(name, []).append(args[0])
            outputs.setdefault(name, []).append(result)
        return hook

    for name in ("derivative_Q", "derivative_P", "derivative_rho", "integral_Q"):
        getattr(model, name).register_forward_hook(record(name))
    state = hermitian_state(L, spec)
    batch = graph_batch(L, True, spec, 1)
    out = model(batch, state)
    norm, diagonal, sites = model.normalization, batch[K.BAND_DIAGONAL], batch[K.BAND_SITES]
    n = norm.normalize(K.RHO, state[K.RHO])[diagonal, 0]
    torch.testing.assert_close(inputs["derivative_Q"][0][:, 0], norm.normalize(K.P, state[K.P]), rtol=0, atol=0)
    if splitting == "simultaneous":
        assert len(inputs["derivative_Q"]) == 1
        Q_read, n_read = state[K.Q], n
    else:
        assert len(inputs["derivative_Q"]) == 2 and model.rate_label == "midpoint"
        torch.testing.assert_close(inputs["derivative_Q"][1][:, 0], norm.normalize(K.P, out[K.P]), rtol=0, atol=1e-14)
        Q_read = state[K.Q] + 0.5 * outputs["integral_Q"][0][:, 0] * norm.get(K.Q, "step_std")
        n_read = 0.5 * (n + norm.normalize(K.RHO, out[K.RHO])[diagonal, 0])
    q = norm.normalize(K.Q, Q_read)
    torch.testing.assert_close(inputs["derivative_P"][0], torch.stack([q, n_read], -1), rtol=0, atol=1e-14)
    torch.testing.assert_close(inputs["derivative_rho"][0][:, 2:], torch.stack([q[sites[:, 0]], q[sites[:, 1]]], -1),
                               rtol=0, atol=1e-14)


@pytest.mark.parametrize("q_embedding", ["pair", "diagonal"])
@pytest.mark.parametrize("projection", [True, False])
def test_full_band_on_a_ring_equals_cnn_parc(q_embedding, projection):
    """Band covering every entry + periodic chain: graph PARC with the CNN's weights is the
    circular-padded CNN PARC (Conv1d for Q, P; Conv2d over ρ), to float64 round-off."""
    keys = dict(q_embedding=q_embedding, hermitian_projection=projection, depth=2, dropout=0.1)
    cnn, cnn_spec = build_parc("parc_cnn", seed=5, **keys)
    graph, spec = build_parc("parc_graph", band_radius=4, seed=6, **keys)
    copy_dense_weights(graph, cnn)
    assert sum(p.numel() for p in graph.parameters()) == sum(p.numel() for p in cnn.parameters())
    L, count = 8, 2
    state = hermitian_state(L, spec, count)
    rho = band_to_dense(state[K.RHO].reshape(count, -1, 2), L, True, spec)
    cnn_state = dict(state, rho=dense_to_band(rho, L, True, cnn_spec).reshape(-1, 2))
    a = graph(graph_batch(L, True, spec, count), state)
    b = cnn(graph_batch(L, True, cnn_spec, count), cnn_state)
    for key in (K.Q, K.P, K.Q_RATE, K.P_RATE):
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-10)
    for key in (K.RHO, K.RHO_RATE):
        dense_a = band_to_dense(a[key].reshape(count, -1, 2), L, True, spec)
        dense_b = band_to_dense(b[key].reshape(count, -1, 2), L, True, cnn_spec)
        torch.testing.assert_close(dense_a, dense_b, rtol=0, atol=1e-10)


def parc_net_parameters(width, depth, r, wide, inputs, outputs, dim):
    """Parameter count of one ParcNet from its layer list (weights + biases, no read-out bias)."""
    taps = lambda radius: (2 * radius + 1) ** dim  # noqa: E731
    widths = [width // 2] + [width] * (depth - 1)
    count, previous = 0, inputs
    for w in widths:
        count += (previous * w + 2 * w * w) * taps(r) + 3 * w
        previous = w
    count += previous * width * taps(wide) + width
    count += width * (width // 2) + width // 2 + (width // 2) * (width // 4) + width // 4
    return count + (width // 4) * outputs * taps(r)


@pytest.mark.parametrize("width", [32, 64, 128, 256])
def test_parameter_counts(width):
    counts = {}
    for name, embedding in (("parc_graph", "pair"), ("parc_cnn", "diagonal")):
        section = validate_model_section({"name": name, "width": width, "q_embedding": embedding})
        model = build_model(section, Normalization(STATS, dt=0.08))
        counts[name] = sum(p.numel() for p in model.parameters())
        expected = sum(parc_net_parameters(width, 2, 1, 3, i, o, d) for i, o, d in
                       ((1, 1, 1), (2, 1, 1), (4 if embedding == "pair" else 3, 2, 2), (1, 1, 1), (1, 1, 1),
                        (2, 2, 2)))
        assert counts[name] == expected
    tied = build_model(validate_model_section({"name": "parc_graph", "width": width, "tie_inversion": True}),
                       Normalization(STATS, dt=0.08))
    assert sum(p.numel() for p in tied.parameters()) < counts["parc_graph"]
    onsite = build_model(validate_model_section({"name": "parc_graph", "width": width, "onsite_phonons": True}),
                         Normalization(STATS, dt=0.08))
    onsite_expected = sum(parc_net_parameters(width, 2, r, w, i, o, d) for r, w, i, o, d in
                          ((0, 0, 1, 1, 1), (0, 0, 2, 1, 1), (1, 3, 4, 2, 2), (0, 0, 1, 1, 1), (0, 0, 1, 1, 1),
                           (1, 3, 2, 2, 2)))
    assert sum(p.numel() for p in onsite.parameters()) == onsite_expected
    print(f"width {width}: graph PARC {counts['parc_graph']:,}, CNN PARC {counts['parc_cnn']:,}, "
          f"graph PARC tied {sum(p.numel() for p in tied.parameters()):,}, on-site phonons {onsite_expected:,}")


def test_model_for_l8_runs_on_l256():
    """The graphs are built for the chain at hand: the same weights run on L = 8 and L = 256."""
    model, spec = build_parc(dtype=torch.float32, width=16, depth=1, band_radius=2)
    with torch.no_grad():
        small = model(graph_batch(8, True, spec, 1), hermitian_state(8, spec, dtype=torch.float32))
        assert small[K.RHO].shape == (8 * 5, 2)
        L = 256
        batch = graph_batch(L, True, spec, 1)
        state = hermitian_state(L, spec, dtype=torch.float32)
        start = time.perf_counter()
        out = model(batch, state)
        elapsed = time.perf_counter() - start
    assert out[K.RHO].shape == (L * 5, 2) and torch.isfinite(out[K.RHO]).all()
    print(f"graph PARC width 16, depth 1, band radius 2, L = 256: {elapsed * 1e3:.1f} ms per step")
    assert elapsed < 30.0  # generous: the test machine's cores are shared
