"""Gradient surgery for an auxiliary loss: two-task PCGrad (Yu et al., arXiv 2001.06782) with a norm cap.

An auxiliary loss on long-time statistics (the climate loss, graphqd.train.climate) can outgrow the data loss's
gradient by an order of magnitude (experiment 8c, result 11); the optimiser then follows it almost alone and
trades the one-step accuracy away. Given the data gradient g_d and the auxiliary gradient g_a (over all parameters),

    g_a ← g_a − min(0, g_a·g_d) g_d / ‖g_d‖²       (drop the part that raises the data loss to first order)
    g_a ← g_a · min(1, r ‖g_d‖ / ‖g_a‖)            (at most r times the data gradient)
    g = g_d + g_a,

so a step along g lowers the data loss to first order (g·g_d ≥ ‖g_d‖² ≥ 0) whatever the auxiliary loss asks.
"""
from __future__ import annotations

import torch
from torch import Tensor


def project_auxiliary(data: list[Tensor], auxiliary: list[Tensor], ratio: float) -> list[Tensor]:
    """g_d + g_a after the projection and the cap above, tensor by tensor (`data`, `auxiliary` aligned)."""
    dot = sum((a * d).sum() for a, d in zip(auxiliary, data))
    data_norm2 = sum(d.pow(2).sum() for d in data)
    along = torch.clamp(dot, max=0.0) / data_norm2.clamp(min=torch.finfo(data_norm2.dtype).tiny)
    projected = [a - along * d for a, d in zip(auxiliary, data)]
    norm = sum(a.pow(2).sum() for a in projected).sqrt()
    scale = torch.clamp(ratio * data_norm2.sqrt() / norm.clamp(min=torch.finfo(norm.dtype).tiny), max=1.0)
    return [d + scale * a for a, d in zip(projected, data)]
