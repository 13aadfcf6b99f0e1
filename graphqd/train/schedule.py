"""Learning-rate schedule: linear warm-up, then cosine, linear or no decay."""
from __future__ import annotations

import math

import torch


class WarmupDecay:
    """Factor of the base learning rate for optimiser step s + 1 after s completed steps.

        f = (s + 1)/W                                    for s + 1 ≤ W (warm-up)
        f = r + (1 − r)·½(1 + cos πp)  or  r + (1 − r)(1 − p)   after it, p = (s + 1 − W)/(S − W)

    A plain object (not a lambda) so that LambdaLR checkpoints and restores it.
    """

    def __init__(self, warmup_steps: int, total_steps: int, decay: str = "cosine", min_ratio: float = 0.0):
        self.warmup_steps, self.total_steps, self.decay, self.min_ratio = warmup_steps, total_steps, decay, min_ratio

    def __call__(self, completed: int) -> float:
        s = completed + 1
        if self.warmup_steps and s <= self.warmup_steps:
            return s / self.warmup_steps
        if self.decay == "constant":
            return 1.0
        progress = min(1.0, max(0.0, (s - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)))
        shape = 0.5 * (1.0 + math.cos(math.pi * progress)) if self.decay == "cosine" else 1.0 - progress
        return self.min_ratio + (1.0 - self.min_ratio) * shape


def build_scheduler(optimizer: torch.optim.Optimizer, config: dict) -> torch.optim.lr_scheduler.LambdaLR:
    schedule = config["schedule"]
    factor = WarmupDecay(schedule["warmup_steps"], config["train"]["steps"], schedule["decay"],
                         schedule["min_lr_ratio"])
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
