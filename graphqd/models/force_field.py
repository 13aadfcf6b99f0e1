"""Force fields of the biased Holstein CDW: the steady-state NEGF density n_i of every site,
lead columns included, from the displacements Q and the two leads (DESIGN.md §3.3, §5).

Following Fan, Zhang, Chern (arXiv 2601.07583), the model learns n_i and the force is rebuilt
exactly as F_i = g(n_i − ½) − K Q_i − κ Σ_nn Q_j (`graphqd.runtime.force_field`). Unlike the
published model, which sees the Q within radius 6 of interior sites only, these read each
site's distance to each lead and the leads' chemical potentials (`graphqd.graphs.negf`), so one
model covers a range of biases and every site, and no site is overwritten from a recorded run.

Symmetries: y-translation (a convolution on the periodic slab) and y-reflection (weights tied
under dy → −dy) hold by construction; the column mirror with exchanged leads by
`canonical_mirror` where `mirror` is set.
"""
from __future__ import annotations

import abc
import functools
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphqd import keys as K
from graphqd.config import Field
from graphqd.errors import ConfigError, GraphqdError
from graphqd.graphs.cache import cached_graph
from graphqd.graphs.negf import LEAD_FEATURES, ForceFieldSpec, canonical_mirror, lead_features
from graphqd.models.column_recurrence import ColumnConvGRU
from graphqd.models.normalization import Normalization
from graphqd.models.offset_conv import OffsetConv, slot_table
from graphqd.models.registry import register

COMMON_SCHEMA = {
    "mirror": Field("bool", True, doc="exact equivariance under the column mirror with exchanged leads"),
    "lead_columns": Field("int", 0, minimum=0, doc="columns next to each lead left out of the loss (0: none)"),
}
Y_REFLECTION = [(0,)]   # OffsetConv tying: offsets (dy, dx) and (−dy, dx) share a weight


class ForceField(nn.Module, metaclass=abc.ABCMeta):
    """Shared frame: the state keys, normalisation and the mirror. Subclasses give
    `local_density(Q, mu_left, mu_right, shape) -> n`, all (B·Ly·Lx,) in normalised units."""

    system = "negf"

    def __init__(self, config: dict, normalization: Normalization):
        super().__init__()
        self.config = dict(config)
        self.normalization = normalization

    @classmethod
    def graph_spec(cls, config: dict) -> ForceFieldSpec:
        return ForceFieldSpec(lead_columns=config["lead_columns"])

    def forward(self, batch, state: dict) -> dict:
        """n of every site of a batch of slabs, graph-major; slabs of several sizes are evaluated
        one size at a time."""
        shapes = batch[K.LATTICE].reshape(-1, 2)
        Q, mu_left, mu_right = batch[K.Q], batch[K.MU_LEFT], batch[K.MU_RIGHT]
        if not bool((shapes != shapes[0]).any()):
            return {K.DENSITY: self.density(Q, mu_left, mu_right, tuple(int(n) for n in shapes[0]))}
        sizes = shapes.prod(1)
        first = torch.cumsum(sizes, 0) - sizes
        n = None
        for shape in shapes.unique(dim=0):
            graphs = (shapes == shape).all(1).nonzero()[:, 0]
            sites = (first[graphs, None] + torch.arange(int(sizes[graphs[0]]), device=Q.device)).reshape(-1)
            part = self.density(Q[sites], mu_left[graphs], mu_right[graphs], tuple(int(k) for k in shape))
            n = part.new_empty(Q.shape) if n is None else n  # the model's dtype (bfloat16 under autocast)
            n[sites] = part
        return {K.DENSITY: n}

    def density(self, Q: Tensor, mu_left: Tensor, mu_right: Tensor, shape: tuple) -> Tensor:
        """n of every site of B slabs of `shape` = (Ly, Lx).

        Shapes:
            Q (B·Ly·Lx,) row-major per slab, mu_left, mu_right (B,) → (B·Ly·Lx,)
        """
        if shape[0] * shape[1] * mu_left.numel() != Q.numel():
            raise GraphqdError(f"Q has {Q.numel()} sites, not {mu_left.numel()} lattices of {shape[0]} x {shape[1]}")
        self.check_lattice(shape)
        norm = self.normalization
        q = norm.normalize(K.Q, Q)

        def normalised(q, upper, lower):
            return self.local_density(q, upper, lower, shape)
        out = canonical_mirror(normalised, q, mu_left, mu_right, shape) if self.config["mirror"] \
            else normalised(q, mu_left, mu_right)
        return norm.get(K.DENSITY, "mean").to(out.dtype) + norm.get(K.DENSITY, "std").to(out.dtype) * out

    @abc.abstractmethod
    def local_density(self, q: Tensor, mu_left: Tensor, mu_right: Tensor, shape: tuple) -> Tensor:
        """Normalised n of every site of B slabs of `shape` from normalised q and the leads."""

    reach: float = 0.0   # radius (sites) of the neighbourhood a site's density depends on

    def check_lattice(self, shape: tuple) -> None:
        """A neighbourhood must not wrap onto itself around the periodic y axis."""
        rows = 2 * math.floor(self.reach) + 1
        if shape[0] < rows:
            raise GraphqdError(f"a lattice of Ly = {shape[0]} rows is smaller than the force field's neighbourhood "
                               f"(radius {self.reach:g}): it needs Ly >= {rows}")


