"""Layers shared by the PARC models: one convolution interface for dense CNNs and lattice
graphs, channel-wise dropout for both, the PARC ResNet block and the PARC network.

Every layer here is called as ``layer(x, graph)``:

- dense layout: ``x`` (B, C, L) for a chain or (B, C, L, L) for a density matrix,
  ``graph`` is ignored (``None``) and convolutions are ``torch.nn.Conv1d``/``Conv2d`` with
  circular (or zero) padding;
- graph layout: ``x`` (N, C), one row per node, and ``graph`` a :class:`LatticeGraph`
  (edges, integer offsets, graph of each node); convolutions are
  :class:`~graphqd.models.offset_conv.OffsetConv` restricted to the offsets within their
  kernel radius.

The blocks (:class:`ResidualBlock`, :class:`ParcNet`) only call ``conv(x, graph)``,
activations, additions and ``dropout(x, graph)``, so one network definition serves both
layouts, and a graph network with the weights of a dense one computes the same function
wherever the graph holds every offset of the kernels (a periodic lattice; for ρ a band
covering every entry) — tested in tests/models/test_parc_graph.py.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from graphqd import keys as K
from graphqd.errors import GraphqdError
from graphqd.models import band_conv
from graphqd.models.dropout import ChannelDropout
from graphqd.models.offset_conv import OffsetConv

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}


def activation(name: str) -> nn.Module:
    """An activation module by config name (one of :data:`ACTIVATIONS`)."""
    if name not in ACTIVATIONS:
        raise GraphqdError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}.")
    return ACTIVATIONS[name]()


class LatticeGraph:
    """Edges of a lattice graph with the subsets of edges within each kernel radius and their
    neighbour tables, memoised per radius: stacked layers of equal radius share them, and a
    model that keeps the graph for a batch (graph PARC during a rollout) builds them once.

    Args:
        edge_index: (2, E) long, source → target.
        offset: (E, D) or (E,) integer offsets, source − target.
        graph_of_node: (N,) long, the graph of each node in a batch (channel dropout), or None.
        band_shape: (chains, L, diagonals) when the nodes may be the bands of equal periodic
            chains (`graphqd.models.band_conv`); checked against the edges before use.
    """

    def __init__(self, edge_index: Tensor, offset: Tensor, graph_of_node: Tensor | None,
                 band_shape: tuple[int, int, int] | None = None):
        self.edge_index = edge_index
        self.offset = offset if offset.dim() == 2 else offset.unsqueeze(1)  # (E,) → (E, 1), also for E = 0
        self.graph_of_node = graph_of_node
        self.band_shape = band_shape
        self._within: dict[int, tuple[Tensor, Tensor]] = {}
        self._tables: dict[int, Tensor] = {}
        self._sheared: dict[int, bool] = {}

    def within(self, radius: int) -> tuple[Tensor, Tensor]:
        """(edge_index, offset) of the edges with |offset| ≤ radius along every axis."""
        if radius not in self._within:
            keep = (self.offset.abs() <= radius).all(1)
            self._within[radius] = (self.edge_index[:, keep], self.offset[keep])
        return self._within[radius]

    def slot_table(self, radius: int, conv: OffsetConv, num_nodes: int) -> Tensor:
        """`conv.slot_table` of the edges within `radius` (memoised: layers of one radius share it)."""
        if radius not in self._tables:
            self._tables[radius] = conv.slot_table(*self.within(radius), num_nodes)
        return self._tables[radius]

    def sheared(self, radius: int, conv: OffsetConv, num_nodes: int) -> bool:
        """Whether `conv` may run as the dense sheared convolution of `band_conv`: the graph
        is the band of equal periodic chains and its edges within `radius` are exactly the
        band stencil (memoised per radius)."""
        if self.band_shape is None or conv.dim != 2 or not band_conv.applies(*self.band_shape, radius):
            return False
        if radius not in self._sheared:
            regular = band_conv.band_slot_table(*self.band_shape, radius, conv.root_weight, self.edge_index.device)
            self._sheared[radius] = torch.equal(self.slot_table(radius, conv, num_nodes), regular)
        return self._sheared[radius]


class DenseConv(nn.Module):
    """``Conv{dim}d`` of odd kernel 2r + 1 with 'same' circular (or zero) padding.

    Shapes:
        x (B, C_in, L) for dim 1, (B, C_in, L, L) for dim 2 → (B, C_out, ...); needs L ≥ r
        with circular padding.
    """

    def __init__(self, in_channels: int, out_channels: int, radius: int, dim: int, bias: bool = True,
                 padding_mode: str = "circular"):
        super().__init__()
        conv = {1: nn.Conv1d, 2: nn.Conv2d}[dim]
        self.radius = int(radius)
        self.conv = conv(in_channels, out_channels, 2 * radius + 1, padding=radius, bias=bias,
                         padding_mode=padding_mode if radius else "zeros")

    def forward(self, x: Tensor, graph=None) -> Tensor:
        return self.conv(x)


class GraphConv(nn.Module):
    """An :class:`OffsetConv` of kernel radius r applied to the edges of a :class:`LatticeGraph`
    within r, gathered through the graph's neighbour table (one table per radius, shared by the
    layers), or on the band of equal periodic chains as one dense sheared
    ``conv2d`` (`graphqd.models.band_conv`, the same function). Radius 0 is a per-node linear
    map (the 1×1 convolution) without message passing.

    Shapes:
        x (N, C_in), graph edges (2, E), offsets (E, dim) → (N, C_out)
    """

    def __init__(self, in_channels: int, out_channels: int, radius: int, dim: int, bias: bool = True,
                 tied_flips=None):
        super().__init__()
        self.radius = int(radius)
        self.conv = OffsetConv(in_channels, out_channels, (self.radius,) * dim, bias=bias,
                               tied_flips=tied_flips if self.radius else None, check_offsets=False)

    def forward(self, x: Tensor, graph: LatticeGraph) -> Tensor:
        if self.radius == 0:
            out = x @ self.conv.weight[0]
            return out + self.conv.bias if self.conv.bias is not None else out
        if graph.sheared(self.radius, self.conv, x.size(0)):
            return band_conv.band_conv(self.conv, x, *graph.band_shape)
        return self.conv.gather_forward(x, graph.slot_table(self.radius, self.conv, x.size(0)))


class DenseChannelDropout(nn.Module):
    """Channel-wise dropout of dense fields: ``Dropout1d`` (chains) or ``Dropout2d`` (matrices).

    Shapes: x (B, C, L) or (B, C, L, L) → same
    """

    def __init__(self, p: float, dim: int):
        super().__init__()
        self.dropout = {1: nn.Dropout1d, 2: nn.Dropout2d}[dim](p)

    def forward(self, x: Tensor, graph=None) -> Tensor:
        return self.dropout(x)


class GraphChannelDropout(nn.Module):
    """Channel-wise dropout on a graph: a channel is zeroed on every node of one graph at once
    (the graph analogue of ``Dropout1d``/``Dropout2d``).

    Shapes: x (N, C), graph.graph_of_node (N,) → (N, C)
    """

    def __init__(self, p: float):
        super().__init__()
        self.dropout = ChannelDropout(p)

    def forward(self, x: Tensor, graph: LatticeGraph) -> Tensor:
        return self.dropout(x, graph.graph_of_node)


ConvFactory = Callable[[int, int, int, bool], nn.Module]  # (in, out, radius, bias) → layer(x, graph)
DropoutFactory = Callable[[float], nn.Module]


def dense_factories(dim: int, padding_mode: str = "circular") -> tuple[ConvFactory, DropoutFactory]:
    """Convolution and dropout factories of the dense layout (chains dim 1, matrices dim 2)."""
    return (lambda i, o, r, bias=True: DenseConv(i, o, r, dim, bias, padding_mode),
            lambda p: DenseChannelDropout(p, dim))


def graph_factories(dim: int, tied_flips=None) -> tuple[ConvFactory, DropoutFactory]:
    """Convolution and dropout factories of the graph layout (site graph dim 1, band graph dim 2)."""
    return (lambda i, o, r, bias=True: GraphConv(i, o, r, dim, bias, tied_flips),
            lambda p: GraphChannelDropout(p))


class ResidualBlock(nn.Module):
    r"""The PARC ResNet block (Nguyen et al., Science Advances 2023; as used by Ning, Yang, Chern,
    arXiv 2412.06631): three convolutions of kernel radius r with a skip over the last two,

    .. math:: h = σ(C_0 x),\quad y = σ\big(h + C_2\,σ(C_1 h)\big).

    Shapes:
        dense x (B, C_in, *spatial) → (B, C_out, *spatial); graph x (N, C_in) → (N, C_out)
    """

    def __init__(self, make_conv: ConvFactory, in_channels: int, out_channels: int, radius: int, act: str):
        super().__init__()
        self.entry = make_conv(in_channels, out_channels, radius, True)
        self.inner = make_conv(out_channels, out_channels, radius, True)
        self.exit = make_conv(out_channels, out_channels, radius, True)
        self.act = activation(act)

    def forward(self, x: Tensor, graph=None) -> Tensor:
        h = self.act(self.entry(x, graph))
        return self.act(h + self.exit(self.act(self.inner(h, graph)), graph))


class ParcNet(nn.Module):
    """The convolutional network of every PARC differentiator and integrator (arXiv 2412.06631
    and its published code): ``depth`` ResNet blocks (w/2, then w channels), a wide
    convolution (the paper's 7×7, radius 3), two 1×1 convolutions (w/2, w/4 channels), channel-wise dropout and a
    final convolution (the paper's 3×3) to the output channels, linear and without bias.

    The receptive field is ``depth · 3 · kernel_radius + wide_kernel_radius + kernel_radius``
    lattice spacings (10 for the paper's network).

    Args:
        make_conv, make_dropout: layer factories of the layout (:func:`dense_factories`,
            :func:`graph_factories`).
        in_channels, out_channels: per site (or per density-matrix entry).
        width: channels of the widest layer (the paper: 128).
        depth: ResNet blocks (the paper: 2).
        kernel_radius: radius of the block and final convolutions (1 → 3×3).
        wide_kernel_radius: radius of the wide convolution (3 → 7×7).
        dropout: channel-wise dropout probability (before the final convolution).
        extra_dropout: also drop channels after the ResNet blocks (the paper's integrators).
        act: activation name (the paper: relu).
        readout_scale: the final convolution's initial weights are multiplied by this
            (small first increments: the rollout starts near u' = u).

    Shapes:
        dense x (B, C_in, *spatial) → (B, C_out, *spatial); graph x (N, C_in) → (N, C_out)
    """

    def __init__(self, make_conv: ConvFactory, make_dropout: DropoutFactory, in_channels: int, out_channels: int,
                 width: int = 128, depth: int = 2, kernel_radius: int = 1, wide_kernel_radius: int = 3,
                 dropout: float = 0.0, extra_dropout: bool = False, act: str = "relu", readout_scale: float = 1.0):
        super().__init__()
        if width < 4 or depth < 1:
            raise GraphqdError(f"a PARC network needs width >= 4 and depth >= 1, got {width} and {depth}.")
        widths = [width // 2] + [width] * (depth - 1) if depth > 1 else [width]
        sizes = [in_channels] + widths
        self.blocks = nn.ModuleList(ResidualBlock(make_conv, a, b, kernel_radius, act)
                                    for a, b in zip(sizes[:-1], sizes[1:]))
        self.block_dropout = make_dropout(dropout) if extra_dropout else None
        self.wide = make_conv(widths[-1], width, wide_kernel_radius, True)
        self.narrow = make_conv(width, width // 2, 0, True)
        self.narrower = make_conv(width // 2, width // 4, 0, True)
        self.dropout = make_dropout(dropout)
        self.readout = make_conv(width // 4, out_channels, kernel_radius, False)
        self.act = activation(act)
        with torch.no_grad():
            for parameter in self.readout.parameters():
                parameter.mul_(readout_scale)

    def forward(self, x: Tensor, graph=None) -> Tensor:
        for block in self.blocks:
            x = block(x, graph)
        if self.block_dropout is not None:
            x = self.block_dropout(x, graph)
        x = self.act(self.wide(x, graph))
        x = self.act(self.narrow(x, graph))
        x = self.act(self.narrower(x, graph))
        return self.readout(self.dropout(x, graph), graph)


def convolutions(module: nn.Module) -> list[nn.Module]:
    """The convolutions (``DenseConv``/``GraphConv``) of a module in definition order; two
    networks built by :class:`ParcNet` with equal arguments list matching layers."""
    return [m for m in module.modules() if isinstance(m, (DenseConv, GraphConv))]


@torch.no_grad()
def copy_dense_weights(graph_module: nn.Module, dense_module: nn.Module) -> None:
    """Load the weights of every dense convolution into the matching graph convolution
    (the two modules must be built alike). Used to check graph ≡ circular CNN."""
    graph_convs, dense_convs = convolutions(graph_module), convolutions(dense_module)
    if len(graph_convs) != len(dense_convs):
        raise GraphqdError(f"cannot copy weights: {len(dense_convs)} dense convolutions, "
                           f"{len(graph_convs)} graph ones.")
    for target, source in zip(graph_convs, dense_convs):
        if not isinstance(target, GraphConv) or not isinstance(source, DenseConv):
            raise GraphqdError("copy_dense_weights takes a graph module and a dense module, in that order.")
        target.conv.load_conv_weights(source.conv)


class DenseLayout:
    """Maps a PyG batch of equal-length chains between node rows and dense tensors.

    Sites of graph g are rows g·L … (g+1)·L − 1 (PyG concatenates graphs in order); band
    node n holds entry (i, j) = ``band_sites[n]`` minus the graph's first site. The dense
    density matrix needs every entry (a band of radius ≥ L // 2); entries of a partial band
    would be zero-filled, which a CNN cannot tell from data, so that is refused.

    Shapes:
        sites (N, C) ↔ (B, C, L); band (B·L², C) ↔ (B, C, L, L)
    """

    def __init__(self, batch, num_sites: int, device: torch.device):
        graph_of_site = batch[K.GRAPH_OF_SITE] if K.GRAPH_OF_SITE in batch and batch[K.GRAPH_OF_SITE] is not None \
            else None
        self.graphs = int(getattr(batch, "num_graphs", 1)) if graph_of_site is not None else 1
        self.L = num_sites // self.graphs
        if self.L * self.graphs != num_sites:
            raise GraphqdError(f"a CNN needs chains of equal length in a batch; got {num_sites} sites in "
                               f"{self.graphs} chains.")
        sites = batch[K.BAND_SITES]
        if sites.size(0) != self.graphs * self.L ** 2:
            raise GraphqdError(f"a CNN over ρ needs the whole {self.L}×{self.L} density matrix; the batch carries "
                               f"{sites.size(0) // max(self.graphs, 1)} entries per chain (band radius too small).")
        first = (sites[:, 0] // self.L) * self.L
        self.flat = (first * self.L + (sites[:, 0] - first) * self.L + (sites[:, 1] - first)).to(device)

    def sites_to_dense(self, x: Tensor) -> Tensor:
        return x.reshape(self.graphs, self.L, -1).transpose(1, 2)

    def dense_to_sites(self, y: Tensor) -> Tensor:
        return y.transpose(1, 2).reshape(self.graphs * self.L, -1)

    def band_to_dense(self, x: Tensor) -> Tensor:
        dense = x.new_zeros(self.graphs * self.L ** 2, x.size(-1)).index_copy(0, self.flat, x)
        return dense.reshape(self.graphs, self.L, self.L, -1).permute(0, 3, 1, 2)

    def dense_to_band(self, y: Tensor) -> Tensor:
        return y.permute(0, 2, 3, 1).reshape(self.graphs * self.L ** 2, -1)[self.flat]
