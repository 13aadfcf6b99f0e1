"""Density-matrix band graph: nodes, edges against brute force, gather/scatter, Hermiticity."""
import pytest
import torch

from graphqd.errors import GraphqdError
from graphqd.graphs import (band_graph, band_to_density_matrix, density_matrix_to_band, gather_band,
                            hermitian_partner, scatter_band)


def brute_force(L, band_radius, periodic, kernel_radius):
    def wrap(d):
        return (d + (L - 1) // 2) % L - (L - 1) // 2 if periodic else d

    entries = [(i, j) for i in range(L) for j in range(L) if abs(wrap(j - i)) <= band_radius]
    number = {entry: n for n, entry in enumerate(entries)}
    edges = set()
    for t, (i, j) in enumerate(entries):
        for s, (i2, j2) in enumerate(entries):
            di, dj = wrap(i2 - i), wrap(j2 - j)
            if s != t and abs(di) <= kernel_radius and abs(dj) <= kernel_radius:
                edges.add((s, t, di, dj))
    return entries, number, edges


@pytest.mark.parametrize("L, band_radius, periodic, kernel_radius", [
    (8, 2, True, 1), (8, 4, True, 3), (7, 3, True, 2), (6, 2, False, 1), (5, 1, False, 2), (4, 3, True, 2),
    (9, 0, True, 1), (3, 1, True, 1),
])
def test_nodes_and_edges_equal_brute_force(L, band_radius, periodic, kernel_radius):
    graph = band_graph(L, band_radius, periodic, kernel_radius)
    entries, number, edges = brute_force(L, band_radius, periodic, kernel_radius)
    assert set(map(tuple, graph.pairs.T.tolist())) == set(entries)
    assert graph.num_nodes == len(entries)
    # relabel graph nodes into brute-force numbering, then compare edge sets with offsets
    relabel = torch.tensor([number[tuple(p)] for p in graph.pairs.T.tolist()])
    got = torch.cat([relabel[graph.edge_index], graph.offset.T]).T.tolist()
    assert len(set(map(tuple, got))) == graph.num_edges == len(edges)
    assert set(map(tuple, got)) == edges
    assert graph.offset.shape == (graph.num_edges, 2)


def test_node_counts():
    assert band_graph(1024, 6, True, 1).num_nodes == 1024 * 13
    assert band_graph(6, 2, False, 1).num_nodes == 6 * 5 - 2 * 3  # corners cut on an open chain
    for L in (5, 6, 8):  # band radius ≥ L//2 on a periodic chain: every entry exactly once
        pairs = band_graph(L, L // 2, True, 1).pairs
        assert pairs.size(1) == L * L
        assert torch.equal(torch.sort(pairs[0] * L + pairs[1]).values, torch.arange(L * L))


def test_node_order_and_lookup():
    graph = band_graph(10, 2, True, 1)
    assert graph.pairs[:, :5].tolist() == [[0] * 5, [8, 9, 0, 1, 2]]  # row-major, diagonal s = −2 … 2
    nodes = graph.node(graph.pairs[0], graph.pairs[1])
    assert torch.equal(nodes, torch.arange(graph.num_nodes))
    assert graph.node(torch.tensor(0), torch.tensor(5)).item() == -1
    assert graph.node(torch.tensor(10), torch.tensor(11)).item() == graph.node(torch.tensor(0), torch.tensor(1)).item()


def test_scales_linearly_and_builds_fast_at_4096():
    small, large = band_graph(2048, 6, True, 3), band_graph(4096, 6, True, 3)
    assert large.num_nodes == 2 * small.num_nodes == 4096 * 13
    assert large.num_edges == 2 * small.num_edges


def test_gather_scatter_round_trip():
    L = 7
    graph = band_graph(L, 2, True, 1)
    matrix = torch.randn(3, L, L, dtype=torch.float64)
    values = gather_band(matrix, graph.pairs)
    assert values.shape == (3, graph.num_nodes)
    dense = scatter_band(values, graph.pairs, L)
    inside = scatter_band(torch.ones(graph.num_nodes, dtype=torch.bool), graph.pairs, L)
    assert torch.equal(dense[:, inside], matrix[:, inside]) and torch.all(dense[:, ~inside] == 0)
    assert inside.sum() == L * 5


def test_complex_channels_and_hermiticity():
    L = 6
    graph = band_graph(L, 3, True, 1)  # the whole matrix
    a = torch.randn(2, L, L, dtype=torch.complex128)
    rho = a + a.transpose(-1, -2).conj()
    features = density_matrix_to_band(rho, graph.pairs)
    assert features.shape == (2, L * L, 2) and features.dtype == torch.float64
    torch.testing.assert_close(band_to_density_matrix(features, graph.pairs, L), rho, rtol=0, atol=0)
    partner = hermitian_partner(graph)
    assert torch.equal(graph.pairs[:, partner], graph.pairs.flip(0))
    conjugate = features[:, partner] * torch.tensor([1.0, -1.0], dtype=torch.float64)
    torch.testing.assert_close(conjugate, features, rtol=0, atol=0)


def test_hermitian_partner_on_narrow_band():
    graph = band_graph(12, 3, False, 1)
    partner = hermitian_partner(graph)
    assert torch.equal(graph.pairs[:, partner], graph.pairs.flip(0))
    assert torch.equal(partner[partner], torch.arange(graph.num_nodes))


def test_bad_arguments():
    with pytest.raises(GraphqdError):
        band_graph(0, 1, True, 1)
    with pytest.raises(GraphqdError):
        band_graph(8, -1, True, 1)