@functools.lru_cache(maxsize=64)
def _slab_table(shape: tuple, cutoff: float, radius: int, device: str) -> Tensor:
    graph = cached_graph("site", shape, cutoff, periodic=(True, False), device=device)
    return slot_table(graph.edge_index, graph.offset, graph.num_nodes, (radius, radius))


def batched_table(shape: tuple, cutoff: float, radius: int, graphs: int, device) -> Tensor:
    """Neighbour table (`graphqd.models.offset_conv.slot_table`, kernel radius `radius`) of `graphs`
    copies of the slab's site graph within `cutoff`, nodes numbered graph-major; the missing-neighbour
    row moves to the end. The table of one slab is cached per lattice."""
    table, N = _slab_table(tuple(shape), float(cutoff), int(radius), str(device)), shape[0] * shape[1]
    if graphs == 1:
        return table
    shifted = table[None] + N * torch.arange(graphs, device=device)[:, None, None]
    return torch.where(table[None] == N, graphs * N, shifted).reshape(graphs * N, -1)


@register("forcefield_graph")
class ForceFieldGraph(ForceField):
    """Message passing on the site graph of the slab (periodic in y, open in x).

        h_i = W_0 q_i + Σ_{0 < |r_j − r_i| ≤ r_c} W_{r_j − r_i} q_j          (a learned, y-mirror-tied
                                                                            linear descriptor; with
                                                                            `squares`, of (q, q²))
        h_i ← MLP([h_i, q_i, u_left(i), u_right(i)])
        h_i ← h_i + W_c [→c_x, ←c_x],   c = GRU over columns x of the row means ⟨h⟩_y  (with `column_context`;
                                        with `column_rows`, c_x(y) a convolutional GRU over the whole columns)
        h_i ← h_i + V^ℓ_0 σ(h_i) + Σ_{0 < |r_j − r_i| ≤ √2} V^ℓ_{r_j − r_i} σ(h_j),  ℓ = 1 … layers
        n_i = ⟨n⟩ + std(n) · MLP(h_i)

    q = (Q − ⟨Q⟩)/std(Q); u_α the lead features of `graphqd.graphs.negf`; σ = SiLU. The signed
    offsets (dy, dx) select the weights, with dy → −dy tied. Receptive field r_c + layers·√2;
    with `column_context` every site also reads the whole slab through a bidirectional GRU run
    along x from each lead over the column means, as the recursive Green's function method builds
    the lead-connected Green's function column by column (Lake et al., J. Appl. Phys. 81, 7845
    (1997)); the column means keep both y symmetries, and the cost stays linear in the sites. With
    `column_rows` the carried state is resolved in y (`graphqd.models.column_recurrence`), as the
    method's column Green's function is.
    Each layer gathers through a neighbour table of the site graph (`OffsetConv.gather_forward`),
    the same sums as message passing without a scatter.

    Shapes:
        q (B·Ly·Lx,), mu_left, mu_right (B,) → n (B·Ly·Lx,)
    """

    SCHEMA = {**COMMON_SCHEMA,
              "cutoff": Field("float", 6.0, positive=True, doc="radius of the descriptor (the paper: 6)"),
              "channels": Field("int", 32, minimum=1, doc="channels of the descriptor and of each site's features "
                                                          "in the message-passing layers"),
              "hidden": Field("int", 64, minimum=1, doc="hidden width of the embedding and read-out MLPs"),
              "layers": Field("int", 2, minimum=0, doc="nearest-neighbour message-passing layers after the descriptor"),
              "squares": Field("bool", False, doc="the descriptor also reads q² (the local amplitude of the lattice "
                                                  "distortion)"),
              "column_context": Field("int", 0, minimum=0, doc="hidden width of a bidirectional GRU along x over "
                                                               "the column means, added to every site (0: none; "
                                                               "the model is then local)"),
              "column_rows": Field("int", 0, minimum=0, doc="with column_context: carry a field over the column's "
                                                            "rows instead of its mean (a convolutional GRU along x "
                                                            "whose kernels reach this many rows up and down; 0: the "
                                                            "column means)")}

    def __init__(self, config: dict, normalization: Normalization):
        super().__init__(config, normalization)
        C, H, r = config["channels"], config["hidden"], int(config["cutoff"])
        self.descriptor = OffsetConv(2 if config["squares"] else 1, C, (r, r), tied_flips=Y_REFLECTION,
                                     check_offsets=False)
        self.embed = nn.Sequential(nn.Linear(C + 1 + LEAD_FEATURES, H), nn.SiLU(), nn.Linear(H, C))
        self.convs = nn.ModuleList(OffsetConv(C, C, (1, 1), tied_flips=Y_REFLECTION, check_offsets=False)
                                   for _ in range(config["layers"]))
        if config["column_rows"] and not config["column_context"]:
            raise ConfigError("config key 'model.column_rows' needs model.column_context > 0 (the hidden width of "
                              "the recurrence along x)")
        if config["column_context"]:
            self.columns = ColumnConvGRU(C, config["column_context"], config["column_rows"]) if config["column_rows"] \
                else nn.GRU(C, config["column_context"], batch_first=True, bidirectional=True)
            self.from_columns = nn.Linear(2 * config["column_context"], C)
        self.readout = nn.Sequential(nn.SiLU(), nn.Linear(C, H), nn.SiLU(), nn.Linear(H, 1))
        self.reach = config["cutoff"]

    def local_density(self, q, mu_left, mu_right, shape):
        B, device = mu_left.numel(), q.device
        table = batched_table(shape, self.config["cutoff"], int(self.config["cutoff"]), B, device)
        h = self.descriptor.gather_forward(torch.stack([q, q * q], 1) if self.config["squares"] else q[:, None], table)
        h = self.embed(torch.cat([h, q[:, None], lead_features(shape, mu_left, mu_right).to(q.dtype)], 1))
        if self.config["column_rows"]:
            context = self.columns(h.reshape(B, *shape, -1).permute(0, 3, 1, 2))     # (B, 2·hidden, Ly, Lx)
            h = h + self.from_columns(context.permute(0, 2, 3, 1).reshape(h.shape[0], -1))
        elif self.config["column_context"]:
            context, _ = self.columns(h.reshape(B, *shape, -1).mean(1))            # (B, Lx, 2·hidden)
            h = h + self.from_columns(context)[:, None].expand(B, *shape, -1).reshape(h.shape)
        if len(self.convs):
            table = batched_table(shape, 1.5, 1, B, device)
            for conv in self.convs:
                h = h + conv.gather_forward(F.silu(h), table)
        return self.readout(h)[:, 0]


