"""A recurrence along x over whole columns of a slab, resolved in y: a convolutional GRU
(Shi et al., NeurIPS 2015) whose hidden state is a field on the column's Ly sites.

The recursive Green's function method (Lake et al., J. Appl. Phys. 81, 7845 (1997)) carries
the lead-connected Green's function of columns 0 … x, an Ly × Ly matrix, from column to column;
a GRU over the column means (`column_context` of `forcefield_graph`) keeps only its y-average.
Here the carried state keeps one vector per row y, and each step mixes neighbouring rows:

    z, r = σ(W_z ⋆ [u_x, h]), σ(W_r ⋆ [u_x, h]),   ñ = tanh(W_n ⋆ [u_x, r ⊙ h]),
    h_x = (1 − z) ⊙ h + z ⊙ ñ,                      h = h_{x−1}, h_{−1} = 0,

with ⋆ a circular convolution along y whose kernels are even in dy, so the recurrence is exact
under y-translation and y-reflection of the slab. It runs from each lead (x increasing and
decreasing); the cost is linear in the sites.

Shapes:
    u (B, C, Ly, Lx) → (B, 2·H, Ly, Lx): the forward and backward hidden fields at every site
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class EvenCircularConv(nn.Module):
    """Circular convolution along the last axis with a kernel even in the offset: the weights of
    offsets 0 … m are learned and mirrored onto −m … −1 (kernel width 2m + 1).

    Shapes:
        x (B, C_in, Ly) → (B, C_out, Ly)
    """

    def __init__(self, c_in: int, c_out: int, half_width: int):
        super().__init__()
        self.m = half_width
        bound = 1.0 / math.sqrt(c_in * (2 * half_width + 1))
        self.weight_half = nn.Parameter(torch.empty(c_out, c_in, half_width + 1).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(c_out))

    def forward(self, x: Tensor) -> Tensor:
        kernel = torch.cat([self.weight_half.flip(-1)[..., :-1], self.weight_half], -1)
        return F.conv1d(F.pad(x, (self.m, self.m), mode="circular") if self.m else x, kernel, self.bias)


class ColumnConvGRU(nn.Module):
    """The bidirectional convolutional GRU along x of the module docstring."""

    def __init__(self, channels: int, hidden: int, half_width: int):
        super().__init__()
        self.hidden = hidden
        self.cells = nn.ModuleList(nn.ModuleDict({"gates": EvenCircularConv(channels + hidden, 2 * hidden, half_width),
                                                  "candidate": EvenCircularConv(channels + hidden, hidden, half_width)})
                                   for _ in range(2))

    def _sweep(self, cell: nn.ModuleDict, columns: list[Tensor]) -> list[Tensor]:
        h = columns[0].new_zeros(columns[0].shape[0], self.hidden, columns[0].shape[-1])
        states = []
        for u in columns:
            z, r = torch.sigmoid(cell["gates"](torch.cat([u, h], 1))).chunk(2, 1)
            n = torch.tanh(cell["candidate"](torch.cat([u, r * h], 1)))
            h = (1 - z) * h + z * n
            states.append(h)
        return states

    def forward(self, u: Tensor) -> Tensor:
        columns = list(u.unbind(-1))
        forward = self._sweep(self.cells[0], columns)
        backward = self._sweep(self.cells[1], columns[::-1])[::-1]
        return torch.cat([torch.stack(forward, -1), torch.stack(backward, -1)], 1)
