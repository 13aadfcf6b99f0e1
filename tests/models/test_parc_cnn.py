"""CNN PARC and the single recurrent CNN: the paper's layer list, shapes on any L, batch vs
single, translation equivariance (circular padding), the optional Hermitian projection,
the dense layout of a batch, and refusal of a partial band."""
import pytest
import torch
from torch import nn

from graphqd import keys as K
from graphqd.errors import GraphqdError
from graphqd.graphs import band_graph, band_translation_permutation, translation_permutation
from graphqd.graphs.holstein import HolsteinGraphSpec, band_to_dense, dense_to_band, graph_batch
from graphqd.models.layers import DenseLayout, ParcNet, ResidualBlock, dense_factories
from graphqd.models.normalization import Normalization
from graphqd.models.parc_cnn import CNNPARC  # noqa: F401  (imports register the models)
from graphqd.models.recurrent_cnn import RecurrentCNN  # noqa: F401
from graphqd.models.registry import build_model, validate_model_section

STATS = {"Q": {"mean": [0.1], "std": [0.5], "step_std": [0.02], "rate_std": [0.3]},
         "P": {"mean": [0.0], "std": [0.4], "step_std": [0.03], "rate_std": [0.2]},
         "rho": {"mean": [0.1, 0.0], "std": [0.2, 0.1], "step_std": [0.01, 0.01], "rate_std": [0.1, 0.1]}}
MODELS = ["parc_cnn", "recurrent_cnn"]


def build_cnn(name, dtype=torch.float64, seed=0, **keys):
    torch.manual_seed(seed)
    section = validate_model_section({"name": name, "width": 8, "readout_scale": 1.0, "activation": "silu", **keys})
    model = build_model(section, Normalization(STATS, dt=0.08)).to(dtype).eval()
    return model, model.graph_spec({k: v for k, v in section.items() if k != "name"})


def cnn_state(L, spec, count=1, dtype=torch.float64, seed=1):
    generator = torch.Generator().manual_seed(seed)
    A = torch.randn(count, L, L, dtype=torch.complex128, generator=generator)
    rho = (A + A.mH) / 4 + 0.5 * torch.eye(L)
    return {K.Q: torch.randn(count * L, generator=generator, dtype=dtype),
            K.P: torch.randn(count * L, generator=generator, dtype=dtype),
            K.RHO: dense_to_band(rho, L, True, spec).to(dtype).reshape(-1, 2)}


def test_parc_network_is_the_papers_layer_list():
    make_conv, make_dropout = dense_factories(2)
    net = ParcNet(make_conv, make_dropout, 2, 2, width=128, depth=2, dropout=0.2, extra_dropout=True)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    kernels = [c.kernel_size[0] for c in convs]
    assert kernels == [3] * 6 + [7, 1, 1, 3]  # two ResNet blocks, 7×7, two 1×1, final 3×3
    assert max(c.out_channels for c in convs) == 128 and convs[-1].bias is None
    assert all(c.padding_mode == "circular" for c in convs if c.kernel_size[0] > 1)
    assert sum(isinstance(m, ResidualBlock) for m in net.modules()) == 2
    assert sum(isinstance(m, nn.Dropout2d) for m in net.modules()) == 2
    line = ParcNet(*dense_factories(1), 1, 1, width=32)
    assert any(isinstance(m, nn.Dropout1d) for m in line.modules())
    assert line(torch.randn(3, 1, 10)).shape == (3, 1, 10)


@pytest.mark.parametrize("name", MODELS)
def test_shapes_on_any_chain_length_float32(name):
    model, spec = build_cnn(name, dtype=torch.float32)
    for L in (8, 12, 5):
        out = model(graph_batch(L, True, spec, 2), cnn_state(L, spec, 2, torch.float32))
        assert out[K.Q].shape == out[K.P].shape == (2 * L,) and out[K.RHO].shape == (2 * L * L, 2)
        assert all(torch.isfinite(v).all() for v in out.values())
        if name == "parc_cnn":
            assert out[K.RHO_RATE].shape == (2 * L * L, 2) and out[K.Q_RATE].shape == (2 * L,)
        else:
            assert set(out) == {"Q", "P", "rho"}
    assert spec.kernel_radius == 0 and band_graph(7, spec.band_radius, True, 0).num_nodes == 49


