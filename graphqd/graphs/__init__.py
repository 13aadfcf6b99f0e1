"""graphqd.graphs: lattice graphs with locality-truncated edges, built by index arithmetic.

- :func:`site_graph` — chain / square-lattice sites, edges within a cutoff (minimum image);
- :func:`band_graph` — density-matrix entries within a band, edges between nearby entries;
- :func:`window_graph` — window centres → members of the windowed wave emulator;
- :func:`cached_graph` — any of them built once and moved to each device once;
- :mod:`graphqd.graphs.symmetry` — lattice group actions and ``assert_equivariant``.

Edges run ``edge_index[0]`` (source) → ``edge_index[1]`` (target); site and band offsets
are source minus target (window offsets: member minus centre).
"""
from graphqd.graphs.band_graph import (BandGraph, band_graph, band_to_density_matrix, density_matrix_to_band,
                                       gather_band, hermitian_partner, scatter_band)
from graphqd.graphs.cache import cached_graph, clear_graph_cache
from graphqd.graphs.site_graph import SiteGraph, minimum_image, site_graph
from graphqd.graphs.symmetry import (assert_equivariant, assert_graph_invariant, band_inversion_permutation,
                                     band_translation_permutation, chain_inversion_permutation, node_action,
                                     point_group_permutation, transform_offsets, translation_permutation)
from graphqd.graphs.window_graph import WindowGraph, window_average, window_graph, window_weights

__all__ = [
    "SiteGraph", "site_graph", "minimum_image",
    "BandGraph", "band_graph", "gather_band", "scatter_band", "density_matrix_to_band",
    "band_to_density_matrix", "hermitian_partner",
    "WindowGraph", "window_graph", "window_weights", "window_average",
    "cached_graph", "clear_graph_cache",
    "translation_permutation", "chain_inversion_permutation", "point_group_permutation",
    "transform_offsets", "band_translation_permutation", "band_inversion_permutation",
    "node_action", "assert_graph_invariant", "assert_equivariant",
]
