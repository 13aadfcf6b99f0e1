"""Offset-conditioned message passing: a convolution on a lattice graph (DESIGN §4).

One weight matrix per discrete offset, so on a periodic lattice whose graph holds every
offset of the kernel the layer *is* a circular-padded convolution: ``Conv1d`` on the site
graph of a chain, ``Conv2d`` over the L×L density matrix on a band graph covering every
entry. On an open lattice it is the zero-padded convolution. On a band of width
2·r_band + 1 it is the 2D convolution of the band-masked matrix, evaluated on the band, at
cost O(L · r_band) instead of O(L²).

Complex convention for ρ: node features carry ``(Re ρ_ij, Im ρ_ij)`` as two real channels
and the weights are real, so the layer is real-linear in ρ (it can represent, but is not
restricted to, complex-linear maps). Hermiticity ρ_ji = conj(ρ_ij) maps node (i, j) to
node (j, i) = ``graphqd.graphs.hermitian_partner`` with the Im channel negated.
"""
from __future__ import annotations

import itertools
import math
from typing import Optional, Sequence, Union

import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from graphqd.errors import GraphqdError

Flips = Union[None, str, Sequence[Sequence[int]]]


class OffsetConv(MessagePassing):
    r"""Offset-conditioned convolution on a lattice graph.

    .. math::
        \mathbf{x}'_i = \mathbf{W}_{0}\,\mathbf{x}_i
        + \sum_{j \to i} \mathbf{W}_{o(j \to i)}\,\mathbf{x}_j + \mathbf{b},

    with :math:`o(j \to i) = r_j - r_i` the integer edge offset (source minus target, as
    built by :mod:`graphqd.graphs`) and one weight matrix per offset inside the kernel.
    Offsets map to weight slots by row-major index arithmetic, slot
    ``Σ_a (o_a + r_a) · stride_a``, the layout of ``Conv{1,2}d.weight[:, :, k_0, k_1]``.

    Args:
        in_channels: input features per node.
        out_channels: output features per node.
        kernel_radius: largest |offset| per axis, an int for every axis or one per axis;
            its length sets the offset dimension (an int means 1D).
        bias: add a learnable bias.
        root_weight: apply the zero-offset weight to the node itself. Lattice graphs have
            no self-loops, so this is the centre tap of the convolution; set False for a
            graph that carries zero-offset edges.
        tied_flips: weight tying that makes the layer equivariant by construction. A list
            of generators, each a tuple of axes whose offset components flip sign together;
            ``W[g·o] = W[o]`` for every element g of the group they generate.
            ``"inversion"`` flips all axes at once: chain inversion i → −i on a site graph
            ``[(0,)]``, and ρ_ij → ρ_−i,−j on a band graph ``[(0, 1)]``. ``[(0,)]`` on a
            square lattice is the reflection y → −y.
        check_offsets: raise if an offset lies outside the kernel (one device sync per call).

    Shapes:
        - **input:** node features :math:`(N, F_{in})`, edge indices :math:`(2, E)`,
          offsets :math:`(E, D)` or :math:`(E,)` for D = 1 (integer)
        - **output:** node features :math:`(N, F_{out})`
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_radius: Union[int, Sequence[int]] = 1,
                 bias: bool = True, root_weight: bool = True, tied_flips: Flips = None,
                 check_offsets: bool = True):
        super().__init__(aggr="sum", node_dim=0)
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        radius = (kernel_radius,) if isinstance(kernel_radius, int) else tuple(kernel_radius)
        if not radius or any(int(r) < 0 for r in radius):
            raise GraphqdError(f"kernel_radius must be non-negative per axis, got {kernel_radius}.")
        self.kernel_radius = tuple(int(r) for r in radius)
        self.kernel_size = tuple(2 * r + 1 for r in self.kernel_radius)
        self.num_slots = math.prod(self.kernel_size)
        self.centre_slot = self.num_slots // 2
        self.root_weight = bool(root_weight)
        self.check_offsets = bool(check_offsets)
        if tied_flips == "inversion":
            tied_flips = [tuple(range(len(self.kernel_radius)))]
        self.tied_flips = None if not tied_flips else tuple(tuple(int(a) for a in g) for g in tied_flips)

        slot_map = _tied_slot_map(self.kernel_radius, self.tied_flips)
        self.register_buffer("slot_map", slot_map, persistent=False)  # (num_slots,) | free weight of each slot
        strides = [math.prod(self.kernel_size[a + 1:]) for a in range(len(self.kernel_size))]
        self.register_buffer("strides", torch.tensor(strides), persistent=False)
        self.register_buffer("radius_tensor", torch.tensor(self.kernel_radius), persistent=False)
        self.weight = nn.Parameter(torch.empty(int(slot_map.max()) + 1, self.in_channels, self.out_channels))
        self.bias = nn.Parameter(torch.empty(self.out_channels)) if bias else None
        self.reset_parameters()

    @property
    def dim(self) -> int:
        return len(self.kernel_radius)

    def reset_parameters(self) -> None:
        # the default init of torch.nn.Conv: U(−1/√fan_in, 1/√fan_in)
        bound = 1.0 / math.sqrt(self.in_channels * self.num_slots) if self.in_channels else 0.0
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def full_weight(self) -> Tensor:
        """Weight of every slot, tied copies expanded: (num_slots, F_in, F_out)."""
        return self.weight[self.slot_map]

    def offset_to_slot(self, offset: Tensor) -> Tensor:
        """Weight slot of each integer offset: (E, D) or (E,) → (E,)."""
        offset = offset.reshape(offset.size(0), -1) if offset.dim() != 2 else offset
        if offset.size(1) != self.dim:
            raise GraphqdError(f"{self.__class__.__name__} expects {self.dim}-dimensional offsets, "
                               f"got {offset.size(1)}.")
        offset = offset.long()
        if self.check_offsets and offset.numel() and bool((offset.abs() > self.radius_tensor).any()):
            raise GraphqdError(f"an edge offset lies outside the kernel radius {self.kernel_radius}; "
                               f"build the graph with a radius no larger than the layer's.")
        return ((offset + self.radius_tensor) * self.strides).sum(1)

    def forward(self, x: Tensor, edge_index: Tensor, offset: Tensor) -> Tensor:
        num_nodes, num_slots = x.size(0), self.num_slots
        slot = self.offset_to_slot(offset)
        source, target = edge_index[0], edge_index[1]
        weight = self.full_weight()  # (S, F_in, F_out)
        if self.in_channels <= self.out_channels:
            # aggregate, then transform: gather x_j into the (target, slot) columns (im2col)
            columns = self.propagate(torch.stack([source, target * num_slots + slot]), x=(x, None),
                                     size=(num_nodes, num_nodes * num_slots))
            out = columns.reshape(num_nodes, -1) @ weight.reshape(-1, self.out_channels)
            if self.root_weight:
                out = out + x @ weight[self.centre_slot]
        else:
            # transform, then gather: every node's image under every slot's weight
            transformed = (x @ weight.permute(1, 0, 2).reshape(self.in_channels, -1))
            transformed = transformed.reshape(num_nodes * num_slots, self.out_channels)
            out = self.propagate(torch.stack([source * num_slots + slot, target]), x=(transformed, None),
                                 size=(num_nodes * num_slots, num_nodes))
            if self.root_weight:
                out = out + transformed.view(num_nodes, num_slots, -1)[:, self.centre_slot]
        if self.bias is not None:
            out = out + self.bias
        return out

    def message(self, x_j: Tensor) -> Tensor:
        return x_j

    # --- the same layer by gathering through a neighbour table --------------------------
    def slot_table(self, edge_index: Tensor, offset: Tensor, num_nodes: int) -> Tensor:
        """`slot_table` of this layer's kernel (build it once per graph, reuse it with `gather_forward`)."""
        return slot_table(edge_index, offset, num_nodes, self.kernel_radius, self.root_weight)

    def gather_forward(self, x: Tensor, table: Tensor) -> Tensor:
        """`forward` through a `slot_table`: one gather and one matrix product (no scatter)."""
        padded = torch.cat([x, x.new_zeros(1, x.size(1))])
        out = padded[table].reshape(table.size(0), -1) @ self.full_weight().reshape(-1, self.out_channels)
        return out + self.bias if self.bias is not None else out

    # --- weights shared with torch.nn.Conv1d / Conv2d -----------------------------------
    @classmethod
    def from_conv(cls, conv: nn.Module, tied_flips: Flips = None) -> "OffsetConv":
        """A layer with the weights of a stride-1, odd-kernel ``Conv1d``/``Conv2d`` (the layer
        equals it with circular padding on a periodic lattice graph)."""
        radius = _conv_radius(conv)
        layer = cls(conv.in_channels, conv.out_channels, radius, bias=conv.bias is not None,
                    tied_flips=tied_flips)
        layer = layer.to(device=conv.weight.device, dtype=conv.weight.dtype)
        layer.load_conv_weights(conv)
        return layer

    @torch.no_grad()
    def load_conv_weights(self, conv: nn.Module) -> None:
        """Copy a convolution's weights (and bias). With tied weights, each tied group gets
        the mean of its taps (the projection onto the equivariant weights)."""
        if _conv_radius(conv) != self.kernel_radius or conv.in_channels != self.in_channels \
                or conv.out_channels != self.out_channels:
            raise GraphqdError(f"cannot load {conv} into {self}: channels or kernel differ.")
        taps = conv.weight.permute(*range(2, 2 + self.dim), 1, 0).reshape(self.num_slots, self.in_channels,
                                                                          self.out_channels)
        counts = torch.bincount(self.slot_map, minlength=self.weight.size(0)).to(taps.dtype)
        summed = torch.zeros_like(self.weight).index_add_(0, self.slot_map, taps.to(self.weight.dtype))
        self.weight.copy_(summed / counts.view(-1, 1, 1))
        if self.bias is not None:
            self.bias.copy_(conv.bias if conv.bias is not None else torch.zeros_like(self.bias))

    def conv_weight(self) -> Tensor:
        """The weights in ``Conv{D}d.weight`` layout: (F_out, F_in, *kernel_size)."""
        taps = self.full_weight().reshape(*self.kernel_size, self.in_channels, self.out_channels)
        return taps.permute(self.dim + 1, self.dim, *range(self.dim))

    def __repr__(self) -> str:
        extra = f", tied_flips={list(self.tied_flips)}" if self.tied_flips else ""
        extra += "" if self.root_weight else ", root_weight=False"
        return (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
                f"kernel_radius={self.kernel_radius}{extra})")


