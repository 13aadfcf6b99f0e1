"""Force fields: symmetries (y-translation and y-reflection by construction, the column mirror with
exchanged leads), batch equals single, lattices of any size, the neighbourhood check."""
import pytest
import torch
from torch_geometric.data import Batch, Data

from graphqd import keys as K
from graphqd.errors import ConfigError, GraphqdError
from graphqd.graphs.negf import canonical_mirror, column_mirror, lead_features
from graphqd.models.normalization import Normalization
from graphqd.models.registry import build_model

STATS = {"Q": {"mean": [0.1], "std": [2.0], "step_std": [2.0], "rate_std": [2.0]},
         "n": {"mean": [0.5], "std": [0.3], "step_std": [0.3], "rate_std": [0.3]}}
SHAPE = (7, 9)
MODELS = [{"name": "forcefield_graph", "cutoff": 3.0, "channels": 8, "hidden": 16, "layers": 2, "squares": True},
          {"name": "forcefield_cnn", "channels": 8, "depth": 3},
          {"name": "forcefield_mlp", "cutoff": 3.0, "widths": [16, 16], "lead_features": True, "mirror": True}]
COLUMNS = {"name": "forcefield_graph", "cutoff": 3.0, "channels": 8, "hidden": 16, "layers": 1, "column_context": 6}
ROWS = dict(COLUMNS, column_rows=1)
REACH = {"forcefield_graph": 3.0 + 2 * 2 ** 0.5, "forcefield_cnn": 3, "forcefield_mlp": 3.0}


def model_of(section):
    torch.manual_seed(4)
    return build_model(section, Normalization(STATS, 0.4)).double().eval()


def density(model, Q, mu_left, mu_right):
    """n of (B, Ly, Lx) slabs."""
    B = Q.size(0)
    return model.density(Q.reshape(-1), torch.tensor(mu_left, dtype=torch.float64).expand(B),
                         torch.tensor(mu_right, dtype=torch.float64).expand(B), tuple(Q.shape[1:])).reshape(Q.shape)


def ids(section):
    return section["name"] + ("_rows" if section.get("column_rows") else "_columns" if section.get("column_context")
                              else "")


@pytest.mark.parametrize("section", MODELS + [COLUMNS, ROWS], ids=ids)
def test_y_translation_and_mirror_with_exchanged_leads(section):
    model = model_of(section)
    Q = torch.randn(2, *SHAPE, dtype=torch.float64)
    n = density(model, Q, 2.5, 0.0)
    torch.testing.assert_close(density(model, Q.roll(3, 1), 2.5, 0.0), n.roll(3, 1), rtol=0, atol=1e-12)
    torch.testing.assert_close(density(model, Q.flip(2), 0.0, 2.5), n.flip(2), rtol=0, atol=1e-12)
    n0 = density(model, Q, 0.7, 0.7)  # no bias: the two orientations are averaged
    torch.testing.assert_close(density(model, Q.flip(2), 0.7, 0.7), n0.flip(2), rtol=0, atol=1e-12)
    assert not torch.allclose(n, density(model, Q, 0.0, 2.5))  # the leads do enter


