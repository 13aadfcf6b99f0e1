"""Recipe of biased Holstein CDW datasets (DESIGN.md §3.3): Brownian lattice dynamics driven
by the exact nonequilibrium (NEGF) electronic forces, recorded every few steps.

Runs are written in time chunks, so an interrupted run resumes mid-trajectory. Every chunk
restarts from the stored Q of its first record and draws its noise from a generator seeded
by (seed, run, chunk), so interrupted and uninterrupted runs are identical.

Training sets of a force field need many conditions in one store: the `sweep` section lists
values of the bias, the bath temperature and the initial noise, and run k takes entry
k mod P of their Cartesian product (bias slowest, P its size). Every store records each run's
values, with the lead chemical potentials they give, as the per-run datasets `bias`,
`bath_temperature`, `q_noise`, `mu_left` and `mu_right` (N,); the store's attributes of the same
names keep the values of the unswept config.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import fields

import numpy as np
import torch
from tqdm import tqdm

from graphqd import config as cfg
from graphqd.config import Field
from graphqd.data.recipes.common import run_seed, snapshot_count, storage_dtypes
from graphqd.data.store import StoreWriter, shard_range
from graphqd.errors import ConfigError
from graphqd.physics import brownian, negf

_DEFAULT = {f.name: f.default for f in fields(negf.NEGFParams) if f.default is not f.default_factory}

SCHEMA = {
    "system": Field("str", choices=["negf"], doc="must match the command's SYSTEM (filled in from it when absent)"),
    "seed": Field("int", 0, minimum=0, doc="base seed: the initial noise and the Langevin noise of run k are "
                                           "seeded by (seed, k) alone"),
    "trajectories": Field("int", 1, minimum=1, doc="number of runs in the store"),
    "lattice": {
        "Lx": Field("int", 40, minimum=1, doc="columns, between the leads (open)"),
        "Ly": Field("int", 30, minimum=1, doc="rows (periodic when periodic_y)"),
        "periodic_y": Field("bool", True, doc="periodic boundary in y (x is always open, between the leads)"),
    },
    "model": {
        "hopping": Field("float", _DEFAULT["hopping"], doc="nearest-neighbour hopping t"),
        "g": Field("float", _DEFAULT["g"], doc="electron-lattice coupling g (on-site term −g Q_i of h(Q))"),
        "stiffness": Field("float", _DEFAULT["stiffness"], positive=True, doc="on-site spring constant K"),
        "kappa": Field("float", _DEFAULT["kappa"], doc="nearest-neighbour lattice coupling κ "
                                                       "(energy κ Σ_⟨ij⟩ Q_i Q_j)"),
    },
    "leads": {
        "gamma": Field("float", _DEFAULT["gamma_lead"], positive=True, doc="wide-band broadening Γ"),
        "bias": Field("float", 0.0, doc="V = μ_L − μ_R"),
        "gate": Field("str", "symmetric", choices=["symmetric", "left"],
                      doc="symmetric: μ_L,R = μ ± V/2; left: the right electrode stays at μ and the left one "
                          "is gated to μ + V (one gated electrode, as in the paper)"),
        "mu": Field("float", _DEFAULT["mu"], doc="lead chemical potential μ (0: half filling); see gate"),
        "temperature": Field("float", _DEFAULT["temperature"], minimum=0.0, doc="lead electron temperature"),
    },
    "initial": {
        "q_noise": Field("float", 0.0, minimum=0.0, doc="std of Gaussian noise added to the checkerboard CDW"),
    },
    "dynamics": {
        "dt": Field("float", 0.1, positive=True, doc="Euler–Maruyama step of the overdamped Langevin dynamics"),
        "damping": Field("float", 0.2, positive=True, doc="γ"),
        "temperature": Field("float", 0.1, minimum=0.0, doc="k_B T of the lattice bath"),
        "t_final": Field("float", 100.0, positive=True, doc="duration of a run: a whole number of dt steps, "
                                                             "divisible by record_every"),
        "record_every": Field("int", 10, minimum=1, doc="steps between stored snapshots"),
    },
    "force": {
        "checkpoint": Field("str", "", doc="a trained force field (negf checkpoint) in place of the exact NEGF "
                                           "force; empty: exact"),
        "current": Field("str", "none", choices=["none", "exact"],
                         doc="with a learned force: the current at each record, exact NEGF (small lattices) or "
                             "none (NaN)"),
    },
    "sweep": {
        "bias": Field("floats", None, doc="biases of the runs (replaces leads.bias)"),
        "temperature": Field("floats", None, minimum=0.0, doc="bath k_B T of the runs (replaces dynamics.temperature)"),
        "q_noise": Field("floats", None, minimum=0.0, doc="initial noise of the runs (replaces initial.q_noise)"),
    },
    "storage": {
        "dtype": Field("str", "float32", choices=["float32", "float64"],
                       doc="precision of the stored Q, n, force and current"),
        "batch": Field("int", 4, minimum=1, doc="runs written together (one block of the store)"),
        "chunk_records": Field("int", 10, minimum=1, doc="snapshots per written (resumable) chunk"),
    },
}


def conditions(config: dict, run: int) -> dict:
    """Bias, bath temperature and initial noise of run `run`: entry run mod P of the sweep's product."""
    sweep = config["sweep"]
    axes = [sweep["bias"] or [config["leads"]["bias"]], sweep["temperature"] or [config["dynamics"]["temperature"]],
            sweep["q_noise"] or [config["initial"]["q_noise"]]]
    bias, temperature, q_noise = list(itertools.product(*axes))[run % math.prod(len(a) for a in axes)]
    params = params_of(config, bias)
    return {"bias": bias, "bath_temperature": temperature, "q_noise": q_noise, "mu_left": params.mu_left,
            "mu_right": params.mu_right}


