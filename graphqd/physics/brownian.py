"""Overdamped Langevin (Brownian) dynamics of lattice displacements Q with any force field.

    Q(t + dt) = Q(t) + F(Q(t)) dt / gamma + sqrt(2 k_B T dt / gamma) xi,   xi ~ N(0, 1)

(Euler-Maruyama; Zhang, Fan, Chern, arXiv 2201.02194; Fan, Zhang, Chern, arXiv 2601.07583). The force is a callable
`force_fn(Q) -> F` or `force_fn(Q) -> (F, extras)` where extras is a dict of tensors
(e.g. `negf.force_field(params)` gives {"n": density, "current": I}); the same loop drives
the exact NEGF force now and a machine-learned force field later.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import torch

from graphqd.errors import GraphqdError

__all__ = ["BrownianTrajectory", "simulate"]


class BrownianTrajectory(NamedTuple):
    """Recorded snapshots; R = number of records, batch = Q0.shape[:-2].

    t      (R,)                    time of each record
    Q      (*batch, R, Ly, Lx)     displacements
    force  (*batch, R, Ly, Lx)     force on Q at that time
    extras dict name -> (*batch, R, ...) each extra the force callable returned (e.g. n, current)
    """
    t: torch.Tensor
    Q: torch.Tensor
    force: torch.Tensor
    extras: dict


def _call(force_fn, Q):
    out = force_fn(Q)
    if isinstance(out, tuple):
        F, extras = out
        return F, dict(extras)
    return out, {}


def _noise(shape, generator, dtype, device):
    if isinstance(generator, (list, tuple)):
        if len(shape) < 3 or shape[0] != len(generator):
            raise GraphqdError(f"one generator per run needs Q0 with a leading run dimension of size "
                               f"{len(generator)}, got shape {tuple(shape)}.")
        return torch.stack([torch.randn(shape[1:], generator=g, dtype=dtype, device=device) for g in generator])
    return torch.randn(shape, generator=generator, dtype=dtype, device=device)


def simulate(Q0: torch.Tensor, force_fn: Callable, dt: float, gamma: float, temperature: float,
             n_steps: int, record_every: int = 1, generator: torch.Generator | Sequence[torch.Generator] | None = None,
             t0: float = 0.0, record_initial: bool = True,
             callback: Callable[[int, torch.Tensor], None] | None = None) -> BrownianTrajectory:
    """Integrate n_steps of overdamped Langevin dynamics from Q0 (shape (*batch, Ly, Lx)).

    Args:
        force_fn: Q -> F or Q -> (F, extras dict), batched over the leading dims of Q.
        dt: time step.
        gamma: damping, > 0.
        temperature: bath temperature k_B T >= 0.
        record_every: record every k-th step (times t0 + j k dt).
        generator: a torch.Generator on Q0's device (one stream for the whole batch), or one
            generator per run along Q0's first dim (then a batched run equals the single runs).
        t0: time of Q0.
        record_initial: include Q0 as the first record (False when continuing a trajectory in
            chunks: pass the last Q, the same generator and t0 = last time).
        callback: called as callback(step, Q) after each recorded step (progress, checkpoints).

    Returns:
        BrownianTrajectory with R = n_steps // record_every + record_initial records.
    """
    if dt <= 0 or gamma <= 0:
        raise GraphqdError(f"Brownian dynamics needs dt > 0 and gamma > 0, got dt={dt!r}, gamma={gamma!r}.")
    if temperature < 0:
        raise GraphqdError(f"Brownian temperature must be >= 0, got {temperature!r}.")
    if n_steps < 0 or record_every < 1:
        raise GraphqdError(f"need n_steps >= 0 and record_every >= 1, got n_steps={n_steps!r}, record_every={record_every!r}.")
    Q = Q0.clone()
    sigma = math.sqrt(2.0 * temperature * dt / gamma)
    times, Qs, Fs, extras = [], [], [], {}

    def record(step, Q, F, ex):
        times.append(t0 + step * dt)
        Qs.append(Q.clone())
        Fs.append(F.clone())
        for key, value in ex.items():
            extras.setdefault(key, []).append(torch.as_tensor(value).clone())

    F, ex = _call(force_fn, Q)
    if record_initial:
        record(0, Q, F, ex)
    for step in range(1, n_steps + 1):
        Q = Q + F * (dt / gamma)
        if sigma > 0:
            Q = Q + sigma * _noise(Q.shape, generator, Q.dtype, Q.device)
        F, ex = _call(force_fn, Q)
        if step % record_every == 0:
            record(step, Q, F, ex)
            if callback is not None:
                callback(step, Q)
    nb = Q0.dim() - 2                                   # records go after the batch dims

    def stack(xs):
        return torch.stack(xs, dim=nb) if xs else Q0.new_empty((*Q0.shape[:-2], 0, *Q0.shape[-2:]))
    t = torch.tensor(times, dtype=torch.float64)
    return BrownianTrajectory(t, stack(Qs), stack(Fs), {k: torch.stack(v, dim=nb) for k, v in extras.items()})