def slot_table(edge_index: Tensor, offset: Tensor, num_nodes: int, kernel_radius: Sequence[int],
               centre: bool = True) -> Tensor:
    """The source node of every (target, slot) of a kernel of `kernel_radius` (slots row-major, as in
    `OffsetConv`): the node itself in the centre slot when `centre`, and `num_nodes` (a zero row)
    where the graph has no such edge.

    Shapes:
        edge_index (2, E), offset (E, D) → (num_nodes, Π_a (2 r_a + 1)) long
    """
    size = [2 * int(r) + 1 for r in kernel_radius]
    device = edge_index.device
    radius = torch.tensor(list(kernel_radius), device=device)
    strides = torch.tensor([math.prod(size[a + 1:]) for a in range(len(size))], device=device)
    slots = ((offset.reshape(offset.size(0), -1).long() + radius) * strides).sum(1)
    table = torch.full((num_nodes, math.prod(size)), num_nodes, dtype=torch.long, device=device)
    table[edge_index[1], slots] = edge_index[0]
    if centre:
        table[:, math.prod(size) // 2] = torch.arange(num_nodes, device=device)
    return table


def _conv_radius(conv: nn.Module) -> tuple:
    if not isinstance(conv, (nn.Conv1d, nn.Conv2d)):
        raise GraphqdError(f"expected torch.nn.Conv1d or Conv2d, got {type(conv).__name__}.")
    if any(k % 2 == 0 for k in conv.kernel_size) or any(s != 1 for s in conv.stride) \
            or any(d != 1 for d in conv.dilation) or conv.groups != 1:
        raise GraphqdError("only odd kernels with stride 1, dilation 1 and groups 1 match an OffsetConv.")
    return tuple(k // 2 for k in conv.kernel_size)


def _tied_slot_map(radius: tuple, flips: Optional[tuple]) -> Tensor:
    """Free-weight number of every slot: slots related by the flip group share one weight."""
    offsets = torch.cartesian_prod(*[torch.arange(-r, r + 1) for r in radius]).reshape(-1, len(radius))
    if not flips:
        return torch.arange(offsets.size(0))
    for generator in flips:
        if any(a < 0 or a >= len(radius) for a in generator):
            raise GraphqdError(f"tied_flips axis out of range for {len(radius)}-dimensional offsets: {generator}.")
    sizes = torch.tensor([2 * r + 1 for r in radius])
    strides = torch.tensor([math.prod(sizes[a + 1:].tolist()) for a in range(len(radius))])
    radius_t = torch.tensor(radius)
    canonical = torch.arange(offsets.size(0))
    for subset in itertools.product((False, True), repeat=len(flips)):
        sign = torch.ones(len(radius), dtype=torch.long)
        for use, generator in zip(subset, flips):
            if use:
                sign[list(generator)] *= -1
        image = ((offsets * sign + radius_t) * strides).sum(1)
        canonical = torch.minimum(canonical, image)
    return torch.unique(canonical, return_inverse=True)[1]
