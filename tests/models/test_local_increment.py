"""The reference surrogate: batch vs single, translation equivariance, Hermitian traceless
updates, any chain length, registry errors."""
import pytest
import torch

from graphqd import keys as K
from graphqd.errors import ConfigError
from graphqd.graphs import band_graph, band_translation_permutation, translation_permutation
from graphqd.graphs.holstein import band_to_dense, dense_to_band, graph_batch
from graphqd.models.normalization import Normalization
from graphqd.models.registry import available, build_model, validate_model_section

STATS = {"Q": {"mean": [0.1], "std": [0.5], "step_std": [0.02], "rate_std": [0.3]},
         "P": {"mean": [0.0], "std": [0.4], "step_std": [0.03], "rate_std": [0.2]},
         "rho": {"mean": [0.1, 0.0], "std": [0.2, 0.1], "step_std": [0.01, 0.01], "rate_std": [0.1, 0.1]}}


def make_model(integrator="increment", band_radius=2, dtype=torch.float64):
    torch.manual_seed(0)
    section = validate_model_section({"name": "local_increment", "width": 6, "depth": 2, "band_radius": band_radius,
                                      "integrator": integrator})
    model = build_model(section, Normalization(STATS, dt=0.08)).to(dtype).eval()
    return model, model.graph_spec({k: v for k, v in section.items() if k != "name"})


def random_state(L, spec, count=1, dtype=torch.float64, seed=1):
    generator = torch.Generator().manual_seed(seed)
    M = band_graph(L, spec.band_radius, True, spec.kernel_radius).num_nodes
    return {K.Q: torch.randn(count * L, generator=generator, dtype=dtype),
            K.P: torch.randn(count * L, generator=generator, dtype=dtype),
            K.RHO: torch.randn(count * M, 2, generator=generator, dtype=dtype)}


@pytest.mark.parametrize("integrator", ["increment", "euler"])
def test_batch_equals_single(integrator):
    model, spec = make_model(integrator)
    L, count = 8, 3
    state = random_state(L, spec, count)
    batched = model(graph_batch(L, True, spec, count), state)
    single = graph_batch(L, True, spec, 1)
    M = state[K.RHO].size(0) // count
    for g in range(count):
        part = {K.Q: state[K.Q][g * L:(g + 1) * L], K.P: state[K.P][g * L:(g + 1) * L],
                K.RHO: state[K.RHO][g * M:(g + 1) * M]}
        out = model(single, part)
        for key in (K.Q, K.P):
            torch.testing.assert_close(batched[key][g * L:(g + 1) * L], out[key], rtol=0, atol=1e-12)
        torch.testing.assert_close(batched[K.RHO][g * M:(g + 1) * M], out[K.RHO], rtol=0, atol=1e-12)
    if integrator == "euler":
        assert set(batched) >= {"Q_rate", "P_rate", "rho_rate"}


@pytest.mark.parametrize("shift", [1, 3])
def test_translation_equivariance(shift):
    model, spec = make_model()
    L = 9
    state = random_state(L, spec)
    graph = band_graph(L, spec.band_radius, True, spec.kernel_radius)
    sites, band = translation_permutation(L, shift), band_translation_permutation(graph, shift)
    batch = graph_batch(L, True, spec, 1)
    moved = {K.Q: state[K.Q][sites], K.P: state[K.P][sites], K.RHO: state[K.RHO][band]}
    a, b = model(batch, moved), model(batch, state)
    torch.testing.assert_close(a[K.Q], b[K.Q][sites], rtol=0, atol=1e-12)
    torch.testing.assert_close(a[K.RHO], b[K.RHO][band], rtol=0, atol=1e-12)


def test_density_update_is_hermitian_and_traceless():
    model, spec = make_model(band_radius=3)
    L = 6  # band radius 3: the whole matrix
    batch = graph_batch(L, True, spec, 2)
    generator = torch.Generator().manual_seed(0)
    A = torch.randn(2, L, L, dtype=torch.complex128, generator=generator)
    rho = (A + A.mH) / 2
    state = {K.Q: torch.randn(2 * L, dtype=torch.float64), K.P: torch.randn(2 * L, dtype=torch.float64),
             K.RHO: dense_to_band(rho, L, True, spec).reshape(-1, 2)}
    out = band_to_dense(model(batch, state)[K.RHO].reshape(2, -1, 2), L, True, spec)
    torch.testing.assert_close(out, out.mH, rtol=0, atol=1e-12)
    torch.testing.assert_close(out.diagonal(dim1=-2, dim2=-1).sum(-1), rho.diagonal(dim1=-2, dim2=-1).sum(-1),
                               rtol=0, atol=1e-12)


def test_runs_on_any_chain_length_in_float32():
    model, spec = make_model(dtype=torch.float32)
    for L in (5, 64):
        out = model(graph_batch(L, True, spec, 1), random_state(L, spec, dtype=torch.float32))
        assert out[K.Q].shape == (L,) and out[K.RHO].shape == (L * 5, 2) and out[K.Q].dtype == torch.float32
    out = model(graph_batch(7, False, spec, 2), _open_state(7, spec))  # open chain: a partial band
    assert torch.isfinite(out[K.RHO]).all()


def _open_state(L, spec):
    graph = band_graph(L, spec.band_radius, False, spec.kernel_radius)
    return {K.Q: torch.randn(2 * L), K.P: torch.randn(2 * L), K.RHO: torch.randn(2 * graph.num_nodes, 2)}


def test_registry_names_and_errors():
    assert "local_increment" in available()
    with pytest.raises(ConfigError, match="model.name"):
        validate_model_section({"name": "nope"})
    with pytest.raises(ConfigError, match="model.widht"):
        validate_model_section({"name": "local_increment", "widht": 3})
