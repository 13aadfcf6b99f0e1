"""Losses of one training batch: one-step or multi-step rollout, with optional input noise
and a derivative term for models that estimate du/dt (PARC, Eq. (11) of arXiv 2412.06631).

    L = (1/H) Σ_h Σ_key mean[((û_h − u_h)/σ_Δ,key)²]
      + w_rate (1/H) Σ_h Σ_key mean[((F(û_{h−1}) − du/dt|_{h−1})/σ_rate,key)²]

û_0 = u_0 + ε, ε ~ N(0, (noise·σ_Δ,key)²); û_h = model(û_{h−1}), or c(model(û_{h−1})) with a constraint c
that projects every step onto invariants of the stored u_0 (`constraint_for`, Holstein's `train.conserve`:
the loss then sees through the projections the rollouts run with); σ_Δ the std of the one-step
increment and σ_rate that of du/dt on the training split; u_h is the dataset's `state_at(batch, h)`,
and both are compared where the dataset's `scored` says (for a state that carries its input history,
the wave emulators', the newest frame only).
With `raw_units` both σ are 1: the plain MSE in the state's own units (the published wave emulator's
loss, Yao et al. 2023). Adam is invariant to the scale of the loss except through its ε and the
gradient clipping, so the units are part of a recipe.
Where the batch carries `node_weight`, the mean over nodes is weighted by it (nodes of a training
patch whose prediction lacks context count 0). The derivative label at h − 1 is
that of the stored (clean) state; a model whose `rate_label` is "midpoint" (PARC with Strang
splitting) is compared with ½(du/dt|_{h−1} + du/dt|_h) instead. The module wraps the model so
that DistributedDataParallel sees the whole rollout as one forward pass.

With `energy_of` and `energy_weight` > 0 (Holstein's `train.energy_weight`) the loss also holds the energy per
site E/L of each chain across every raw model step, before any constraint, to the exact dynamics' (which keeps it):

    + w_E (1/H) Σ_h mean_chains[(E(model(û_{h−1})) − E(û_{h−1}))² / L²]   (hopping units²)

A constraint that restores the energy hides the raw step's error from the state loss, and a small error shared by
every bond (at the free Fermi sea, where the exact step moves nothing) is small in the state's RMSE but not in the
energy it changes (experiment 8c of the Holstein report, result 12).

With `checkpoint_steps`, each model step of the rollout is a `torch.utils.checkpoint` segment:
the backward pass recomputes one step's activations at a time instead of keeping all H, so the
memory of an H-step rollout is that of one step plus the H states (at the cost of one more
forward pass). The loss and its gradient are unchanged.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from graphqd.keys import NODE_WEIGHT, rate_key


def frame_state(state_keys: tuple):
    """`state_at` of samples whose state is frame h of each key: {key: batch[key][:, h]}."""
    return lambda batch, frame: {key: batch[key][:, frame] for key in state_keys}


def squared_error(error: Tensor, weight: Tensor | None) -> Tensor:
    """mean(error²), over nodes weighted by `weight` where it applies to this key's nodes."""
    if weight is None or weight.size(0) != error.size(0):
        return error.pow(2).mean()
    per_node = error.pow(2).reshape(error.size(0), -1).mean(1)
    return (per_node * weight).sum() / weight.sum()


class RolloutObjective(nn.Module):
    def __init__(self, model: nn.Module, state_keys: tuple, rate_weight: float = 1.0, state_at=None,
                 checkpoint_steps: bool = False, raw_units: bool = False, scored=None, constraint_for=None,
                 energy_of=None, energy_weight: float = 0.0):
        super().__init__()
        self.energy_of, self.energy_weight = energy_of, float(energy_weight)
        self.constraint_for = constraint_for
        self.scored = scored or (lambda state: state)
        self.raw_units = bool(raw_units)
        self.checkpoint_steps = bool(checkpoint_steps)
        self.model = model
        self.state_keys = tuple(state_keys)
        self.rate_weight = float(rate_weight)
        self.state_at = state_at or frame_state(self.state_keys)

    def forward(self, batch, length: int, noise: dict | None = None) -> tuple[Tensor, dict]:
        norm = self.model.normalization
        weight = batch[NODE_WEIGHT] if NODE_WEIGHT in batch else None
        state = self.state_at(batch, 0)
        if noise is not None:
            state = {key: value + noise[key] * norm._shaped(key, "step_std", value) for key, value in state.items()}
        has_rates = rate_key(self.state_keys[0]) in batch
        midpoint = getattr(self.model, "rate_label", "start") == "midpoint"
        constraint = self.constraint_for(batch, self.state_at(batch, 0)) if self.constraint_for else None
        terms: dict[str, Tensor] = {}
        for h in range(1, length + 1):
            if self.checkpoint_steps and torch.is_grad_enabled():
                out = checkpoint(self.model, batch, state, use_reentrant=False)
            else:
                out = self.model(batch, state)
            if self.energy_weight > 0:
                after = self.energy_of(batch, {key: out[key] for key in self.state_keys})
                change = after - self.energy_of(batch, state)
                terms["loss_energy"] = terms.get("loss_energy", 0.0) + change.pow(2).mean() / length
            if constraint is not None:
                out = dict(out, **constraint({key: out[key] for key in self.state_keys}))
            predicted, target = self.scored(out), self.scored(self.state_at(batch, h))
            for key in self.state_keys:
                scale = 1.0 if self.raw_units else norm._shaped(key, "step_std", predicted[key])
                error = squared_error((predicted[key] - target[key]) / scale, weight)
                terms[f"loss_{key}"] = terms.get(f"loss_{key}", 0.0) + error / length
                if rate_key(key) in out and has_rates:
                    scale = 1.0 if self.raw_units else norm._shaped(key, "rate_std", out[key])
                    label = batch[rate_key(key)][:, h - 1]
                    if midpoint:
                        label = 0.5 * (label + batch[rate_key(key)][:, h])
                    error = ((out[rate_key(key)] - label) / scale).pow(2).mean()
                    terms[f"loss_rate_{key}"] = terms.get(f"loss_rate_{key}", 0.0) + error / length
            state = {key: out[key] for key in self.state_keys}
        weights = {"loss_energy": self.energy_weight}
        total = sum(value * weights.get(name, self.rate_weight if name.startswith("loss_rate_") else 1.0)
                    for name, value in terms.items())
        return total, terms


def input_noise(state: dict, scale: float, seed: int, step: int, rank: int, world: int) -> dict | None:
    """Standard normal noise (× `scale`) for the input `state` of this process's share of global batch `step`.

    Drawn for the whole global batch from a generator seeded by (seed, step) and sliced by
    rank, so it does not depend on the number of processes or on resuming.
    """
    if scale == 0.0:
        return None
    generator = torch.Generator().manual_seed(seed * 1_000_003 + step)
    noise = {}
    for key, local in state.items():
        full = torch.randn((world * local.size(0), *local.shape[1:]), generator=generator, dtype=local.dtype)
        noise[key] = scale * full[rank * local.size(0):(rank + 1) * local.size(0)].to(local.device)
    return noise
