"""The sheared band convolution (graphqd.models.band_conv) against the neighbour-table gather:
the stencil table equals the band graph's, the conv2d equals the gather for every kernel
option, graph PARC gives the same step either way, and irregular batches fall back."""
import pytest
import torch

from graphqd import keys as K
from graphqd.graphs import band_graph
from graphqd.graphs.holstein import HolsteinGraphSpec, graph_batch
from graphqd.models import band_conv, parc_graph
from graphqd.models.layers import LatticeGraph
from graphqd.models.normalization import Normalization
from graphqd.models.offset_conv import OffsetConv, slot_table
from graphqd.models.registry import build_model


def batch_of_bands(L, band_radius, kernel_radius, chains):
    graphs = [band_graph(L, band_radius, True, kernel_radius) for _ in range(chains)]
    n = graphs[0].num_nodes
    edge_index = torch.cat([g.edge_index + k * n for k, g in enumerate(graphs)], 1)
    return edge_index, torch.cat([g.offset for g in graphs]), chains * n


@pytest.mark.parametrize("L,band_radius,kernel_radius", [(12, 2, 1), (20, 4, 3), (17, 4, 1)])
def test_stencil_table_is_the_band_graphs(L, band_radius, kernel_radius, monkeypatch):
    monkeypatch.setattr(band_conv, "MIN_NODES", 0)
    edge_index, offset, nodes = batch_of_bands(L, band_radius, kernel_radius, chains=3)
    built = slot_table(edge_index, offset, nodes, (kernel_radius, kernel_radius))
    assert band_conv.applies(3, L, 2 * band_radius + 1, kernel_radius)
    assert torch.equal(built, band_conv.band_slot_table(3, L, 2 * band_radius + 1, kernel_radius))


@pytest.mark.parametrize("kernel_radius,tied,root", [(1, None, True), (3, None, True), (2, "inversion", True),
                                                    (1, None, False)])
def test_conv2d_equals_the_gather(kernel_radius, tied, root):
    torch.manual_seed(kernel_radius)
    L, band_radius, chains = 19, 3, 2
    edge_index, offset, nodes = batch_of_bands(L, band_radius, kernel_radius, chains)
    conv = OffsetConv(5, 7, (kernel_radius, kernel_radius), tied_flips=tied, root_weight=root).double()
    with torch.no_grad():
        conv.weight.normal_()
        conv.bias.normal_()
    x = torch.randn(nodes, 5, dtype=torch.float64, requires_grad=True)
    table = slot_table(edge_index, offset, nodes, conv.kernel_radius, root)
    gathered = conv.gather_forward(x, table)
    dense = band_conv.band_conv(conv, x, chains, L, 2 * band_radius + 1)
    torch.testing.assert_close(dense, gathered, rtol=1e-12, atol=1e-12)
    (grad_dense,) = torch.autograd.grad(dense.square().sum(), conv.weight)
    (grad_gather,) = torch.autograd.grad(gathered.square().sum(), conv.weight)
    torch.testing.assert_close(grad_dense, grad_gather, rtol=1e-10, atol=1e-10)


def test_graph_parc_step_is_the_same_with_and_without_it(monkeypatch):
    monkeypatch.setattr(band_conv, "MIN_NODES", 0)  # small chains take the gather by default
    torch.manual_seed(0)
    config = {"name": "parc_graph", "width": 8, "depth": 1, "band_radius": 3, "wide_kernel_radius": 2,
              "splitting": "strang"}
    stats = {key: {"mean": [0.0] * c, "std": [1.0] * c, "step_std": [0.1] * c, "rate_std": [1.0] * c}
             for key, c in ((K.Q, 1), (K.P, 1), (K.RHO, 2))}
    model = build_model(config, Normalization(stats, 0.08)).double().eval()
    L, chains = 16, 2
    spec = HolsteinGraphSpec(site_cutoff=2, band_radius=3, kernel_radius=2)
    graphs = graph_batch(L, True, spec, chains, "cpu")
    band_nodes = graphs[K.BAND_SITES].size(0)
    state = {K.Q: torch.randn(chains * L, dtype=torch.float64), K.P: torch.randn(chains * L, dtype=torch.float64),
             K.RHO: 0.1 * torch.randn(band_nodes, 2, dtype=torch.float64)}
    used = []
    original = band_conv.band_conv
    monkeypatch.setattr(band_conv, "band_conv", lambda *a: used.append(1) or original(*a))
    with torch.no_grad():
        fast = model(graphs, state)
        assert used, "the sheared convolution was not used on a batch of equal periodic chains"
        model._kept_context = None
        monkeypatch.setattr(parc_graph, "band_shape", lambda *a: None)
        slow = model(graphs, state)
    for key in (K.Q, K.P, K.RHO):
        torch.testing.assert_close(fast[key], slow[key], rtol=1e-10, atol=1e-12)


def test_chains_of_different_lengths_fall_back_to_the_gather(monkeypatch):
    monkeypatch.setattr(band_conv, "MIN_NODES", 0)
    # 8 + 24 sites look like two chains of 16 by their counts; the edges say otherwise
    graphs = [band_graph(L, 2, True, 1) for L in (8, 24)]
    n = graphs[0].num_nodes
    edge_index = torch.cat([graphs[0].edge_index, graphs[1].edge_index + n], 1)
    graph = LatticeGraph(edge_index, torch.cat([g.offset for g in graphs]), None, band_shape=(2, 16, 5))
    conv = OffsetConv(2, 2, (1, 1))
    assert not graph.sheared(1, conv, n + graphs[1].num_nodes)
    assert parc_graph.band_shape(torch.tensor([0] * 8 + [1] * 24), 160, 32) == (2, 16, 5)
