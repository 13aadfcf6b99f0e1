"""Per-channel moments of the stored state accumulated run by run, for the normalisation
statistics a dataset computes on its training split (`graphqd.models.normalization`)."""
from __future__ import annotations

import torch
from torch import Tensor


class RunningMoments:
    """Per-channel mean and standard deviation accumulated over batches (float64, Chan's update)."""

    def __init__(self):
        self.count, self.mean, self.m2 = 0, None, None

    def update(self, values: Tensor) -> None:
        values = values.detach().to(torch.float64).reshape(-1, values.size(-1))
        n = values.size(0)
        if n == 0:
            return
        mean = values.mean(0)
        m2 = ((values - mean) ** 2).sum(0)
        if self.mean is None:
            self.count, self.mean, self.m2 = n, mean, m2
            return
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * n / total
        self.m2 = self.m2 + m2 + delta ** 2 * self.count * n / total
        self.count = total

    @property
    def std(self) -> Tensor:
        return (self.m2 / max(self.count, 1)).sqrt()
