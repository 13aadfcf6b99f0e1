"""What a force field reads of a biased lattice: the site graph between the leads, each site's
distance to each lead, and the mirror x → Lx − 1 − x that exchanges the leads.

The slab is periodic in y and open in x (DESIGN.md §3.3); sites are numbered y · Lx + x.
A lead α ∈ {left, right} enters a site's features through its distance d_α (d_left = x,
d_right = Lx − 1 − x) and its chemical potential μ_α, as

    u_α(i) = (e^{−d_α}, e^{−d_α/3}, μ_α, μ_α e^{−d_α}, μ_α e^{−d_α/3}, w_α, w_α μ_α),
    w_left = (d_right + 1) / (d_left + d_right + 2),  w_right = 1 − w_left.

The exponentials saturate a few columns from the lead, so a site far from both leads looks the
same on a 20-column lattice as on a 400-column one. The weights w_α are the share of each lead
in the electrons' distribution inside a conductor joining them: in a diffusive wire between two
reservoirs the local distribution is f(x) = w_left f_left + w_right f_right, linear in x between the
contacts (e.g. Nazarov & Blanter, Quantum Transport, ch. 3). They depend on the position
relative to the sample's length, which is what they mean on any length.

Mirror symmetry. Reflecting x → Lx − 1 − x and exchanging μ_left ↔ μ_right maps the steady state
onto itself (the lattice, the hopping and the two wide-band leads are mirror images), so
n(Q, μ_L, μ_R) = M n(M Q, μ_R, μ_L) with M the column mirror. `canonical_mirror` picks, per
graph, the orientation with μ_left ≥ μ_right, which makes any model exactly mirror-equivariant
at the cost of one evaluation (two only where μ_left = μ_right, whose two orientations are averaged).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from graphqd.errors import GraphqdError

LEAD_SCALES = (1.0, 3.0)    # decay lengths (columns) of the lead features
LEAD_FEATURES = 2 * (3 + 2 * len(LEAD_SCALES))


@dataclass(frozen=True)
class ForceFieldSpec:
    """What a force-field sample carries: nothing but the snapshot, plus the loss weight of the
    `lead_columns` columns next to each lead (0: every site counts; the published MLP trains on
    the interior only, lead_columns = 6)."""

    lead_columns: int = 0

    def __post_init__(self):
        if self.lead_columns < 0:
            raise GraphqdError(f"lead_columns must be >= 0, got {self.lead_columns}")

    def as_dict(self) -> dict:
        return asdict(self)


def lead_distances(shape: tuple, device=None) -> Tensor:
    """(d_left, d_right) of every site of an (Ly, Lx) slab, row-major: (Ly·Lx, 2) float."""
    Ly, Lx = shape
    x = torch.arange(Lx, device=device, dtype=torch.float32).repeat(Ly)
    return torch.stack([x, Lx - 1 - x], dim=1)


def lead_features(shape: tuple, mu_left: Tensor, mu_right: Tensor) -> Tensor:
    """u_left ⊕ u_right of every site of B graphs of one (Ly, Lx) slab.

    Shapes:
        mu_left, mu_right (B,) → (B·Ly·Lx, LEAD_FEATURES)
    """
    distance = lead_distances(shape, mu_left.device)                      # (N, 2)
    decay = torch.cat([torch.exp(-distance / s) for s in LEAD_SCALES], 1)  # (N, 2·S): left, right per scale
    decay = decay.reshape(-1, len(LEAD_SCALES), 2).transpose(1, 2)        # (N, 2, S)
    share = (distance.flip(1) + 1) / (distance.sum(1, keepdim=True) + 2)  # (N, 2): w_left, w_right
    mu = torch.stack([mu_left, mu_right], 1).to(decay.dtype)              # (B, 2)
    B, N = mu.size(0), distance.size(0)
    decay = decay.expand(B, N, 2, len(LEAD_SCALES))
    share = share[None, :, :, None].expand(B, N, 2, 1)
    mu = mu[:, None, :, None].expand(B, N, 2, 1)
    features = torch.cat([decay, mu, mu * decay, share, share * mu], -1)  # (B, N, 2, 3 + 2S)
    return features.reshape(B * N, LEAD_FEATURES)


def column_mirror(shape: tuple, graphs: int, device=None) -> Tensor:
    """Node permutation x → Lx − 1 − x in each of `graphs` slabs (an involution): (graphs·Ly·Lx,) long."""
    Ly, Lx = shape
    site = torch.arange(Ly * Lx, device=device)
    mirrored = (site // Lx) * Lx + (Lx - 1 - site % Lx)
    return (mirrored[None] + Ly * Lx * torch.arange(graphs, device=device)[:, None]).reshape(-1)


def canonical_mirror(model, Q: Tensor, mu_left: Tensor, mu_right: Tensor, shape: tuple) -> Tensor:
    """model(Q, μ_L, μ_R) made exactly equivariant under the column mirror with exchanged leads:
    evaluated in the orientation with μ_left ≥ μ_right and mapped back; a graph with
    μ_left = μ_right gets the mean of both orientations.

    Shapes:
        Q (B·Ly·Lx,), mu_left, mu_right (B,) → (B·Ly·Lx,); model takes and returns the same shapes.
    """
    B, N = mu_left.size(0), Q.size(0) // mu_left.size(0)
    mirror = column_mirror(shape, B, Q.device)
    flip = (mu_left < mu_right)[:, None].expand(B, N).reshape(-1)
    identity = torch.arange(Q.size(0), device=Q.device)
    permutation = torch.where(flip, mirror, identity)
    swap = mu_left < mu_right
    upper, lower = torch.where(swap, mu_right, mu_left), torch.where(swap, mu_left, mu_right)
    out = model(Q[permutation], upper, lower)[permutation]
    tie = mu_left == mu_right
    if bool(tie.any()):
        other = model(Q[mirror], mu_left, mu_right)[mirror]
        tied = tie[:, None].expand(B, N).reshape(-1)
        out = torch.where(tied, 0.5 * (out + other), out)
    return out
