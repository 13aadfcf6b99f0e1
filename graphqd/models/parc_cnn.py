"""CNN PARC: the paper's baseline (Ning, Yang, Chern, arXiv 2412.06631; DESIGN §5).

    Q' = Q + S_Q(F_Q(P)),  P' = P + S_P(F_P(Q, diag ρ))     1D CNNs over the chain,
    ρ' = ρ + S_ρ(F_ρ(Q, ρ))                                   2D CNNs over the L×L matrix,

each CNN two ResNet blocks, a 7×7 convolution, two 1×1 convolutions, channel-wise
dropout (``Dropout1d``/``Dropout2d``) and a final 3×3 convolution, 128 channels at the
widest, circular padding (:class:`~graphqd.models.layers.ParcNet`; units and inputs in
:mod:`graphqd.models.parc`). The complex ρ is two real channels (Re, Im) instead of the
published code's complex convolutions, and outputs are linear in training-split std
units instead of the published code's final tanh on raw values.

Lattice size: with circular padding every layer is translation-equivariant on a ring of
any length, so a CNN trained on L = 8 runs on any L ≥ wide_kernel_radius (the 7×7 kernel
needs L ≥ 3 for circular padding), at cost O(L²) per step for ρ — the whole matrix is
convolved. The batch must carry the whole matrix (``graph_spec`` asks the dataset for a
band covering every entry). ``padding: zeros`` is the open-chain variant.
``hermitian_projection`` (default off here: the paper's CNN is unconstrained) applies the
same Hermitian, traceless projection as graph PARC.
"""
from __future__ import annotations

from torch import Tensor, nn

from graphqd import keys as K
from graphqd.config import Field
from graphqd.graphs.holstein import HolsteinGraphSpec
from graphqd.models.layers import DenseLayout, dense_factories
from graphqd.models.normalization import Normalization
from graphqd.models.parc import PARC_SCHEMA, HolsteinPARC
from graphqd.models.registry import register

# a band radius no chain reaches: the band graph then holds every entry of ρ exactly once
FULL_BAND = 1 << 30


@register("parc_cnn")
class CNNPARC(HolsteinPARC):
    """CNN PARC for Holstein chains (1D CNNs for Q and P, 2D CNNs over ρ)."""

    SCHEMA = {
        **PARC_SCHEMA,
        "q_embedding": Field("str", "diagonal", choices=["pair", "diagonal"],
                             doc="Q in F_rho: Q_i on the diagonal (the paper), or (Q_i, Q_j) on every entry"),
        "hermitian_projection": Field("bool", False, doc="project the rho rate and increment onto Hermitian, "
                                                         "traceless matrices"),
        "padding": Field("str", "circular", choices=["circular", "zeros"], doc="circular: periodic chains"),
    }

    def __init__(self, config: dict, normalization: Normalization):
        super().__init__(config, normalization)
        self.build_networks(dense_factories(1, config["padding"]), dense_factories(2, config["padding"]))

    @classmethod
    def graph_spec(cls, config: dict) -> HolsteinGraphSpec:
        # no message passing: the smallest site graph, the whole matrix, no band edges
        return HolsteinGraphSpec(site_cutoff=1, band_radius=FULL_BAND, kernel_radius=0)

    def context(self, batch, state: dict) -> DenseLayout:
        return DenseLayout(batch, state[K.Q].size(0), state[K.Q].device)

    def apply_site(self, network: nn.Module, x: Tensor, context: DenseLayout) -> Tensor:
        return context.dense_to_sites(network(context.sites_to_dense(x)))

    def apply_band(self, network: nn.Module, x: Tensor, context: DenseLayout) -> Tensor:
        return context.dense_to_band(network(context.band_to_dense(x)))
