"""Window graph and the Gaussian overlapping-window average of the wave emulator."""
import math

import pytest
import torch

from graphqd.errors import GraphqdError
from graphqd.graphs import window_average, window_graph, window_weights


def test_periodic_edges():
    graph = window_graph(10, 5, periodic=True)
    assert graph.num_edges == 50 and graph.offset.shape == (50, 1)
    centre, member = graph.edge_index
    assert torch.equal((centre + graph.offset[:, 0]) % 10, member)  # offset k = member − centre
    assert sorted(set(graph.offset[:, 0].tolist())) == [-2, -1, 0, 1, 2]
    assert torch.equal(torch.bincount(member), torch.full((10,), 5))


def test_open_edges_drop_members_outside():
    n, width = 12, 7
    half = (width - 1) // 2
    graph = window_graph(n, width, periodic=False)
    assert graph.num_edges == n * width - half * (half + 1)
    centre, member = graph.edge_index
    assert torch.equal(centre + graph.offset[:, 0], member)
    assert member.min() == 0 and member.max() == n - 1


def test_bad_widths():
    with pytest.raises(GraphqdError):
        window_graph(10, 4)
    with pytest.raises(GraphqdError):
        window_graph(5, 7, periodic=True)


def test_weights():
    weights = window_weights(torch.tensor([[-2], [0], [3]]), delta=2.8, dtype=torch.float64)
    torch.testing.assert_close(weights, torch.tensor([math.exp(-4 / 15.68), 1.0, math.exp(-9 / 15.68)],
                                                     dtype=torch.float64))


@pytest.mark.parametrize("periodic", [True, False])
def test_consistent_windows_average_to_the_field(periodic):
    n, width = 16, 5
    graph = window_graph(n, width, periodic)
    field = torch.randn(n, 2, dtype=torch.float64)
    k = torch.arange(width) - width // 2
    members = torch.arange(n)[:, None] + k
    predictions = field[members % n]  # every window predicts the true field
    torch.testing.assert_close(window_average(predictions, graph), field, rtol=0, atol=1e-12)


@pytest.mark.parametrize("periodic", [True, False])
def test_average_equals_explicit_loop(periodic):
    n, width, delta = 11, 5, 2.8
    graph = window_graph(n, width, periodic)
    predictions = torch.randn(n, width, dtype=torch.complex128)
    expected = torch.zeros(n, dtype=torch.complex128)
    norm = torch.zeros(n, dtype=torch.float64)
    for c in range(n):
        for slot in range(width):
            k = slot - width // 2
            m = c + k
            if not periodic and not 0 <= m < n:
                continue
            w = math.exp(-k * k / (2 * delta * delta))
            expected[m % n] += w * predictions[c, slot]
            norm[m % n] += w
    torch.testing.assert_close(window_average(predictions, graph, delta), expected / norm, rtol=0, atol=1e-12)
    with pytest.raises(GraphqdError):
        window_average(predictions[:, :3], graph)
