"""The wave curriculum and test panel: sizes, ranges, placement and determinism."""
from collections import Counter

import pytest
import torch

from graphqd.errors import GraphqdError
from graphqd.physics import schrodinger, wave_panel


@pytest.fixture(scope="module")
def x():
    return schrodinger.grid()


@pytest.fixture(scope="module")
def panel(x):
    return wave_panel.test_panel(x)


def test_curriculum_is_the_full_product(x):
    runs = wave_panel.curriculum()
    assert len(runs) == 2646 and set(runs.kind) == {"barrier"}
    rows = set(zip(runs.X0.tolist(), runs.S0.tolist(), runs.E0.tolist(), runs.barrier_height.tolist()))
    assert len(rows) == 2646
    assert sorted(set(runs.X0.tolist())) == [10.0, 40.0, 70.0]
    assert sorted(set(runs.S0.tolist())) == [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]
    assert sorted(set(runs.E0.tolist())) == [float(e) for e in range(1, 10)]
    assert sorted(set(runs.barrier_height.tolist())) == [float(h) for h in range(1, 15)]
    assert set(runs.barrier_width.tolist()) == {7.0} and set(runs.barrier_center.tolist()) == {50.0}
    # packet-major order: the first 14 runs are one packet against every height
    assert runs.barrier_height[:14].tolist() == [float(h) for h in range(1, 15)]
    assert len(set(zip(runs.X0[:14].tolist(), runs.S0[:14].tolist(), runs.E0[:14].tolist()))) == 1


def test_curriculum_arrays(x):
    runs = wave_panel.curriculum().select(slice(0, 2646, 97))
    assert len(runs) == 28 and len(runs.kind) == 28
    psi0, V = runs.packets(x), runs.potentials(x)
    assert psi0.shape == (28, 1024) and V.shape == (28, 1024)
    norm = (psi0.abs() ** 2).sum(-1) * schrodinger.spacing(x)
    assert torch.allclose(norm, torch.ones_like(norm), atol=1e-13)
    assert torch.equal(V.max(-1).values, runs.barrier_height)
    assert torch.unique(wave_panel.curriculum().potentials(x), dim=0).shape[0] == 14


def test_panel_counts_per_kind(panel):
    assert len(panel) == 37
    assert Counter(c.kind for c in panel) == {
        "free": 12, "barrier": 11, "double": 2, "triple": 1, "half_circle": 1, "quadratic": 2, "random": 1,
        "steps": 1, "trapezoid": 1, "triangle": 3, "well": 2}
    assert len({c.name for c in panel}) == 37


def test_panel_parameter_ranges(panel, x):
    for case in panel:
        assert case.V.shape == (1024,) and case.V.dtype == torch.float64
        if case.kind == "free":
            assert 1 <= case.S0 <= 5 and 0 <= case.E0 <= 9 and float(case.V.abs().max()) == 0.0
        else:
            assert 1 <= case.S0 <= 4 and 1 <= case.E0 <= 9
        if case.kind == "barrier":
            assert 0.6 <= case.barrier_height <= 13.3 and 2.4 - 0.1 <= case.barrier_width <= 23.7 + 0.1
            assert len(torch.unique(case.V)) == 2
    heights = {c.kind: c.barrier_height for c in panel}
    assert heights["well"] < 0 < heights["triangle"]


def test_shapes_are_inside_the_box_and_away_from_the_packets(panel, x):
    for case in panel:
        if case.kind == "free":
            continue
        support = torch.nonzero(case.V).flatten()
        assert 34 <= float(x[support[0]]) and float(x[support[-1]]) <= 66, case.name
        density = case.packet(x).abs() ** 2 * schrodinger.spacing(x)
        near = (x >= x[support[0]] - 2) & (x <= x[support[-1]] + 2)
        assert float(density[near].sum()) < 1e-5, case.name


def test_shaped_potentials_are_all_different(panel):
    shaped = [c for c in panel if c.kind not in ("free", "barrier")]
    assert len(shaped) == 14
    for i, a in enumerate(shaped):
        for b in shaped[i + 1:]:
            assert float((a.V - b.V).abs().max()) > 1.0, (a.name, b.name)
    smooth = {c.name: len(torch.unique(c.V)) for c in shaped}
    assert all(smooth[n] > 50 for n in ("half_circle", "quadratic_0", "quadratic_1", "triangle_0", "well_1"))
    assert smooth["steps"] == 5 and smooth["double_1"] == 3


def test_panel_is_deterministic_and_pinned(panel, x):
    again = wave_panel.test_panel(x)
    for a, b in zip(panel, again):
        assert (a.name, a.X0, a.S0, a.E0) == (b.name, b.X0, b.S0, b.E0) and torch.equal(a.V, b.V)
    # values of the frozen numpy.random.RandomState streams: the panel is the same everywhere
    by_name = {c.name: c for c in panel}
    assert (by_name["free_00"].X0, by_name["free_00"].S0, by_name["free_00"].E0) == (74.70, 4.02, 2.81)
    assert (by_name["barrier_00"].barrier_height, by_name["barrier_00"].X0) == (7.30, 11.60)
    assert by_name["double_1"].barrier_height == pytest.approx(11.55)
    assert by_name["well_1"].barrier_height == pytest.approx(-8.75996, abs=1e-4)


def test_panel_batch_and_other_grids(panel):
    small = schrodinger.grid(256, 100.0)
    cases = wave_panel.test_panel(small)
    batch = wave_panel.panel_batch(cases, small)
    assert batch["V"].shape == (37, 256) and batch["psi0"].shape == (37, 256)
    assert batch["X0"].shape == (37,) and batch["kind"][:1] == ["free"] and batch["name"][-1] == "well_1"
    assert [c.X0 for c in cases] == [c.X0 for c in panel]
    with pytest.raises(GraphqdError, match="length"):
        wave_panel.test_panel(schrodinger.grid(64, 50.0))
