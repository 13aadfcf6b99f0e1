"""`graphqd rollout` for Holstein surrogates: autoregressive trajectories in the store layout.

On the data's lattice the rollouts start from stored snapshot `start` of each run. On
another chain length (`lattice`), the initial states are made afresh by the physics
module from the data's recipe (its seed, initial-state kind and parameters, only the
length changed: run k gets the same per-run seed as in the data), and the exact
trajectory of those states is written beside the rollout (`*_exact.h5`) for comparison.
A store that keeps ρ on a band narrower than the model's lacks entries the model reads: from
it, rollouts start at t = 0 from the recipe's initial states, the stored ones made again.

The written ρ is dense (L × L, complex), with zeros outside the model's band (entries
d(i, j) > band_radius are not modelled), or with `rho="band"` only that band
(`graphqd.data.density_band`: at L = 1024 a 2,500-step run takes 0.2 GB instead of 21 GB). Runs are written in
blocks and the file is resumable like `simulate`'s. `conserve` names invariants of the exact
dynamics that each new state is projected back onto, per chain: "spectrum" (the eigenvalues of
ρ) and then "energy" (`graphqd.runtime.conservation`).
"""
from __future__ import annotations

import os

import numpy as np
import torch
import yaml

from graphqd import config as cfg
from graphqd import keys as K
from graphqd.data.density_band import BAND, DENSE, RADIUS_ATTR, check_radius
from graphqd.data.recipes import holstein as recipe
from graphqd.data.store import StoreWriter
from graphqd.errors import GraphqdError
from graphqd.graphs.holstein import band_to_dense, band_to_rows, dense_to_band, graph_batch
from graphqd.physics import holstein
from graphqd.runtime.conservation import INVARIANTS, invariant_projection
from graphqd.runtime.rollout import rollout
from graphqd.runtime.surrogate import Surrogate, surrogate_samples

PHYSICAL_ATTRS = ("hopping", "omega", "stiffness", "mass", "g_initial", "g_final", "q_noise", "initial_kind",
                  "boundary", "substeps")
# Runs are rolled out together (one graph batch) and written in blocks of about this many bytes of stored ρ (the
# rollout holds about three times that): on one CPU thread 4 chains of 256 sites step in twice the time of one.
BLOCK_BYTES = 1 << 31


def exact_path(out: str) -> str:
    stem, ext = os.path.splitext(out)
    return f"{stem}_exact{ext or '.h5'}"