@pytest.mark.parametrize("section", [MODELS[0], MODELS[2], COLUMNS, ROWS], ids=ids)
def test_y_reflection_by_construction(section):
    model = model_of(section)
    Q = torch.randn(2, *SHAPE, dtype=torch.float64)
    torch.testing.assert_close(density(model, Q.flip(1), 2.0, -0.5), density(model, Q, 2.0, -0.5).flip(1),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("section", MODELS + [COLUMNS, ROWS], ids=ids)
def test_batch_equals_single_and_mixed_biases(section):
    model = model_of(section)
    Q = torch.randn(3, *SHAPE, dtype=torch.float64)
    mu_left, mu_right = torch.tensor([2.5, 0.0, 1.0], dtype=torch.float64), torch.tensor([0.0, 2.5, 1.0],
                                                                                            dtype=torch.float64)
    batched = model.density(Q.reshape(-1), mu_left, mu_right, SHAPE).reshape(Q.shape)
    for b in range(3):
        single = model.density(Q[b].reshape(-1), mu_left[b:b + 1], mu_right[b:b + 1], SHAPE).reshape(SHAPE)
        torch.testing.assert_close(batched[b], single, rtol=0, atol=1e-12)


def kick_response(model, x: int) -> torch.Tensor:
    """|Δn| over a random 9 × 40 slab when Q at row 4, column x moves by 1."""
    torch.manual_seed(5)
    Q = torch.randn(1, 9, 40, dtype=torch.float64)
    moved = Q.clone()
    moved[0, 4, x] += 1.0
    with torch.no_grad():
        return (density(model, moved, 2.0, 0.0) - density(model, Q, 2.0, 0.0)).abs()[0]


@pytest.mark.parametrize("section", MODELS, ids=lambda s: s["name"])
def test_locality_far_sites_do_not_move_and_any_lattice_size(section):
    """A change of Q at one site moves n only within the model's reach; the same model runs on a
    lattice 10 times longer, whose middle column looks like the middle of the short one."""
    model = model_of(section)
    change = kick_response(model, 20)
    reach = REACH[section["name"]]
    y, x = torch.meshgrid(torch.arange(9), torch.arange(40), indexing="ij")
    far = ((x - 20).abs() > reach) | ((y - 4).abs() > reach)
    assert float(change[far].max()) == 0.0 and float(change.max()) > 0
    long = density(model, torch.full((1, 9, 401), 0.3, dtype=torch.float64), 2.0, 0.0)[0]
    short = density(model, torch.full((1, 9, 41), 0.3, dtype=torch.float64), 2.0, 0.0)[0]
    torch.testing.assert_close(long[:, 200], short[:, 20], rtol=0, atol=1e-3)  # lead features e^(-20/3) apart


@pytest.mark.parametrize("section", [MODELS[1], COLUMNS, ROWS], ids=ids)
def test_a_batch_of_slabs_of_several_sizes_equals_each_alone(section):
    model = model_of(section)
    shapes, bias = [(7, 9), (7, 12), (7, 9)], [2.5, 0.0, 1.0]
    samples = [Data(num_nodes=Ly * Lx, **{K.Q: torch.randn(Ly * Lx, dtype=torch.float64),
                                          K.MU_LEFT: torch.tensor([v], dtype=torch.float64),
                                          K.MU_RIGHT: torch.tensor([0.0], dtype=torch.float64),
                                          K.LATTICE: torch.tensor([[Ly, Lx]])}) for (Ly, Lx), v in zip(shapes, bias)]
    batched = model(Batch.from_data_list(samples), {})[K.DENSITY]
    alone = torch.cat([model(Batch.from_data_list([s]), {})[K.DENSITY] for s in samples])
    torch.testing.assert_close(batched, alone, rtol=0, atol=1e-12)


def test_column_context_reaches_across_the_slab():
    """With `column_context` a change of Q at the left edge moves n at the right edge, 39 columns
    away; the same model without it does not. Carried over the rows, the change at row 4 reaches
    the right edge unevenly in y, as the column mean cannot."""
    assert float(kick_response(model_of(COLUMNS), 0)[:, 39].min()) > 0
    assert float(kick_response(model_of(dict(COLUMNS, column_context=0)), 0)[:, 39].max()) == 0
    right = kick_response(model_of(ROWS), 0)[:, 39]
    assert float(right.min()) > 0 and float(right.std()) > 0.01 * float(right.mean())


def test_column_rows_without_column_context_is_a_clear_error():
    with pytest.raises(ConfigError, match="model.column_rows"):
        model_of(dict(COLUMNS, column_context=0, column_rows=1))


def test_column_recurrence_against_an_explicit_loop():
    """The convolutional GRU against its equations written out row by row."""
    from graphqd.models.column_recurrence import ColumnConvGRU
    torch.manual_seed(2)
    gru = ColumnConvGRU(3, 4, 1).double()
    u = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    out = gru(u)
    Ly, Lx = 5, 6

    def conv(layer, x):  # x (B, C, Ly): Σ_dy w(|dy|) x(y + dy), rows periodic
        w = layer.weight_half
        return torch.stack([layer.bias[None, :] + sum(x[:, :, (y + dy) % Ly] @ w[:, :, abs(dy)].T for dy in (-1, 0, 1))
                            for y in range(Ly)], -1)
    for direction, columns in ((0, range(Lx)), (1, reversed(range(Lx)))):
        cell, h = gru.cells[direction], torch.zeros(2, 4, Ly, dtype=torch.float64)
        for x in columns:
            z, r = torch.sigmoid(conv(cell["gates"], torch.cat([u[..., x], h], 1))).chunk(2, 1)
            h = (1 - z) * h + z * torch.tanh(conv(cell["candidate"], torch.cat([u[..., x], r * h], 1)))
            torch.testing.assert_close(out[:, 4 * direction:4 * direction + 4, :, x], h, rtol=1e-12, atol=1e-12)


def test_lattice_smaller_than_the_neighbourhood_is_an_error():
    model = model_of({"name": "forcefield_graph", "cutoff": 6.0, "channels": 4, "hidden": 4, "layers": 0})
    with pytest.raises(GraphqdError, match="Ly = 10 rows is smaller than the force field's neighbourhood"):
        density(model, torch.zeros(1, 10, 20, dtype=torch.float64), 1.0, 0.0)


def test_lead_features_and_canonical_mirror_by_explicit_loop():
    shape = (2, 5)
    features = lead_features(shape, torch.tensor([2.0]), torch.tensor([-1.0]))
    for node in range(10):
        x = node % 5
        for side, (d, other, mu) in enumerate([(x, 4 - x, 2.0), (4 - x, x, -1.0)]):
            expected = [torch.exp(torch.tensor(-d / s)).item() for s in (1.0, 3.0)]
            share = (other + 1) / (d + other + 2)
            expected = [*expected, mu, *[mu * e for e in expected], share, share * mu]
            torch.testing.assert_close(features[node, 7 * side:7 * side + 7], torch.tensor(expected))
    mirror = column_mirror(shape, 2)
    assert mirror.tolist() == [4, 3, 2, 1, 0, 9, 8, 7, 6, 5, 14, 13, 12, 11, 10, 19, 18, 17, 16, 15]
    calls = []

    def record(Q, upper, lower):
        calls.append((upper.tolist(), lower.tolist()))
        return Q * 1.0
    canonical_mirror(record, torch.arange(20.0), torch.tensor([0.0, 3.0]), torch.tensor([2.0, 1.0]), shape)
    assert calls == [([2.0, 3.0], [0.0, 1.0])]  # the first slab is evaluated mirrored, with its leads exchanged


def test_mlp_descriptor_against_an_explicit_loop():
    """The published descriptor: 13 centre-row values, then for each of the 50 mirror pairs the
    mean and the sign-fixed half difference, zeros beyond the open x edges; 11.66 M parameters."""
    model = model_of({"name": "forcefield_mlp", "widths": [4]})
    shape = (13, 9)
    q = torch.randn(shape[0] * shape[1], dtype=torch.float64)
    d = model.descriptor(q, shape, 1)
    grid = q.reshape(shape)

    def value(y, x):
        return float(grid[y % shape[0], x]) if 0 <= x < shape[1] else 0.0
    for y, x in [(0, 0), (6, 4), (12, 8)]:
        centre = [value(y, x + dx) for dx in range(-6, 7)]
        pairs = [(value(y + dy, x + dx), value(y - dy, x + dx)) for dy in range(1, 7) for dx in range(-6, 7)
                 if dy * dy + dx * dx <= 36]
        sign = float(torch.sign(torch.tensor(sum(a - b for a, b in pairs))))
        expected = centre + [(a + b) / 2 for a, b in pairs] + [sign * (a - b) / 2 for a, b in pairs]
        assert len(expected) == 113
        torch.testing.assert_close(d[y * shape[1] + x], torch.tensor(expected, dtype=torch.float64))
    paper = build_model({"name": "forcefield_mlp"}, Normalization(STATS, 0.4))
    assert sum(p.numel() for p in paper.parameters()) == 11_657_281
