"""Normalisation statistics of the evolving state, computed on the training split and
stored with the model (as buffers, so they travel in every checkpoint).

For each state key (e.g. Q, P, rho) and each of its channels:
  mean, std      of the state itself (inputs are fed to networks as (u − mean)/std);
  step_std       of the increment u(t + k·dt) − u(t) over one model step (networks
                 predict the increment in these units: u' = u + step_std · Δ̃);
  rate_std       of the exact derivative du/dt (the scale of PARC's derivative loss).

With them travel the model step dt and, for a model that integrates part of the dynamics exactly, the physical
constants of the training data (Holstein: g, K, m).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

FIELDS = ("mean", "std", "step_std", "rate_std")
FLOOR = 1e-6  # a channel that never moves (e.g. Im ρ_ii) must not divide by zero


class Normalization(nn.Module):
    """Per-key, per-channel statistics as buffers, with the model step `dt` (k × stored spacing).

    Args:
        stats: {key: {"mean": [...], "std": [...], "step_std": [...], "rate_std": [...]}}.
        dt: time of one model step.
        constants: physical constants of the training data, {name: value}, or None.
    """

    def __init__(self, stats: dict, dt: float, constants: dict | None = None):
        super().__init__()
        self.keys = tuple(stats)
        self.dt = float(dt)
        self.constants = None if constants is None else {k: float(v) for k, v in constants.items()}
        for key, entry in stats.items():
            for field in FIELDS:
                value = torch.as_tensor(entry[field], dtype=torch.float32).reshape(-1)
                if field != "mean":
                    value = value.clamp_min(FLOOR)
                self.register_buffer(f"{key}_{field}", value)

    def get(self, key: str, field: str) -> Tensor:
        return getattr(self, f"{key}_{field}")

    def normalize(self, key: str, value: Tensor) -> Tensor:
        """(u − mean)/std, broadcast over the last (channel) axis; a 1-channel key may lack it."""
        return (value - self._shaped(key, "mean", value)) / self._shaped(key, "std", value)

    def increment(self, key: str, value: Tensor, normalized_increment: Tensor) -> Tensor:
        """u + step_std · Δ̃: integrate a normalised increment."""
        return value + normalized_increment * self._shaped(key, "step_std", value)

    def _shaped(self, key: str, field: str, like: Tensor) -> Tensor:
        stat = self.get(key, field).to(like.dtype)
        return stat if like.dim() > 1 and stat.numel() == like.size(-1) else stat.reshape(())

    def to_dict(self) -> dict:
        """Plain-python statistics (for checkpoints and JSON)."""
        out = {"dt": self.dt, "stats": {key: {field: self.get(key, field).tolist() for field in FIELDS}
                                        for key in self.keys}}
        if self.constants is not None:
            out["constants"] = dict(self.constants)
        return out

    @classmethod
    def from_dict(cls, payload: dict) -> "Normalization":
        return cls(payload["stats"], payload["dt"], payload.get("constants"))

    def extra_repr(self) -> str:
        return f"keys={list(self.keys)}, dt={self.dt:g}"
