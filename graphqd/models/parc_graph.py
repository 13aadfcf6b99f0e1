"""Graph PARC: the PARC of arXiv 2412.06631 (DESIGN §5) with every convolution a message-passing
layer on a locality-truncated lattice graph (DESIGN §4–5).

    Q' = Q + S_Q(F_Q(P)),  P' = P + S_P(F_P(Q, diag ρ))     on the site graph,
    ρ' = ρ + Π S_ρ(Π F_ρ(Q, ρ))                               on the density-matrix band graph,

(Π the Hermitian, traceless projection; units and inputs in :mod:`graphqd.models.parc`).
Each F and S is the paper's network — ResNet blocks, a wide convolution, two 1×1
convolutions, a final convolution — with :class:`~graphqd.models.offset_conv.OffsetConv`
layers: one weight matrix per lattice offset (per (di, dj) on the band), so on a periodic
chain with a band covering every entry the model *is* the paper's CNN PARC with circular
padding (tested), and on a band of radius r_band it is that CNN restricted to the band.

Locality: one network sees ``depth·3·kernel_radius + wide_kernel_radius + kernel_radius``
sites (10 with the defaults), F then S twice that — the locality cutoff of one step. Only
the entries ρ_ij with d(i, j) ≤ band_radius are carried (the state outside the band is
dropped; see :mod:`graphqd.models.parc`). Cost per step O(L · band_radius · width²), no
dependence on the training lattice: a model trained on L = 8 runs on any chain length.

``onsite_phonons`` puts the four networks of Q and P on the on-site graph (site cutoff 0, every
kernel radius 0): dQ_i/dt = P_i/m and dP_i/dt = g(n_i − ½) − K Q_i (DESIGN §3.1) read site i
alone, so these networks need no neighbours. With neighbours, F_P fitted to quenches whose Q
and n are nearly collinear learns a response spread over the neighbours (measured on the
shallow quench: ∂F_P,i/∂Q_i = −0.17 and ∂F_P,i±1/∂Q_i = +0.12, against the exact −K = −0.4
and 0), which fails on states off the training manifold. ρ keeps its kernels: the
commutator couples entries along the band.

``tie_inversion`` ties the weights of offsets o and −o in every layer (OffsetConv
``tied_flips="inversion"``), making the model equivariant under chain inversion
i → −i, ρ_ij → ρ_−i,−j by construction (the Holstein chain without bias has that symmetry).
"""
from __future__ import annotations

from torch import Tensor, nn

from graphqd import keys as K
from graphqd.config import Field
from graphqd.graphs.holstein import HolsteinGraphSpec
from graphqd.models.layers import LatticeGraph, graph_factories
from graphqd.models.normalization import Normalization
from graphqd.models.parc import PARC_SCHEMA, HolsteinPARC
from graphqd.models.registry import register


@register("parc_graph")
class GraphPARC(HolsteinPARC):
    """Graph PARC for Holstein chains (site graph for Q, P; band graph for ρ).

    Config keys: :data:`graphqd.models.parc.PARC_SCHEMA` plus ``band_radius`` and
    ``tie_inversion``.
    """

    GRAPH_KEYS = ("band_radius",)  # the band graph grows with it, the weights do not (train.init_from)
    # onsite_phonons shapes only the phonon networks, which phonons: exact drops (train.init_from)
    REDUCING_KEYS = HolsteinPARC.REDUCING_KEYS + ("onsite_phonons",)
    SCHEMA = {
        **PARC_SCHEMA,
        "band_radius": Field("int", 4, minimum=0, doc="ρ entries with d(i, j) <= band_radius are modelled"),
        "tie_inversion": Field("bool", False, doc="tie offsets o and -o: equivariant under chain inversion"),
        "onsite_phonons": Field("bool", False, doc="Q and P networks on the on-site graph (cutoff 0): "
                                                   "dQ_i/dt and dP_i/dt depend on site i alone"),
    }

    def __init__(self, config: dict, normalization: Normalization):
        super().__init__(config, normalization)
        tied = "inversion" if config["tie_inversion"] else None
        self.build_networks(graph_factories(1, tied), graph_factories(2, tied), config["onsite_phonons"])

    @classmethod
    def graph_spec(cls, config: dict) -> HolsteinGraphSpec:
        reach = max(config["kernel_radius"], config["wide_kernel_radius"])
        # .get: configs saved in checkpoints before the key existed reach here without defaults
        phonon_networks = config.get("phonons", "learned") == "learned" and not config.get("onsite_phonons", False)
        site_cutoff = reach if phonon_networks else 0
        return HolsteinGraphSpec(site_cutoff=site_cutoff, band_radius=config["band_radius"], kernel_radius=reach)

    def context(self, batch, state: dict) -> tuple[LatticeGraph, LatticeGraph]:
        """The site and band graphs of `batch`, kept while the same batch comes back: a rollout
        calls the model on one batch at every step, and its edge masks and neighbour tables
        are a sixth of a step at L = 256. The batch's graph tensors are compared by identity
        (held here, so none can be freed and its address reused)."""
        graph_of_site = batch[K.GRAPH_OF_SITE] if K.GRAPH_OF_SITE in batch else None
        key = (batch[K.SITE_EDGE_INDEX], batch[K.SITE_OFFSET], batch[K.BAND_EDGE_INDEX], batch[K.BAND_OFFSET],
               batch[K.BAND_SITES], graph_of_site)
        kept = getattr(self, "_kept_context", None)
        if kept is not None and all(a is b for a, b in zip(kept[0], key)):
            return kept[1]
        graph_of_band = graph_of_site[batch[K.BAND_SITES][:, 0]] if graph_of_site is not None else None
        context = (LatticeGraph(batch[K.SITE_EDGE_INDEX], batch[K.SITE_OFFSET], graph_of_site),
                   LatticeGraph(batch[K.BAND_EDGE_INDEX], batch[K.BAND_OFFSET], graph_of_band,
                                band_shape(graph_of_site, batch[K.BAND_SITES].size(0), state[K.Q].size(0))))
        self._kept_context = (key, context)
        return context

    def apply_site(self, network: nn.Module, x: Tensor, context) -> Tensor:
        return network(x, context[0])

    def apply_band(self, network: nn.Module, x: Tensor, context) -> Tensor:
        return network(x, context[1])


def band_shape(graph_of_site: Tensor | None, band_nodes: int, sites: int) -> tuple[int, int, int] | None:
    """(chains, L, diagonals) if the batch's sites and band entries can be those of equal chains
    (`LatticeGraph.sheared` checks the edges), else None."""
    chains = int(graph_of_site.max()) + 1 if graph_of_site is not None and graph_of_site.numel() else 1
    if sites % chains or band_nodes % sites:
        return None
    return chains, sites // chains, band_nodes // sites
