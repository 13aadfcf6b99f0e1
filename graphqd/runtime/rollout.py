"""The autoregressive rollout loop shared by training (validation), `graphqd rollout` and
`graphqd evaluate`: u_{h+1} = model(u_h), explicitly, one step at a time."""
from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def rollout(model: nn.Module, batch, state: dict, steps: int, keep=None, callback=None,
            constraint=None) -> list[dict]:
    """u_{h+1} = model(u_h) for h = 0 … steps − 1, explicitly, one step at a time.

    Args:
        batch: the graphs (a PyG batch of the model's samples).
        state: initial state {key: (nodes, ...)}.
        keep: state keys to record (default: all); others are dropped each step.
        callback: called with (h, state_h) for h = 1 … steps (e.g. to write to a file).
        constraint: maps each new state onto a constraint surface before it is used
            (e.g. `EnergyShell.project`); None for the bare model.

    Returns [u_0, u_1, …, u_steps] restricted to `keep` (or [] when a callback consumes them).
    """
    keys = tuple(state) if keep is None else tuple(keep)
    states = [] if callback is not None else [{k: state[k] for k in keys}]
    for h in range(1, steps + 1):
        out = model(batch, state)
        state = {k: out[k] for k in state}
        if constraint is not None:
            state = constraint(state)
        if callback is not None:
            callback(h, state)
        else:
            states.append({k: state[k] for k in keys})
    return states