@pytest.mark.parametrize("name", MODELS)
def test_batch_equals_single(name):
    model, spec = build_cnn(name, dropout=0.3, q_embedding="pair")
    L, count = 8, 3
    state = cnn_state(L, spec, count)
    M = L * L
    batched = model(graph_batch(L, True, spec, count), state)
    single = graph_batch(L, True, spec, 1)
    for g in range(count):
        part = {K.Q: state[K.Q][g * L:(g + 1) * L], K.P: state[K.P][g * L:(g + 1) * L],
                K.RHO: state[K.RHO][g * M:(g + 1) * M]}
        for key, value in model(single, part).items():
            rows = L if value.dim() == 1 else M
            torch.testing.assert_close(batched[key][g * rows:(g + 1) * rows], value, rtol=0, atol=1e-8)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("q_embedding", ["pair", "diagonal"])
def test_translation_equivariance(name, q_embedding):
    model, spec = build_cnn(name, q_embedding=q_embedding)
    L, shift = 10, 3
    state = cnn_state(L, spec)
    graph = band_graph(L, spec.band_radius, True, 0)
    sites, band = translation_permutation(L, shift), band_translation_permutation(graph, shift)
    batch = graph_batch(L, True, spec, 1)
    moved = model(batch, {K.Q: state[K.Q][sites], K.P: state[K.P][sites], K.RHO: state[K.RHO][band]})
    out = model(batch, state)
    for key, value in out.items():
        assert (value - state.get(key, 0 * value)).abs().max() > 1e-5  # every output moves
        perm = sites if value.dim() == 1 else band
        torch.testing.assert_close(moved[key], value[perm], rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", MODELS)
def test_hermitian_projection_switch(name):
    L, count = 6, 2
    trace = lambda m: m.diagonal(dim1=-2, dim2=-1).sum(-1)  # noqa: E731
    for projection in (True, False):
        model, spec = build_cnn(name, hermitian_projection=projection)
        state = cnn_state(L, spec, count)
        rho = band_to_dense(state[K.RHO].reshape(count, -1, 2), L, True, spec)
        new = band_to_dense(model(graph_batch(L, True, spec, count), state)[K.RHO].reshape(count, -1, 2), L, True,
                            spec)
        if projection:
            assert torch.equal(new, new.mH)
            torch.testing.assert_close(trace(new), trace(rho), rtol=0, atol=1e-13)
        else:  # the paper's unconstrained CNN
            assert (new - new.mH).abs().max() > 1e-6


def test_dense_layout_round_trip():
    spec = HolsteinGraphSpec(site_cutoff=1, band_radius=1 << 30, kernel_radius=0)
    L, count = 5, 3
    batch = graph_batch(L, True, spec, count)
    layout = DenseLayout(batch, count * L, torch.device("cpu"))
    band = torch.randn(count * L * L, 3)
    dense = layout.band_to_dense(band)
    assert dense.shape == (count, 3, L, L)
    sites = batch[K.BAND_SITES]
    n = 17  # entry (i, j) of chain g sits at dense[g, :, i − gL, j − gL]
    g = int(sites[n, 0]) // L
    assert torch.equal(dense[g, :, int(sites[n, 0]) - g * L, int(sites[n, 1]) - g * L], band[n])
    assert torch.equal(layout.dense_to_band(dense), band)
    x = torch.randn(count * L, 2)
    assert layout.sites_to_dense(x).shape == (count, 2, L) and torch.equal(layout.dense_to_sites(
        layout.sites_to_dense(x)), x)


@pytest.mark.parametrize("name", MODELS)
def test_partial_band_is_refused(name):
    model, _ = build_cnn(name)
    spec = HolsteinGraphSpec(site_cutoff=1, band_radius=2, kernel_radius=0)
    L = 8
    state = cnn_state(L, HolsteinGraphSpec(site_cutoff=1, band_radius=2, kernel_radius=0))
    with pytest.raises(GraphqdError, match="whole 8×8 density matrix"):
        model(graph_batch(L, True, spec, 1), state)


@pytest.mark.parametrize("width", [32, 64, 128, 256])
def test_parameter_counts(width):
    counts = {}
    for name in MODELS:
        model = build_model(validate_model_section({"name": name, "width": width}), Normalization(STATS, dt=0.08))
        counts[name] = sum(p.numel() for p in model.parameters())
    assert counts["recurrent_cnn"] < counts["parc_cnn"]
    print(f"width {width}: CNN PARC {counts['parc_cnn']:,}, recurrent CNN {counts['recurrent_cnn']:,}")
