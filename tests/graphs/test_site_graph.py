"""Site graphs: edge counts, offsets and distances against brute force; the 113-site descriptor."""
import itertools
import math

import pytest
import torch

from graphqd.errors import GraphqdError
from graphqd.graphs import cached_graph, clear_graph_cache, site_graph

CUDA = pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(),
                                                                        reason="no CUDA")])


def brute_force_edges(shape, cutoff, periodic):
    """Every (source, target, offset) with 0 < d ≤ cutoff, minimum image per axis."""
    periodic = (periodic,) * len(shape) if isinstance(periodic, bool) else periodic
    sites = list(itertools.product(*[range(n) for n in shape]))
    edges = set()
    for t, target in enumerate(sites):
        for s, source in enumerate(sites):
            offset = []
            for a, n in enumerate(shape):
                d = source[a] - target[a]
                if periodic[a]:
                    d = (d + (n - 1) // 2) % n - (n - 1) // 2
                offset.append(d)
            squared = sum(d * d for d in offset)
            if 0 < squared <= cutoff ** 2 + 1e-9:
                edges.add((s, t, *offset))
    return edges


def edge_set(graph):
    rows = torch.cat([graph.edge_index, graph.offset.T]).T.tolist()
    return set(map(tuple, rows))


@pytest.mark.parametrize("shape, cutoff, periodic", [
    ((8,), 1, True), ((8,), 2, False), ((7,), 3, True), ((4,), 5, True), ((2,), 3, True), ((1,), 2, True),
    ((5, 5), 1, True), ((5, 5), math.sqrt(2), True), ((4, 6), 2.3, (True, False)), ((3, 3), 1, False),
    ((6, 4), 3, (False, True)), ((2, 3), 5, True),
])
def test_edges_equal_brute_force(shape, cutoff, periodic):
    graph = site_graph(shape, cutoff, periodic)
    edges = edge_set(graph)
    assert len(edges) == graph.num_edges  # no duplicate edges
    assert edges == brute_force_edges(shape, cutoff, periodic)
    pairs = {(s, t) for s, t, *_ in edges}
    assert len(pairs) == graph.num_edges  # at most one edge per pair, even on tiny periodic lattices
    torch.testing.assert_close(graph.distance, graph.offset.double().norm(dim=1).float())
    assert graph.edge_index.dtype == graph.offset.dtype == torch.long
    assert graph.offset.shape == (graph.num_edges, len(shape))


def test_chain_counts_and_direction():
    graph = site_graph(8, 1, periodic=True)
    assert graph.num_edges == 16
    source, target = graph.edge_index
    # offset = source − target (minimum image): the right neighbour sends offset +1
    assert torch.equal((source - target) % 8, graph.offset[:, 0] % 8)
    assert torch.equal(torch.bincount(target), torch.full((8,), 2))
    assert site_graph(8, 2, periodic=False).num_edges == 2 * (7 + 6)
    assert site_graph(1, 3, periodic=True).num_edges == 0


def test_small_periodic_chain_keeps_one_image():
    # cutoff beyond half the chain: every other site once; the even-L tie takes +L/2
    graph = site_graph(4, 5, periodic=True)
    assert graph.num_edges == 4 * 3
    assert sorted(set(graph.offset[:, 0].tolist())) == [-1, 1, 2]


def test_square_lattice_counts():
    assert torch.equal(torch.bincount(site_graph((5, 5), 1, True).edge_index[1]), torch.full((25,), 4))
    assert torch.equal(torch.bincount(site_graph((5, 5), math.sqrt(2), True).edge_index[1]), torch.full((25,), 8))
    assert site_graph((3, 3), 1, False).num_edges == 2 * (2 * 3 + 2 * 3)


def test_negf_descriptor_has_112_neighbours():
    graph = site_graph((30, 40), 6, periodic=(True, False))
    degree = torch.bincount(graph.edge_index[1], minlength=1200).view(30, 40)
    assert torch.all(degree[:, 6:34] == 112)  # every site ≥ 6 columns from the leads: 113-site descriptor
    assert degree.max() == 112 and degree[:, 0].min() < 112
    assert graph.offset.shape == (graph.num_edges, 2)


def test_edges_are_symmetric():
    graph = site_graph((6, 5), 2.5, (True, False))
    forward = edge_set(graph)
    assert {(t, s, *[-d for d in offset]) for s, t, *offset in forward} == forward


def test_bad_arguments():
    with pytest.raises(GraphqdError):
        site_graph((2, 3, 4), 1)
    with pytest.raises(GraphqdError):
        site_graph((4, 4), 1, periodic=(True,))


@pytest.mark.parametrize("device", ["cpu", CUDA])
def test_cached_graph_built_once_per_device(device):
    clear_graph_cache()
    first = cached_graph("site", 8, 1, device=device)
    assert cached_graph("site", (8,), 1.0, periodic=True, device=device) is first
    assert first.edge_index.device.type == device
    assert cached_graph("site", 8, 1) is cached_graph("site", 8, 1, device="cpu")
    band = cached_graph("band", L=16, band_radius=2, periodic=True, kernel_radius=1, device=device)
    assert band is cached_graph("band", 16, 2, True, 1, device=device)
    with pytest.raises(GraphqdError):
        cached_graph("hexagonal", 8)
