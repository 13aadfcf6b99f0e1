"""OffsetConv: equal to circular Conv1d/Conv2d, batch vs single, translation and inversion equivariance."""
import pytest
import torch
from torch import nn
from torch_geometric.data import Batch, Data

from graphqd.errors import GraphqdError
from graphqd.graphs import (assert_equivariant, band_graph, band_inversion_permutation, band_translation_permutation,
                            chain_inversion_permutation, gather_band, node_action, point_group_permutation,
                            scatter_band, site_graph, translation_permutation)
from graphqd.models.offset_conv import OffsetConv

CUDA = pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(),
                                                                        reason="no CUDA")])
F64 = dict(rtol=0.0, atol=1e-8)


def test_shapes_repr_and_parameters():
    layer = OffsetConv(2, 4, kernel_radius=(1, 1))
    assert repr(layer) == "OffsetConv(2, 4, kernel_radius=(1, 1))"
    assert layer.weight.shape == (9, 2, 4) and layer.bias.shape == (4,)
    graph = band_graph(8, 2, True, 1)
    assert layer(torch.randn(graph.num_nodes, 2), graph.edge_index, graph.offset).shape == (graph.num_nodes, 4)
    tied = OffsetConv(3, 3, 2, bias=False, tied_flips="inversion")
    assert repr(tied) == "OffsetConv(3, 3, kernel_radius=(2,), tied_flips=[(0,)])"
    assert tied.weight.shape == (3, 3, 3) and tied.bias is None
    before = tied.weight.detach().clone()
    tied.reset_parameters()
    assert not torch.equal(before, tied.weight)