@register("forcefield_cnn")
class ForceFieldCNN(ForceField):
    """The CNN baseline: 3 × 3 convolutions on the Ly × Lx image (circular in y, zero-padded in x)
    of the channels (q, u_left, u_right), SiLU, then a 1 × 1 readout; receptive field `depth`.

    Shapes:
        q (B·Ly·Lx,), mu_left, mu_right (B,) → n (B·Ly·Lx,)
    """

    SCHEMA = {**COMMON_SCHEMA,
              "channels": Field("int", 32, minimum=1, doc="channels of every 3 x 3 convolution"),
              "depth": Field("int", 7, minimum=1, doc="3 x 3 convolutions (receptive field radius)")}

    def __init__(self, config: dict, normalization: Normalization):
        super().__init__(config, normalization)
        C = config["channels"]
        widths = [1 + LEAD_FEATURES] + [C] * config["depth"]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3) for a, b in zip(widths[:-1], widths[1:]))
        self.readout = nn.Conv2d(C, 1, 1)
        self.reach = float(config["depth"])

    def local_density(self, q, mu_left, mu_right, shape):
        B = mu_left.numel()
        image = torch.cat([q[:, None], lead_features(shape, mu_left, mu_right).to(q.dtype)], 1)
        h = image.reshape(B, *shape, -1).permute(0, 3, 1, 2)                   # (B, C, Ly, Lx)
        for i, conv in enumerate(self.convs):
            h = F.pad(F.pad(h, (0, 0, 1, 1), mode="circular"), (1, 1, 0, 0))   # y circular, x zeros
            h = conv(h) if i == 0 else conv(F.silu(h))
        return self.readout(F.silu(h)).reshape(-1)