@torch.no_grad()
def write_rollouts(surrogate: Surrogate, data: str, out: str, steps: int, lattice: int | None = None,
                   runs: int | None = None, start: int = 0, exact: bool = True,
                   device: torch.device | str = "cpu", conserve: tuple = (), rho: str = "dense") -> dict:
    """Roll the surrogate out `steps` model steps and write `out`; returns a summary dict. `rho`:
    "dense" stores ρ as L × L matrices, "band" only the model's band (`graphqd.data.density_band`),
    also in the exact trajectory written beside a rollout on another lattice."""
    if steps < 1:
        raise GraphqdError(f"--steps must be >= 1, got {steps}")
    dataset = surrogate_samples(surrogate, data)
    handle = dataset.store.file
    n_runs = len(dataset.runs) if runs is None else runs
    if not 1 <= n_runs <= (len(dataset.runs) if lattice in (None, dataset.L) else 10 ** 9):
        raise GraphqdError(f"--runs {runs} is not allowed: '{data}' has {len(dataset.runs)} trajectories")
    L = dataset.L if lattice is None else int(lattice)
    if L < 2:
        raise GraphqdError(f"--lattice must be a chain length >= 2, got {L}")
    spec, periodic, dt = dataset.graphs, dataset.periodic, dataset.dt
    if rho not in ("dense", "band"):
        raise GraphqdError(f"--rho {rho} is not allowed; use dense or band")
    if rho == "band":
        check_radius(L, spec.band_radius)
    attrs = {name: handle.attrs[name] for name in PHYSICAL_ATTRS if name in handle.attrs}
    attrs.update({"lattice_shape": np.array([L]), "n_sites": L, "dt": dt, "t_final": dt * steps,
                  "surrogate_checkpoint": os.path.abspath(surrogate.path), "surrogate_step": surrogate.step,
                  "surrogate_model": surrogate.config["model"]["name"], "band_radius": spec.band_radius,
                  "source_data": os.path.abspath(data), "start_snapshot": start,
                  "conserve": ",".join(c for c in INVARIANTS if c in conserve)})
    if rho == "band":
        attrs[RADIUS_ATTR] = spec.band_radius
    params = holstein.HolsteinParams(L=L, hopping=float(attrs["hopping"]), omega=float(attrs["omega"]),
                                     stiffness=float(attrs["stiffness"]), g=float(attrs["g_final"]),
                                     boundary=str(attrs["boundary"]))
    constraint_for = invariant_projection(conserve, params, spec)
    fresh = L != dataset.L or dataset.narrow_band
    if dataset.narrow_band and (start != 0 or float(handle.attrs.get("discard", 0.0)) > 0
                                or bool(handle.attrs.get("random_phase", False))):
        raise GraphqdError(f"'{data}' keeps rho on a band narrower than the model's band_radius "
                           f"{spec.band_radius}; a rollout can start from it only at t = 0 (--start 0) of a recipe "
                           f"without discarded time, whose initial states are made again")
    if fresh:
        recipe_config = cfg.validate(yaml.safe_load(str(handle.attrs["config"])), recipe.SCHEMA)
        recipe_config["lattice"]["L"] = L
        recipe_config["trajectories"] = n_runs

        def initial(block):
            return recipe.initial_states(recipe_config, block, torch.device("cpu"))
    else:
        if not 0 <= start <= dataset.num_frames - 1:
            raise GraphqdError(f"--start {start} is not allowed: '{data}' has snapshots 0 … {dataset.num_frames - 1}")

        def initial(block):
            states = [dataset.read(r, start, 0) for r in block]
            return holstein.State(*(torch.cat(parts) for parts in zip(*states)))

    text = cfg.dump({"rollout": {"checkpoint": os.path.abspath(surrogate.path), "data": os.path.abspath(data),
                                 "steps": steps, "lattice": L, "runs": n_runs, "start": start,
                                 "conserve": [c for c in INVARIANTS if c in conserve]},
                     "training": surrogate.config})
    t = (start * dataset.stored_dt + dt * np.arange(steps + 1)).astype(np.float32)
    width = L if rho == "dense" else 2 * spec.band_radius + 1
    per_run = {"Q": ((steps + 1, L), np.float32), "P": ((steps + 1, L), np.float32),
               DENSE if rho == "dense" else BAND: ((steps + 1, L, width), np.complex64)}
    block = max(1, min(64, BLOCK_BYTES // max(1, (steps + 1) * L * width * 8)))
    seed = int(handle.attrs.get("seed", 0))
    with StoreWriter(out, "holstein", text, seed, attrs, {"t": t}, per_run, runs_total=n_runs) as store:
        while store.runs_done < n_runs:
            first = store.runs_done
            chunk = list(range(first, min(first + block, n_runs)))
            state = initial(chunk)
            batch = graph_batch(L, periodic, spec, len(chunk), device)
            model_state = {K.Q: state.Q.reshape(-1).float().to(device), K.P: state.P.reshape(-1).float().to(device),
                           K.RHO: dense_to_band(state.rho, L, periodic, spec).reshape(-1, 2).float().to(device)}
            frames = rollout(surrogate.model, batch, model_state, steps, constraint=constraint_for(model_state))
            Q = torch.stack([f[K.Q].reshape(len(chunk), L) for f in frames], 1)
            P = torch.stack([f[K.P].reshape(len(chunk), L) for f in frames], 1)
            band = torch.stack([f[K.RHO].reshape(len(chunk), -1, 2) for f in frames], 1)
            name, density = (DENSE, band_to_dense(band.cpu(), L, periodic, spec)) if rho == "dense" else \
                (BAND, band_to_rows(band.cpu(), L, periodic, spec))
            store.write(first, {"Q": Q.cpu().numpy(), "P": P.cpu().numpy(), name: density.numpy()})
        store.finish()
    summary = {"out": out, "runs": n_runs, "steps": steps, "lattice": L, "dt": dt}
    if L != dataset.L and exact:
        exact_config = dict(recipe_config, integrator=dict(recipe_config["integrator"], dt=dt, t_final=dt * steps,
                                                           substeps=int(attrs.get("substeps", 8)) * dataset.step),
                            storage=dict(recipe_config["storage"], rho_band=spec.band_radius if rho == "band" else -1))
        recipe.generate(exact_config, exact_path(out), torch.device(device))
        summary["exact"] = exact_path(out)
    return summary


def summary(result: dict) -> str:
    """One line of `graphqd rollout`'s result."""
    extra = f"; exact trajectory in {result['exact']}" if "exact" in result else ""
    return (f"wrote {result['runs']} rollouts of {result['steps']} steps (dt = {result['dt']:g}, "
            f"L = {result['lattice']}) to {result['out']}{extra}")