@pytest.mark.parametrize("device", ["cpu", CUDA])
@pytest.mark.parametrize("in_channels, out_channels", [(2, 5), (5, 3)])  # both contraction orders
@pytest.mark.parametrize("L, kernel", [(8, 3), (9, 5), (8, 7)])
def test_equals_circular_conv1d_on_periodic_chain(device, in_channels, out_channels, L, kernel):
    torch.manual_seed(0)
    conv = nn.Conv1d(in_channels, out_channels, kernel, padding=kernel // 2, padding_mode="circular")
    conv = conv.double().to(device)
    layer = OffsetConv.from_conv(conv)
    graph = site_graph(L, kernel // 2, periodic=True).to(device)
    x = torch.randn(3, in_channels, L, dtype=torch.float64, device=device)
    expected = conv(x).transpose(1, 2)
    got = torch.stack([layer(sample.T, graph.edge_index, graph.offset) for sample in x])
    torch.testing.assert_close(got, expected, **F64)
    torch.testing.assert_close(layer.conv_weight(), conv.weight, rtol=0, atol=0)


@pytest.mark.parametrize("device", ["cpu", CUDA])
@pytest.mark.parametrize("in_channels, out_channels", [(2, 4), (6, 2)])
@pytest.mark.parametrize("L, kernel", [(6, 3), (8, 7), (7, 5)])  # 7×7 on L = 8: the paper's PARC-CNN
def test_equals_circular_conv2d_over_density_matrix(device, in_channels, out_channels, L, kernel):
    torch.manual_seed(1)
    conv = nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, padding_mode="circular")
    conv = conv.double().to(device)
    layer = OffsetConv.from_conv(conv)
    graph = band_graph(L, L // 2, periodic=True, kernel_radius=kernel // 2).to(device)
    assert graph.num_nodes == L * L
    rho = torch.randn(in_channels, L, L, dtype=torch.float64, device=device)
    got = layer(gather_band(rho, graph.pairs).T, graph.edge_index, graph.offset)
    expected = gather_band(conv(rho[None])[0], graph.pairs).T
    torch.testing.assert_close(got, expected, **F64)
    # and back to the dense matrix: the band is every entry
    torch.testing.assert_close(scatter_band(got.T, graph.pairs, L), conv(rho[None])[0], **F64)


def test_narrow_band_is_conv2d_of_band_masked_matrix():
    torch.manual_seed(2)
    L, band_radius = 12, 2
    conv = nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular").double()
    graph = band_graph(L, band_radius, True, 1)
    layer = OffsetConv.from_conv(conv)
    values = torch.randn(2, graph.num_nodes, dtype=torch.float64)
    expected = gather_band(conv(scatter_band(values, graph.pairs, L)[None])[0], graph.pairs)
    torch.testing.assert_close(layer(values.T, graph.edge_index, graph.offset), expected.T, **F64)


def test_float32_matches_conv():
    torch.manual_seed(3)
    conv = nn.Conv1d(4, 4, 3, padding=1, padding_mode="circular")
    graph = site_graph(16, 1, True)
    x = torch.randn(1, 4, 16)
    got = OffsetConv.from_conv(conv)(x[0].T, graph.edge_index, graph.offset)
    torch.testing.assert_close(got, conv(x)[0].T, rtol=0, atol=1e-5)


def test_batch_equals_single_graphs():
    torch.manual_seed(4)
    layer = OffsetConv(2, 3, (1, 1)).double()
    graphs = [band_graph(L, r, periodic, 1) for L, r, periodic in [(6, 3, True), (9, 2, True), (7, 2, False)]]
    data = [Data(x=torch.randn(g.num_nodes, 2, dtype=torch.float64), edge_index=g.edge_index, offset=g.offset,
                 pairs=g.pairs.T) for g in graphs]  # per-node fields put nodes on dim 0 in a Data
    batch = Batch.from_data_list(data)
    assert torch.equal(batch.pairs, torch.cat([d.pairs for d in data]))  # not offset by batching
    got = layer(batch.x, batch.edge_index, batch.offset)
    expected = torch.cat([layer(d.x, d.edge_index, d.offset) for d in data])
    torch.testing.assert_close(got, expected, **F64)


@pytest.mark.parametrize("shift", [1, 3])
def test_translation_equivariance_on_chain_and_band(shift):
    torch.manual_seed(5)
    L = 10
    chain, layer = site_graph(L, 2, True), OffsetConv(3, 4, 2).double()
    translate = node_action(translation_permutation(L, shift))
    assert_equivariant(lambda x: layer(x, chain.edge_index, chain.offset), translate, translate,
                       torch.randn(L, 3, dtype=torch.float64), **F64)
    band, layer2 = band_graph(L, 3, True, 1), OffsetConv(2, 2, (1, 1)).double()
    translate = node_action(band_translation_permutation(band, shift))
    assert_equivariant(lambda x: layer2(x, band.edge_index, band.offset), translate, translate,
                       torch.randn(band.num_nodes, 2, dtype=torch.float64), **F64)


def test_translation_equivariance_on_square_lattice_periodic_in_y():
    torch.manual_seed(6)
    shape = (6, 5)
    graph, layer = site_graph(shape, 2, (True, False)), OffsetConv(2, 3, (2, 2)).double()
    translate = node_action(translation_permutation(shape, (2, 0), (True, False)))
    assert_equivariant(lambda x: layer(x, graph.edge_index, graph.offset), translate, translate,
                       torch.randn(30, 2, dtype=torch.float64), **F64)


@pytest.mark.parametrize("periodic", [True, False])
def test_inversion_equivariance_with_tied_weights(periodic):
    torch.manual_seed(7)
    L = 9
    chain = site_graph(L, 2, periodic)
    invert = node_action(chain_inversion_permutation(L, periodic))
    x = torch.randn(L, 3, dtype=torch.float64)
    tied = OffsetConv(3, 2, 2, tied_flips=[(0,)]).double()
    assert_equivariant(lambda x: tied(x, chain.edge_index, chain.offset), invert, invert, x, **F64)
    free = OffsetConv(3, 2, 2).double()
    with pytest.raises(AssertionError):  # untied weights see the direction
        assert_equivariant(lambda x: free(x, chain.edge_index, chain.offset), invert, invert, x, **F64)

    band = band_graph(L, 3, periodic, 1)  # ρ_ij → ρ_−i,−j
    invert = node_action(band_inversion_permutation(band))
    tied = OffsetConv(2, 2, (1, 1), tied_flips="inversion").double()
    assert_equivariant(lambda x: tied(x, band.edge_index, band.offset), invert, invert,
                       torch.randn(band.num_nodes, 2, dtype=torch.float64), **F64)


def test_reflection_y_equivariance_on_slab():
    torch.manual_seed(8)
    shape, periodic = (6, 7), (True, False)
    graph = site_graph(shape, 2.5, periodic)
    reflect = node_action(point_group_permutation(shape, "reflect_y", periodic))
    layer = OffsetConv(2, 2, (2, 2), tied_flips=[(0,)]).double()
    assert_equivariant(lambda x: layer(x, graph.edge_index, graph.offset), reflect, reflect,
                       torch.randn(42, 2, dtype=torch.float64), **F64)


def test_tied_weights_from_conv_are_projected():
    conv = nn.Conv1d(1, 1, 3, bias=False, padding=1, padding_mode="circular").double()
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[1.0, 5.0, 3.0]]]))
    layer = OffsetConv.from_conv(conv, tied_flips="inversion")
    assert layer.conv_weight().flatten().tolist() == [2.0, 5.0, 2.0]


