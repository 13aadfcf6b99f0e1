"""The reference surrogate: local offset convolutions predicting a normalised increment.

    Q' = Q + σ_ΔQ·f_Q,   P' = P + σ_ΔP·f_P     (f from OffsetConv stacks on the site graph of (Q̃, P̃, ñ))
    ρ' = ρ + σ_Δρ·Π(f_ρ)                       (f_ρ from OffsetConv stacks on the band graph of
                                                 (Re ρ̃, Im ρ̃, Q̃_i, Q̃_j))

with ũ = (u − mean)/std and σ_Δ the std of the k-step increment on the training split
(the PDEArena / learning-to-simulate recipe). Π makes the ρ increment Hermitian
(average with the conjugate of the partner entry) and traceless (the mean diagonal
increment of each chain is removed), so Tr ρ and ρ = ρ† hold along rollouts up to
round-off. With `integrator: euler` the networks predict du/dt instead (in units of
its training-split std), u' = u + Δt·F(u), and the prediction of du/dt is returned for
the derivative loss — the simplest PARC (differentiator F, identity integrator).

The receptive field per step is depth × kernel_radius sites, independent of L: the model
runs on any chain length at cost O(L · band_radius).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from graphqd import keys as K
from graphqd.config import Field
from graphqd.graphs.holstein import HolsteinGraphSpec, band_features, site_features
from graphqd.models.dropout import ChannelDropout
from graphqd.models.normalization import Normalization
from graphqd.models.offset_conv import OffsetConv
from graphqd.models.registry import register


class OffsetConvStack(nn.Module):
    """OffsetConv → GELU → channel dropout, `depth` times, then a linear OffsetConv read-out.

    Shapes: x (N, F_in), edge_index (2, E), offset (E, D) → (N, F_out)
    """

    def __init__(self, in_channels: int, width: int, out_channels: int, depth: int, kernel_radius, dropout: float):
        super().__init__()
        sizes = [in_channels] + [width] * depth
        self.hidden = nn.ModuleList(OffsetConv(a, b, kernel_radius) for a, b in zip(sizes[:-1], sizes[1:]))
        # no read-out bias: a uniform Im ρ bias is removed exactly by the Hermitian projection, and
        # a parameter with an exactly-zero gradient is driven by round-off under Adam
        self.readout = OffsetConv(width, out_channels, kernel_radius, bias=False)
        self.dropout = ChannelDropout(dropout)
        with torch.no_grad():  # start near the identity map u' = u: small first increments
            self.readout.weight.mul_(0.1)

    def forward(self, x: Tensor, edge_index: Tensor, offset: Tensor, graph_of_node: Tensor | None) -> Tensor:
        for layer in self.hidden:
            x = self.dropout(nn.functional.gelu(layer(x, edge_index, offset)), graph_of_node)
        return self.readout(x, edge_index, offset)


@register("local_increment")
class LocalIncrement(nn.Module):
    """Local increment model for Holstein chains (reference model of the training loop)."""

    system = "holstein"
    GRAPH_KEYS = ("band_radius",)  # the band graph grows with it, the weights do not (train.init_from)
    SCHEMA = {
        "width": Field("int", 16, minimum=1, doc="hidden channels"),
        "depth": Field("int", 2, minimum=1, doc="hidden OffsetConv layers per network"),
        "kernel_radius": Field("int", 1, minimum=1, doc="offsets per layer, in sites (and band indices)"),
        "band_radius": Field("int", 4, minimum=0, doc="ρ entries with d(i, j) <= band_radius are modelled"),
        "dropout": Field("float", 0.0, minimum=0.0, maximum=0.9, doc="channel-wise dropout"),
        "integrator": Field("str", "increment", choices=["increment", "euler"],
                            doc="increment: the networks predict the normalised k-step increment; euler: they "
                                "predict du/dt, u' = u + Δt·du/dt (with the derivative loss)"),
    }

    def __init__(self, config: dict, normalization: Normalization):
        super().__init__()
        self.config = dict(config)
        self.normalization = normalization
        width, depth, radius, p = config["width"], config["depth"], config["kernel_radius"], config["dropout"]
        self.site_net = OffsetConvStack(3, width, 2, depth, radius, p)
        self.band_net = OffsetConvStack(4, width, 2, depth, (radius, radius), p)
        self.euler = config["integrator"] == "euler"

    @classmethod
    def graph_spec(cls, config: dict) -> HolsteinGraphSpec:
        return HolsteinGraphSpec(site_cutoff=config["kernel_radius"], band_radius=config["band_radius"],
                                 kernel_radius=config["kernel_radius"])

    def forward(self, batch, state: dict) -> dict:
        norm = self.normalization
        graph_of_site = batch[K.GRAPH_OF_SITE] if K.GRAPH_OF_SITE in batch and batch[K.GRAPH_OF_SITE] is not None \
            else torch.zeros(state[K.Q].size(0), dtype=torch.long, device=state[K.Q].device)
        sites = site_features(state, batch)
        scale = torch.stack([norm.get(K.Q, "std")[0], norm.get(K.P, "std")[0], norm.get(K.RHO, "std")[0]])
        shift = torch.stack([norm.get(K.Q, "mean")[0], norm.get(K.P, "mean")[0], norm.get(K.RHO, "mean")[0]])
        site_out = self.site_net((sites - shift) / scale, batch[K.SITE_EDGE_INDEX], batch[K.SITE_OFFSET],
                                 graph_of_site)
        band = band_features(state, batch)
        scale = torch.cat([norm.get(K.RHO, "std"), norm.get(K.Q, "std").expand(2)])
        shift = torch.cat([norm.get(K.RHO, "mean"), norm.get(K.Q, "mean").expand(2)])
        graph_of_band = graph_of_site[batch[K.BAND_SITES][:, 0]]
        band_out = self.band_net((band - shift) / scale, batch[K.BAND_EDGE_INDEX], batch[K.BAND_OFFSET],
                                 graph_of_band)
        field = "rate_std" if self.euler else "step_std"
        change = {K.Q: site_out[:, 0] * norm.get(K.Q, field)[0], K.P: site_out[:, 1] * norm.get(K.P, field)[0],
                  K.RHO: self.project_density_change(band_out * norm.get(K.RHO, field), batch, graph_of_site)}
        if not self.euler:
            return {key: state[key] + change[key] for key in change}
        out = {key: state[key] + norm.dt * change[key] for key in change}
        out.update({K.rate_key(key): value for key, value in change.items()})
        return out

    @staticmethod
    def project_density_change(change: Tensor, batch, graph_of_site: Tensor) -> Tensor:
        """Hermitian, traceless part of a band increment (num_band, 2) of every chain."""
        partner = batch[K.BAND_PARTNER]
        change = 0.5 * (change + change[partner] * change.new_tensor([1.0, -1.0]))
        diagonal = batch[K.BAND_DIAGONAL]
        count = int(graph_of_site.max()) + 1 if graph_of_site.numel() else 0
        mean = torch.zeros(count, dtype=change.dtype, device=change.device).index_add_(
            0, graph_of_site, change[diagonal, 0])
        mean = mean / torch.bincount(graph_of_site, minlength=count).to(change.dtype)
        real = change[:, 0].index_add(0, diagonal, -mean[graph_of_site])
        return torch.stack([real, change[:, 1]], -1)