PAPER_WIDTHS = [4096, 2048, 1024, 512, 256, 128, 64, 64]


def mirror_pairs(radius: int) -> tuple[Tensor, Tensor, Tensor]:
    """Slots (row-major in the (2r+1)² square) of the descriptor's sites within `radius`: the centre
    row dy = 0, and the upper (dy > 0) and lower (−dy) site of every y-mirror pair, aligned."""
    side = 2 * radius + 1
    dy, dx = torch.meshgrid(torch.arange(-radius, radius + 1), torch.arange(-radius, radius + 1), indexing="ij")
    inside = (dy ** 2 + dx ** 2 <= radius ** 2)
    slot = (dy + radius) * side + (dx + radius)
    centre = slot[inside & (dy == 0)]
    upper = slot[inside & (dy > 0)]
    lower = ((-dy + radius) * side + (dx + radius))[inside & (dy > 0)]
    return centre, upper, lower


@register("forcefield_mlp")
class ForceFieldMLP(ForceField):
    """The published model (Fan, Zhang, Chern, arXiv 2601.07583): an MLP on the Q of the sites
    within Euclidean distance r = 6 (113 sites), symmetrised under y → −y:

        d = (q_{0,dx} for the 13 centre-row sites;
             (q_+ + q_−)/2 and s (q_+ − q_−)/2 for each of the 50 mirror pairs (dy, dx), (−dy, dx)),
        s = sign Σ_pairs (q_+ − q_−),
        n_i = ⟨n⟩ + std(n) · MLP(d_i [, u_left(i), u_right(i)]),

    ReLU, Xavier-normal weights; the paper's widths 4096 … 64 (11.66 M parameters) by default.
    Sites beyond the open x edges read q = 0. With `lead_features` false the model sees no lead,
    as published (train it with lead_columns = 6, on one bias); with it, the lead features of
    `graphqd.graphs.negf` join the descriptor.

    Shapes:
        q (B·Ly·Lx,), mu_left, mu_right (B,) → n (B·Ly·Lx,)
    """

    SCHEMA = {**COMMON_SCHEMA,
              "mirror": Field("bool", False, doc="exact column-mirror equivariance (needs lead_features)"),
              "cutoff": Field("float", 6.0, positive=True, doc="descriptor radius (the paper: 6, 113 sites)"),
              "widths": Field("ints", PAPER_WIDTHS, minimum=1, doc="hidden layer widths (the paper's by default)"),
              "lead_features": Field("bool", False, doc="add each site's lead features (the paper: none)")}

    def __init__(self, config: dict, normalization: Normalization):
        super().__init__(config, normalization)
        radius = int(config["cutoff"])
        centre, upper, lower = mirror_pairs(radius)
        for name, value in (("centre", centre), ("upper", upper), ("lower", lower)):
            self.register_buffer(name, value, persistent=False)
        self.reach = float(radius)
        size = len(centre) + 2 * len(upper) + (LEAD_FEATURES if config["lead_features"] else 0)
        widths = [size, *config["widths"]]
        layers = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.net = nn.Sequential(*layers, nn.Linear(widths[-1], 1))
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                nn.init.xavier_normal_(layer.weight)
                nn.init.zeros_(layer.bias)

    def descriptor(self, q: Tensor, shape: tuple, graphs: int) -> Tensor:
        """The symmetrised descriptor d of every site: (B·Ly·Lx, 113) for r = 6."""
        table = batched_table(shape, self.config["cutoff"], int(self.config["cutoff"]), graphs, q.device)
        sites = torch.cat([q, q.new_zeros(1)])[table]                       # (N, (2r+1)²)
        plus, minus = sites[:, self.upper], sites[:, self.lower]
        sign = torch.sign((plus - minus).sum(1, keepdim=True))
        return torch.cat([sites[:, self.centre], 0.5 * (plus + minus), sign * 0.5 * (plus - minus)], 1)

    def local_density(self, q, mu_left, mu_right, shape):
        features = self.descriptor(q, shape, mu_left.numel())
        if self.config["lead_features"]:
            features = torch.cat([features, lead_features(shape, mu_left, mu_right).to(q.dtype)], 1)
        return self.net(features)[:, 0]
