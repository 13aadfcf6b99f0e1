"""Climate loss (Holstein): the lattice energy of the model's own long rollouts against the exact ensemble's.

A one-step or few-step loss cannot see a bias that acts over thousands of steps: a learned ρ step whose
occupations do a little too much work on the lattice leaves it too hot on the model's attractor, while every
short rollout from an exact state is accurate. The climate loss follows a pool of B chains of the first
training store under the model itself, for as long as the store's trajectories last, and compares the pool's
mean lattice energies per site with those of the exact training ensemble at the same time t:

    L_climate = Σ_e (ō_e / (σ_e / √B))²,   o_e = (1/(B W)) Σ_j Σ_{h=1..W} (e_j(t + h) − ē(t + h)),
    e ∈ {P²/(2m), K Q²/2} per site (Holstein lattice energies, DESIGN.md §3.1),

ē(t) the exact ensemble mean over the store's training runs and σ_e the std of one run's e around it (so
the loss is 1 at one standard error of the pool mean), at times t after a burn-in: the nucleation of the
quenched state is chaotic, and its timing differs from run to run by more than any climate bias.

Every optimiser step advances each chain by `advance` model steps without gradients and then W = `window`
steps with them (truncated backpropagation: the gradient is that of the work done on the lattice within the
window, the only part of a long-time statistic whose gradient is not chaotic). The ensemble's lattice
still breathes coherently after the burn-in (all runs start from nearly the same state), so one window's
offset o is noisy: the loss takes its value from the running mean ō over the last optimiser steps
(`MEMORY`) and its gradient from the window, 2 ō · ∂o/∂θ / σ². The chains start together at t = 0 of B
training runs and, when the stored runs end, start again from t = 0 of the next B (the same ones when B is
all of them, and then an exact integrator in the model's place gives L_climate = 0). The rollouts are
projected with `train.conserve`, as the training rollouts are. The pool's state is part of the checkpoint,
so a resumed run goes on with the same chains.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from graphqd import keys as K
from graphqd.data.store import open_store
from graphqd.errors import ConfigError
from graphqd.graphs.holstein import dense_to_band, graph_batch

MEMORY = 0.9  # the running offset ō forgets with this factor per optimiser step (about 10 steps' memory)


def lattice_energies(Q: Tensor, P: Tensor, mass: float, stiffness: float) -> Tensor:
    """(P²/(2m), K Q²/2) per site, averaged over the sites of each chain.

    Shapes: Q, P (..., L) → (..., 2)."""
    return torch.stack([(P ** 2).mean(-1) / (2 * mass), stiffness * (Q ** 2).mean(-1) / 2], -1)


def check_length(path: str, step: int, burn_in: int, advance: int, window: int) -> None:
    """ConfigError unless the runs of store `path` last burn-in + advance + window model steps of `step`
    snapshots (checked before a run directory is written)."""
    with open_store(path) as handle:
        length = (int(handle["t"].shape[0]) - 1) // step
    if length < burn_in + advance + window:
        raise ConfigError(f"config key 'train.climate_advance': the climate pool needs runs of at least "
                          f"{burn_in + advance + window} model steps (climate_burn_in + climate_advance + "
                          f"climate_window); '{path}' has {length}")


class ClimatePool:
    """B chains of `store` (a HolsteinWindows of the training runs, model step k) run under the model.

    Args:
        store: the first training store's dataset (its `runs` are the training runs).
        chains: B (at most the store's training runs; fewer take turns).
        advance: model steps per optimiser step without gradients.
        window: W, model steps per optimiser step with gradients.
        burn_in: model steps from t = 0 before the first comparison of each cycle (without gradients).
        constraint_maker: `train.conserve`'s make(batch, initial) or None.
    """

    def __init__(self, store, chains: int, advance: int, window: int, burn_in: int, constraint_maker, device):
        self.store, self.advance, self.window, self.burn_in = store, int(advance), int(window), int(burn_in)
        self.constraint_maker, self.device = constraint_maker, device
        self.mass, self.stiffness = store.params.mass, store.params.stiffness
        self.L, k = store.L, store.step
        self.length = (store.num_frames - 1) // k          # model steps the stored runs last
        self.runs = sorted(store.runs)
        f = store.store.file
        frames = slice(0, self.length * k + 1, k)
        energies = lattice_energies(torch.from_numpy(np.asarray(f["Q"][self.runs, frames], dtype=np.float64)),
                                    torch.from_numpy(np.asarray(f["P"][self.runs, frames], dtype=np.float64)),
                                    self.mass, self.stiffness)                  # (runs, T + 1, 2)
        chains = min(int(chains), len(self.runs))
        self.mean = energies.mean(0).float().to(device)
        spread = (energies - energies.mean(0))[:, self.burn_in:].pow(2).mean((0, 1)).sqrt()
        self.scale = spread.float().to(device) / math.sqrt(chains)
        self.batch = graph_batch(self.L, store.periodic, store.graphs, chains, device)
        self.cycle, self.offset = 0, torch.zeros(2, device=device)
        self._start()

    def _start(self) -> None:
        """Every chain at t = 0 of the next B training runs."""
        chains = self.batch.num_graphs
        first = self.cycle * chains
        states = [self.store.read(self.runs[(first + j) % len(self.runs)], 0, 0) for j in range(chains)]
        Q, P, rho = (torch.cat(parts) for parts in zip(*states))
        band = dense_to_band(rho, self.L, self.store.periodic, self.store.graphs)
        self.state = {K.Q: Q.reshape(-1).float().to(self.device), K.P: P.reshape(-1).float().to(self.device),
                      K.RHO: band.reshape(-1, 2).float().to(self.device)}
        self.initial, self.time = dict(self.state), 0

    def loss(self, model) -> Tensor:
        """Advance the pool (see the module docstring) and return L_climate with its gradient."""
        constraint = self.constraint_maker(self.batch, self.initial) if self.constraint_maker else None

        def step(state):
            out = model(self.batch, state)
            state = {key: out[key] for key in state}
            return constraint(state) if constraint is not None else state

        state, time = self.state, self.time + (self.burn_in if self.time == 0 else 0) + self.advance
        with torch.no_grad():
            for _ in range(time - self.time):
                state = step(state)
        chains = self.batch.num_graphs
        offsets = torch.zeros(2, device=self.device)
        for h in range(1, self.window + 1):
            state = step(state)
            energies = lattice_energies(state[K.Q].reshape(chains, self.L), state[K.P].reshape(chains, self.L),
                                        self.mass, self.stiffness)
            offsets = offsets + (energies.mean(0) - self.mean[time + h]) / self.window
        self.state, self.time = {key: value.detach() for key, value in state.items()}, time + self.window
        if self.time + self.advance + self.window > self.length:
            self.cycle += 1
            self._start()
        self.offset = MEMORY * self.offset + (1 - MEMORY) * offsets.detach()
        # value (ō/σ)², gradient that of (o/σ)² with the window's offset o replaced by the running ō
        return (self.offset / self.scale).pow(2).sum() + (2 * self.offset * (offsets - offsets.detach())
                                                         / self.scale.pow(2)).sum()

    def state_dict(self) -> dict:
        return {"cycle": self.cycle, "time": self.time, "offset": self.offset.cpu(),
                "state": {k: v.cpu() for k, v in self.state.items()},
                "initial": {k: v.cpu() for k, v in self.initial.items()}}

    def load_state_dict(self, saved: dict) -> None:
        self.cycle, self.time = int(saved["cycle"]), int(saved["time"])
        self.offset = saved["offset"].to(self.device)
        self.state = {k: v.to(self.device) for k, v in saved["state"].items()}
        self.initial = {k: v.to(self.device) for k, v in saved["initial"].items()}
