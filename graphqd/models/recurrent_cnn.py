"""The single recurrent CNN baseline of the shallow quench (Ning, Yang, Chern, arXiv 2412.06631):
one CNN over all variables stacked as channels of the L×L lattice of ρ, predicting the
increment of one step,

    (Δρ, ΔQ, ΔP) = N(ρ, Q, P),   u(t+Δt) = u(t) + Δu,

with no differentiator and no derivative loss (the contrast with PARC's F/S split).

Channels of the input image (all normalised, ũ = (u − mean)/std): Re ρ̃_ij, Im ρ̃_ij and,
with ``q_embedding: diagonal`` (default), Q̃_i δ_ij and P̃_i δ_ij; with ``pair``,
Q̃_i, Q̃_j, P̃_i, P̃_j on every entry. Output channels: Δρ_ij (Re, Im) in units of ρ's
``step_std``, and ΔQ_i, ΔP_i read from the diagonal entries (i, i) of two further
channels. The network is the PARC CNN (:class:`~graphqd.models.layers.ParcNet`: ResNet
blocks, 7×7, two 1×1, 3×3, channel-wise ``Dropout2d``), circular padding, so it runs on
any L ≥ 3 at cost O(L²) per step; the batch must carry the whole matrix.
"""
from __future__ import annotations

import torch
from torch import nn

from graphqd import keys as K
from graphqd.config import Field
from graphqd.graphs.holstein import HolsteinGraphSpec
from graphqd.models.layers import DenseLayout, ParcNet, dense_factories
from graphqd.models.normalization import Normalization
from graphqd.models.parc import PARC_SCHEMA, hermitian_traceless
from graphqd.models.parc_cnn import FULL_BAND
from graphqd.models.registry import register


@register("recurrent_cnn")
class RecurrentCNN(nn.Module):
    """One 2D CNN over stacked (ρ, Q, P) channels predicting the increment."""

    system = "holstein"
    SCHEMA = {
        **{key: PARC_SCHEMA[key] for key in ("width", "depth", "kernel_radius", "wide_kernel_radius", "dropout",
                                             "activation", "readout_scale")},
        "q_embedding": Field("str", "diagonal", choices=["pair", "diagonal"],
                             doc="Q and P on the diagonal, or (Q_i, Q_j, P_i, P_j) on every entry"),
        "hermitian_projection": Field("bool", False, doc="project the rho increment onto Hermitian, traceless "
                                                         "matrices"),
        "padding": Field("str", "circular", choices=["circular", "zeros"],
                         doc="padding of the convolutions over the L x L image; circular: periodic chains"),
    }

    def __init__(self, config: dict, normalization: Normalization):
        super().__init__()
        self.config = dict(config)
        self.normalization = normalization
        c = config
        self.pair = c["q_embedding"] == "pair"
        self.network = ParcNet(*dense_factories(2, c["padding"]), 6 if self.pair else 4, 4, width=c["width"],
                               depth=c["depth"], kernel_radius=c["kernel_radius"],
                               wide_kernel_radius=c["wide_kernel_radius"], dropout=c["dropout"],
                               extra_dropout=True, act=c["activation"], readout_scale=c["readout_scale"])

    @classmethod
    def graph_spec(cls, config: dict) -> HolsteinGraphSpec:
        return HolsteinGraphSpec(site_cutoff=1, band_radius=FULL_BAND, kernel_radius=0)

    def forward(self, batch, state: dict) -> dict:
        norm = self.normalization
        Q, P, rho = state[K.Q], state[K.P], state[K.RHO]
        layout = DenseLayout(batch, Q.size(0), Q.device)
        q, p, r = norm.normalize(K.Q, Q), norm.normalize(K.P, P), norm.normalize(K.RHO, rho)
        sites, diagonal = batch[K.BAND_SITES], batch[K.BAND_DIAGONAL]
        if self.pair:
            extra = [q[sites[:, 0]], q[sites[:, 1]], p[sites[:, 0]], p[sites[:, 1]]]
        else:
            extra = [torch.zeros_like(r[:, 0]).index_copy(0, diagonal, u) for u in (q, p)]
        image = layout.band_to_dense(torch.cat([r] + [e[:, None] for e in extra], -1))
        out = layout.dense_to_band(self.network(image))  # (M, 4)
        step_std = {key: norm.get(key, "step_std").to(Q.dtype) for key in K.HOLSTEIN_STATE}
        change_rho = out[:, :2] * step_std[K.RHO]
        if self.config["hermitian_projection"]:
            graph_of_site = batch[K.GRAPH_OF_SITE] if K.GRAPH_OF_SITE in batch \
                else torch.zeros(Q.size(0), dtype=torch.long, device=Q.device)
            change_rho = hermitian_traceless(change_rho, batch[K.BAND_PARTNER], diagonal, graph_of_site,
                                             layout.graphs)
        return {K.Q: Q + out[diagonal, 2] * step_std[K.Q], K.P: P + out[diagonal, 3] * step_std[K.P],
                K.RHO: rho + change_rho}