def test_gradients_reach_every_weight():
    graph = band_graph(8, 2, True, 1)
    layer = OffsetConv(2, 3, (1, 1), tied_flips="inversion")
    layer(torch.randn(graph.num_nodes, 2), graph.edge_index, graph.offset).square().sum().backward()
    assert layer.weight.grad.abs().sum(dim=(1, 2)).min() > 0


def test_errors():
    graph = site_graph(8, 2, True)
    with pytest.raises(GraphqdError):
        OffsetConv(1, 1, 1)(torch.randn(8, 1), graph.edge_index, graph.offset)  # offsets ±2 outside the kernel
    with pytest.raises(GraphqdError):
        OffsetConv(1, 1, (1, 1))(torch.randn(8, 1), graph.edge_index, graph.offset)  # 1D offsets, 2D kernel
    with pytest.raises(GraphqdError):
        OffsetConv.from_conv(nn.Conv1d(1, 1, 4))


def test_open_chain_equals_zero_padded_conv():
    torch.manual_seed(9)
    conv1 = nn.Conv1d(2, 3, 5, padding=2).double()  # padding_mode="zeros"
    chain = site_graph(9, 2, periodic=False)
    x = torch.randn(2, 9, dtype=torch.float64)
    torch.testing.assert_close(OffsetConv.from_conv(conv1)(x.T, chain.edge_index, chain.offset), conv1(x[None])[0].T,
                               **F64)
    conv2 = nn.Conv2d(2, 3, 3, padding=1).double()
    band = band_graph(6, 5, periodic=False, kernel_radius=1)  # every entry of an open chain's ρ
    rho = torch.randn(2, 6, 6, dtype=torch.float64)
    got = OffsetConv.from_conv(conv2)(gather_band(rho, band.pairs).T, band.edge_index, band.offset)
    torch.testing.assert_close(got, gather_band(conv2(rho[None])[0], band.pairs).T, **F64)


def test_graph_without_edges():
    graph = site_graph(1, 2, periodic=True)
    layer = OffsetConv(2, 3, 2, bias=False)
    x = torch.randn(1, 2)
    torch.testing.assert_close(layer(x, graph.edge_index, graph.offset), x @ layer.full_weight()[layer.centre_slot])


@pytest.mark.parametrize("in_channels, out_channels, periodic", [(1, 5, (True, False)), (4, 3, (True, True))])
def test_gather_through_slot_table_equals_message_passing(in_channels, out_channels, periodic):
    torch.manual_seed(9)
    graph = site_graph((5, 8), 2.3, periodic)
    layer = OffsetConv(in_channels, out_channels, (2, 2), tied_flips=[(0,)]).double()
    x = torch.randn(40, in_channels, dtype=torch.float64)
    table = layer.slot_table(graph.edge_index, graph.offset, 40)
    torch.testing.assert_close(layer.gather_forward(x, table), layer(x, graph.edge_index, graph.offset), **F64)