def params_of(config: dict, bias: float | None = None) -> negf.NEGFParams:
    """The lattice and leads of `config`, at `bias` (default leads.bias)."""
    lattice, model, leads = config["lattice"], config["model"], config["leads"]
    bias = leads["bias"] if bias is None else bias
    return negf.NEGFParams(Lx=lattice["Lx"], Ly=lattice["Ly"], hopping=model["hopping"], g=model["g"],
                           stiffness=model["stiffness"], kappa=model["kappa"], gamma_lead=leads["gamma"],
                           bias=bias, temperature=leads["temperature"],
                           mu=leads["mu"] + (0.5 * bias if leads["gate"] == "left" else 0.0),
                           periodic_y=lattice["periodic_y"])


def initial_displacements(config: dict, run: int, params: negf.NEGFParams, device: torch.device) -> torch.Tensor:
    """Checkerboard CDW plus the run's seeded noise, (Ly, Lx) float64."""
    base = negf.checkerboard(params, device=device)
    noise = np.random.default_rng(run_seed(config["seed"], run)).normal(0, 1, base.shape)
    return base + conditions(config, run)["q_noise"] * torch.as_tensor(noise, dtype=torch.float64, device=device)


def generate(config: dict, out: str, device: torch.device, shard: str | None = None, learned=None) -> None:
    """Simulate the runs of this recipe (or one shard) into the store at `out`, resumably.

    `learned(params)` gives the force callable of a trained force field (config force.checkpoint,
    loaded by the command line); without it the force is the exact NEGF one."""
    if bool(config["force"]["checkpoint"]) != (learned is not None):
        raise ConfigError("config key 'force.checkpoint' needs the force field loaded by `graphqd simulate negf`")
    params = params_of(config)
    dyn = config["dynamics"]
    n_steps = snapshot_count(dyn["t_final"], dyn["dt"], "dynamics")
    if n_steps % dyn["record_every"]:
        raise ConfigError(f"config key 'dynamics.record_every' ({dyn['record_every']}) must divide the "
                          f"{n_steps} steps of t_final / dt")
    n_records = n_steps // dyn["record_every"] + 1
    start, stop = shard_range(config["trajectories"], shard)
    real, _ = storage_dtypes(config["storage"]["dtype"])
    shape = (params.Ly, params.Lx)
    attrs = {"force_field": config["force"]["checkpoint"] or "exact NEGF", "Lx": params.Lx, "Ly": params.Ly,
             "periodic_y": params.periodic_y, "hopping": params.hopping, "g": params.g, "stiffness": params.stiffness,
             "kappa": params.kappa, "gamma_lead": params.gamma_lead,
             "bias": params.bias, "gate": config["leads"]["gate"], "mu": params.mu,
             "lead_temperature": params.temperature, "dt": dyn["dt"],
             "damping": dyn["damping"], "temperature": dyn["temperature"], "t_final": dyn["t_final"],
             "record_every": dyn["record_every"]}
    t = np.arange(n_records) * dyn["dt"] * dyn["record_every"]
    per_run = {"Q": ((n_records, *shape), real), "n": ((n_records, *shape), real),
               "force": ((n_records, *shape), real), "current": ((n_records,), real),
               **{name: ((), real) for name in conditions(config, 0)}}
    chunk = config["storage"]["chunk_records"]
    with StoreWriter(out, "negf", cfg.dump(config), config["seed"], attrs, {"t": t}, per_run,
                     runs_total=stop - start, run_offset=start, shard=shard, schema=SCHEMA) as store:
        if store.complete:
            return
        todo = (stop - start - store.runs_done) * (n_records - 1) - max(store.records_done - 1, 0)
        with tqdm(total=todo, unit="snapshot", desc=f"negf -> {out}", disable=None) as bar:
            while store.runs_done < stop - start:
                first = store.runs_done
                runs = range(start + first, start + min(first + config["storage"]["batch"], stop - start))
                runs_of = {k: conditions(config, k) for k in runs}
                fields_of = {name: np.array([runs_of[k][name] for k in runs], real) for name in runs_of[runs[0]]}
                force_fields = {k: _force_field(config, params_of(config, runs_of[k]["bias"]), learned) for k in runs}
                if store.records_done == 0:
                    snapshots = [_call(force_fields[k], initial_displacements(config, k, params, device), real)
                                 for k in runs]
                    block = {name: np.stack([s[name] for s in snapshots])[:, None] for name in snapshots[0]}
                    store.write(first, {**block, **fields_of}, slice(0, 1), runs_finished=n_records == 1)
                while store.runs_done == first and store.records_done > 0:
                    r0 = store.records_done
                    r1 = min(r0 + chunk, n_records)
                    chunks = []
                    for i, k in enumerate(runs):
                        Q = torch.as_tensor(store.file["Q"][first + i, r0 - 1], dtype=torch.float64, device=device)
                        generator = torch.Generator(device).manual_seed(run_seed(config["seed"], k, r0))
                        traj = brownian.simulate(Q, force_fields[k], dyn["dt"], dyn["damping"],
                                                 runs_of[k]["bath_temperature"], (r1 - r0) * dyn["record_every"],
                                                 dyn["record_every"], generator, t0=float(t[r0 - 1]),
                                                 record_initial=False)
                        chunks.append(_block(traj.Q, traj.force, _with_current(force_fields[k], traj.Q, traj.extras),
                                             real))
                    block = {name: np.stack([c[name] for c in chunks]) for name in chunks[0]}
                    store.write(first, {**block, **fields_of}, slice(r0, r1), runs_finished=r1 == n_records)
                    bar.update((r1 - r0) * len(runs))
        store.finish()


def _force_field(config: dict, params: negf.NEGFParams, learned):
    """The exact NEGF force callable, or the learned one, with the exact current at each record
    when force.current is exact (the current is then computed in `_block`)."""
    if learned is None:
        return negf.force_field(params)
    force = learned(params)
    force.exact_current = params if config["force"]["current"] == "exact" else None
    return force


def _call(force_field, Q: torch.Tensor, real) -> dict:
    F, extras = force_field(Q)
    return _block(Q, F, _with_current(force_field, Q, extras), real)


def _with_current(force_field, Q: torch.Tensor, extras: dict) -> dict:
    """`extras` with the exact current I = (I_L − I_R)/2 of the records Q where a learned force asks for it."""
    params = getattr(force_field, "exact_current", None)
    if params is None:
        return extras
    left, right = negf.current(Q, params)
    return {**extras, "current": 0.5 * (left - right)}


def _block(Q: torch.Tensor, F: torch.Tensor, extras: dict, real) -> dict:
    """Store arrays of one run: Q, n, force (…, Ly, Lx) and the current."""
    return {name: value.detach().cpu().numpy().astype(real) for name, value in
            (("Q", Q), ("n", extras["n"]), ("force", F), ("current", extras["current"]))}
