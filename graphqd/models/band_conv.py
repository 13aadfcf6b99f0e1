"""An `OffsetConv` on the band graph of periodic chains, evaluated as one dense ``conv2d``.

Band node (i, s) of a chain holds ρ_{i, i+s}, s = −r … r (`graphqd.graphs.band_graph`, row
i major). A kernel offset (a, b) = (Δi, Δj) reaches entry (i + a, i + s + b), i.e. the node
(i + a, s + b − a): in the (i, s) coordinates of the band the square kernel of radius k is
sheared. With u = b − a,

    out(i, s) = Σ_{a=−k..k} Σ_{u=−2k..2k} K(a, u) · x(i + a, s + u),   K(a, u) = W(a, u + a) if |u + a| ≤ k else 0,

a plain 2D convolution over the (L, 2r + 1) band image with a (2k + 1) × (4k + 1) kernel,
circular in i and zero-padded in s (entries outside the band are zero, as in the graph).
It computes what `OffsetConv.gather_forward` computes through the neighbour table, and
replaces the gather of (nodes × taps × channels), whose memory traffic grows faster than
the band on long chains, by the dense convolution of the CPU/GPU libraries.

The identity holds when the graph's edges within radius k are exactly this stencil: every
graph of the batch a periodic chain of one length L > 2r + 2k. `band_slot_table` gives the
neighbour table of that stencil; a graph whose table equals it may use `band_conv`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from graphqd.models.offset_conv import OffsetConv


def band_slot_table(chains: int, L: int, diagonals: int, radius: int, centre: bool = True,
                    device: torch.device | str = "cpu") -> Tensor:
    """The `offset_conv.slot_table` of the periodic band stencil of kernel radius `radius` on
    `chains` chains of L sites with `diagonals` = 2r + 1 band diagonals each.

    Shapes:
        → (chains · L · diagonals, (2 radius + 1)²) long; the zero row is index chains · L · diagonals
    """
    nodes = chains * L * diagonals
    g, i, s = torch.meshgrid(torch.arange(chains, device=device), torch.arange(L, device=device),
                             torch.arange(diagonals, device=device), indexing="ij")
    shifts = torch.arange(-radius, radius + 1, device=device)
    a, b = torch.meshgrid(shifts, shifts, indexing="ij")  # slot order: row-major in (a, b)
    a, b = a.reshape(-1), b.reshape(-1)
    row = (i.reshape(-1, 1) + a) % L
    column = s.reshape(-1, 1) + b - a
    inside = (column >= 0) & (column < diagonals)
    table = (g.reshape(-1, 1) * L + row) * diagonals + column.clamp(0, diagonals - 1)
    table = torch.where(inside, table, torch.full_like(table, nodes))
    if not centre:
        table[:, table.size(1) // 2] = nodes
    return table


def sheared_weight(conv: OffsetConv) -> Tensor:
    """The (2k + 1) × (4k + 1) kernel K(a, u) = W(a, u + a) of a 2D `OffsetConv` of radius
    (k, k) in ``conv2d`` layout (C_out, C_in, 2k + 1, 4k + 1), zero outside the parallelogram."""
    k = conv.kernel_radius[0]
    a = torch.arange(-k, k + 1, device=conv.weight.device).view(-1, 1)
    u = torch.arange(-2 * k, 2 * k + 1, device=conv.weight.device).view(1, -1)
    b = u + a
    inside = b.abs() <= k
    slot = torch.where(inside, (a + k) * (2 * k + 1) + (b + k), torch.zeros_like(b))
    taps = conv.full_weight()  # (slots, C_in, C_out)
    if not conv.root_weight:
        taps = taps * (torch.arange(taps.size(0), device=taps.device) != taps.size(0) // 2).view(-1, 1, 1)
    kernel = taps[slot] * inside[..., None, None]  # (2k+1, 4k+1, C_in, C_out)
    return kernel.permute(3, 2, 0, 1)


def band_conv(conv: OffsetConv, x: Tensor, chains: int, L: int, diagonals: int) -> Tensor:
    """`conv` on band node features x of `chains` periodic chains, as one ``conv2d``.

    Shapes:
        x (chains · L · diagonals, C_in) → (chains · L · diagonals, C_out)
    """
    k = conv.kernel_radius[0]
    image = x.view(chains, L, diagonals, x.size(1)).permute(0, 3, 1, 2)  # (B, C, L, S), channels-last memory
    image = F.pad(image, (0, 0, k, k), mode="circular")
    image = F.pad(image, (2 * k, 2 * k, 0, 0))
    out = F.conv2d(image, sheared_weight(conv), conv.bias)
    return out.permute(0, 2, 3, 1).reshape(x.size(0), conv.out_channels)


# Below this many band nodes the gather is as fast (one thread of a 2-core CPU: the two cross
# near L = 150-200 for one chain with band radius 4, `graphqd bench surrogate`).
MIN_NODES = 1536


def applies(chains: int, L: int, diagonals: int, radius: int) -> bool:
    """Whether the sheared convolution holds on such a band (one band per chain, no
    minimum-image aliasing) and pays (at least `MIN_NODES` nodes)."""
    band_radius = (diagonals - 1) // 2
    return radius >= 1 and diagonals == 2 * band_radius + 1 and L > 2 * band_radius + 2 * radius \
        and chains * L * diagonals >= MIN_NODES
