"""Lattice group actions: group laws, invariance of the graphs, and assert_equivariant itself."""
import pytest
import torch

from graphqd.errors import GraphqdError
from graphqd.graphs import (assert_equivariant, assert_graph_invariant, band_graph, band_inversion_permutation,
                            band_translation_permutation, chain_inversion_permutation, gather_band, minimum_image, node_action,
                            point_group_permutation, site_graph, transform_offsets, translation_permutation)
from graphqd.graphs.symmetry import POINT_GROUP


def compose(first, second):
    """Permutation of applying `first`, then `second`: x[first][second] = x[first[second]]."""
    return first[second]


def test_translations_form_the_cyclic_group():
    L = 7
    t1, t3 = translation_permutation(L, 1), translation_permutation(L, 3)
    x = torch.arange(L)
    assert torch.equal(x[t1], torch.roll(x, 1))  # x'(r) = x(r − 1)
    assert torch.equal(compose(compose(t1, t1), t1), t3)
    assert torch.equal(translation_permutation(L, L), torch.arange(L))
    square = torch.arange(12).view(3, 4)
    assert torch.equal(square.flatten()[translation_permutation((3, 4), (1, 2))], torch.roll(square, (1, 2), (0, 1)).flatten())


def test_inversion_laws():
    L = 8
    invert = chain_inversion_permutation(L)
    assert torch.equal(invert, (-torch.arange(L)) % L)
    assert torch.equal(compose(invert, invert), torch.arange(L))
    # I T(t) I = T(−t)
    assert torch.equal(compose(compose(invert, translation_permutation(L, 2)), invert), translation_permutation(L, -2))
    assert torch.equal(chain_inversion_permutation(5, periodic=False), torch.tensor([4, 3, 2, 1, 0]))


def test_point_group_laws():
    shape = (5, 5)
    perm = {name: point_group_permutation(shape, name) for name in POINT_GROUP}
    assert torch.equal(perm["identity"], torch.arange(25))
    assert torch.equal(compose(perm["rot90"], perm["rot90"]), perm["rot180"])
    assert torch.equal(compose(perm["rot90"], perm["rot270"]), perm["identity"])
    for name in ("reflect_y", "reflect_x", "rot180", "transpose", "antitranspose"):
        assert torch.equal(compose(perm[name], perm[name]), perm["identity"])
    # the composition of permutations and of offset matrices agree (a representation)
    offset = torch.tensor([[1, 2]])
    for a in POINT_GROUP:
        for b in POINT_GROUP:
            product = compose(perm[a], perm[b])
            names = [c for c in POINT_GROUP if torch.equal(perm[c], product)]
            assert len(names) == 1
            assert torch.equal(transform_offsets(transform_offsets(offset, a), b), transform_offsets(offset, names[0]))
    with pytest.raises(GraphqdError):
        point_group_permutation((4, 5), "rot90")
    with pytest.raises(GraphqdError):
        point_group_permutation((4, 4), "rot90", periodic=(True, False))


@pytest.mark.parametrize("element", sorted(POINT_GROUP))
def test_square_site_graph_invariant_under_point_group(element):
    for periodic in (True, False):
        graph = site_graph((5, 5), 2.3, periodic)
        assert_graph_invariant(graph.edge_index, graph.offset, point_group_permutation((5, 5), element, periodic),
                               lambda o: transform_offsets(o, element))


def test_slab_graph_invariant_under_its_symmetries():
    shape, periodic = (6, 7), (True, False)
    graph = site_graph(shape, 6, periodic)

    def wrap_y(offset):  # Ly = 6 is even and the cutoff reaches dy = ±3: one image, stored as +3
        return torch.stack([minimum_image(offset[:, 0], shape[0]), offset[:, 1]], dim=1)

    for element in ("reflect_y", "reflect_x", "rot180"):
        perm = point_group_permutation(shape, element, periodic)
        assert_graph_invariant(graph.edge_index, graph.offset, perm, lambda o: wrap_y(transform_offsets(o, element)))
        if element != "reflect_x":
            with pytest.raises(AssertionError):  # without the minimum image, −3 is not a stored offset
                assert_graph_invariant(graph.edge_index, graph.offset, perm, lambda o: transform_offsets(o, element))
    assert_graph_invariant(graph.edge_index, graph.offset, translation_permutation(shape, (1, 0), periodic),
                           lambda o: o)
    with pytest.raises(AssertionError):  # a translation along the open axis is no symmetry
        shifted = translation_permutation((6, 7), (0, 1), True)
        assert_graph_invariant(graph.edge_index, graph.offset, shifted, lambda o: o)
    with pytest.raises(GraphqdError):
        translation_permutation(shape, (0, 1), periodic)


@pytest.mark.parametrize("L, band_radius, periodic", [(8, 2, True), (9, 4, True), (8, 4, True), (7, 2, False)])
def test_band_actions_match_dense_matrix(L, band_radius, periodic):
    graph = band_graph(L, band_radius, periodic, 2)
    rho = torch.randn(L, L, dtype=torch.float64)
    values = gather_band(rho, graph.pairs)
    site_inversion = chain_inversion_permutation(L, periodic)
    inverted = rho[site_inversion][:, site_inversion]  # ρ'_ij = ρ_−i,−j
    invert = band_inversion_permutation(graph)
    assert torch.equal(values[invert], gather_band(inverted, graph.pairs))
    assert_graph_invariant(graph.edge_index, graph.offset, invert, lambda o: -o)
    if periodic:
        translate = band_translation_permutation(graph, 3)
        assert torch.equal(values[translate], gather_band(torch.roll(rho, (3, 3), (0, 1)), graph.pairs))
        assert_graph_invariant(graph.edge_index, graph.offset, translate, lambda o: o)
    else:
        with pytest.raises(GraphqdError):
            band_translation_permutation(graph, 1)


def test_assert_equivariant():
    L = 6
    shift = node_action(translation_permutation(L, 1))
    x = torch.randn(L, 2, dtype=torch.float64)
    assert assert_equivariant(lambda x: torch.tanh(x) * 3, shift, shift, x) < 1e-12
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(lambda x: x * torch.arange(L, dtype=x.dtype)[:, None], shift, shift, x)
    # several inputs and outputs: act on the features, leave the second input alone; invariant second output
    scale = torch.tensor(2.0, dtype=torch.float64)
    deviation = assert_equivariant(lambda x, s: (x * s, (x * s).sum()), (shift, None), (shift, None), (x, scale))
    assert deviation < 1e-12
