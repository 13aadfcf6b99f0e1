"""Climate loss (Holstein): site statistics of the model's own long rollouts against the exact ensemble's.

A one-step or few-step loss cannot see a bias that acts over thousands of steps: a learned ρ step whose
occupations do a little too much work on the lattice leaves it too hot on the model's attractor, while every
short rollout from an exact state is accurate. The climate loss follows a pool of B chains of the first
training store under the model itself, for as long as the store's trajectories last, and compares the pool's
means of site statistics with those of the exact training ensemble at the same time t:

    L_climate = Σ_e (ō_e / (σ_e / √B))²,   o_e = (1/(B W)) Σ_j Σ_{h=1..W} (e_j(t + h) − ē(t + h)),

e the site mean of one of (`STATISTICS`; the first three are the terms of the Holstein energy, DESIGN.md §3.1)
    kinetic P_i²/(2m),  potential K Q_i²/2,  coupling −g Q_i (n_i − ½),  occupation (n_i − ½)²,
    unbound exp(−Q_i²/(2w²)) with w = g/(8K), a quarter of the polaron displacement g/(2K): the weight of the
    Q marginal near 0, the sites bound into no polaron (the energies are dominated by the bound ones),

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
from graphqd.data.density_band import read_occupations
from graphqd.data.holstein import params_of_store
from graphqd.data.store import open_store
from graphqd.errors import ConfigError
from graphqd.graphs.holstein import dense_to_band, graph_batch

MEMORY = 0.9  # the running offset ō forgets with this factor per optimiser step (about 10 steps' memory)
STATISTICS = ("kinetic", "potential", "coupling", "occupation", "unbound")


def site_statistics(Q: Tensor, P: Tensor, n: Tensor, params, names) -> Tensor:
    """The statistics `names` (of `STATISTICS`, see the module docstring) averaged over the sites of each chain.

    Shapes: Q, P, n (..., L) → (..., len(names))."""
    terms = {"kinetic": lambda: P ** 2 / (2 * params.mass), "potential": lambda: params.stiffness * Q ** 2 / 2,
             "coupling": lambda: -params.g * Q * (n - 0.5), "occupation": lambda: (n - 0.5) ** 2,
             "unbound": lambda: torch.exp(-0.5 * (Q * 8 * params.stiffness / params.g) ** 2)}
    return torch.stack([terms[name]().mean(-1) for name in names], -1)


def check_store(path: str, step: int, burn_in: int, advance: int, window: int, statistics) -> None:
    """ConfigError unless the runs of store `path` last burn-in + advance + window model steps of `step`
    snapshots and have polarons where `unbound` is compared, and `statistics` names at least one (checked
    before a run directory is written)."""
    if not statistics:
        raise ConfigError("config key 'train.climate_statistics' is empty; name at least one of "
                          + ", ".join(STATISTICS))
    with open_store(path) as handle:
        length = (int(handle["t"].shape[0]) - 1) // step
        g = params_of_store(handle).g
    if "unbound" in statistics and g <= 0:
        raise ConfigError(f"config key 'train.climate_statistics' names 'unbound', the weight of Q near 0 in units of "
                          f"the polaron displacement g/(2K); '{path}' runs at g = {g}: leave it out")
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
        statistics: the names (of `STATISTICS`) compared.
    """

    def __init__(self, store, chains: int, advance: int, window: int, burn_in: int, constraint_maker, device,
                 statistics):
        self.store, self.advance, self.window, self.burn_in = store, int(advance), int(window), int(burn_in)
        self.constraint_maker, self.device, self.statistics = constraint_maker, device, tuple(statistics)
        self.params, self.L, k = store.params, store.L, store.step
        self.length = (store.num_frames - 1) // k          # model steps the stored runs last
        self.runs = sorted(store.runs)
        f = store.store.file
        frames = slice(0, self.length * k + 1, k)
        exact = torch.stack([site_statistics(*(torch.from_numpy(np.asarray(x, dtype=np.float64)) for x in
                                               (f["Q"][run, frames], f["P"][run, frames],
                                                read_occupations(f, run, frames))),
                                             self.params, self.statistics) for run in self.runs])  # (runs, T + 1, E)
        chains = min(int(chains), len(self.runs))
        self.mean = exact.mean(0).float().to(device)
        spread = (exact - exact.mean(0))[:, self.burn_in:].pow(2).mean((0, 1)).sqrt()
        self.scale = spread.float().to(device) / math.sqrt(chains)
        self.batch = graph_batch(self.L, store.periodic, store.graphs, chains, device)
        self.cycle, self.offset = 0, torch.zeros(len(self.statistics), device=device)
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
        offsets = torch.zeros(len(self.statistics), device=self.device)
        for h in range(1, self.window + 1):
            state = step(state)
            values = site_statistics(*(x.reshape(chains, self.L) for x in (
                state[K.Q], state[K.P], state[K.RHO][self.batch[K.BAND_DIAGONAL], 0])), self.params, self.statistics)
            offsets = offsets + (values.mean(0) - self.mean[time + h]) / self.window
        self.state, self.time = {key: value.detach() for key, value in state.items()}, time + self.window
        if self.time + self.advance + self.window > self.length:
            self.cycle += 1
            self._start()
        self.offset = MEMORY * self.offset + (1 - MEMORY) * offsets.detach()
        # value (ō/σ)², gradient that of (o/σ)² with the window's offset o replaced by the running ō
        return (self.offset / self.scale).pow(2).sum() + (2 * self.offset * (offsets - offsets.detach())
                                                         / self.scale.pow(2)).sum()

    def offsets(self) -> dict[str, Tensor]:
        """The running offset ō of each statistic in standard errors of the pool mean (logged as
        train/climate_<name>; positive where the model's rollouts lie above the exact ensemble)."""
        return {f"climate_{name}": value for name, value in zip(self.statistics, self.offset / self.scale)}

    def state_dict(self) -> dict:
        return {"cycle": self.cycle, "time": self.time, "offset": self.offset.cpu(),
                "state": {k: v.cpu() for k, v in self.state.items()},
                "initial": {k: v.cpu() for k, v in self.initial.items()}}

    def load_state_dict(self, saved: dict) -> None:
        self.cycle, self.time = int(saved["cycle"]), int(saved["time"])
        self.offset = saved["offset"].to(self.device)
        self.state = {k: v.to(self.device) for k, v in saved["state"].items()}
        self.initial = {k: v.to(self.device) for k, v in saved["initial"].items()}
