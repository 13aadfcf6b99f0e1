"""Recipe of Holstein quench datasets (DESIGN.md §3.1): shallow and deep quenches, or
"arbitrary nonequilibrium" initial states, evolved by the Ehrenfest ground truth."""
from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from graphqd import config as cfg
from graphqd.config import Field
from graphqd.data.density_band import BAND, DENSE, RADIUS_ATTR, check_radius
from graphqd.data.recipes.common import run_seed, snapshot_count, storage_dtypes
from graphqd.data.store import StoreWriter, shard_range
from graphqd.errors import ConfigError, GraphqdError
from graphqd.physics import holstein, holstein_band

SCHEMA = {
    "system": Field("str", choices=["holstein"], doc="must match the command's SYSTEM (filled in from it when "
                                                     "absent)"),
    "seed": Field("int", 0, minimum=0, doc="base seed: the random draws of run k (initial noise or state, random "
                                           "phase) are seeded by (seed, k) alone"),
    "trajectories": Field("int", minimum=1, doc="number of runs in the store"),
    "lattice": {
        "L": Field("lattice", 8, minimum=2, doc="chain length, or [Ly, Lx]"),
        "boundary": Field("str", "periodic", choices=["periodic", "open"], doc="boundary of the chain (or of both "
                                                                             "axes of the square lattice)"),
    },
    "model": {
        "hopping": Field("float", 1.0, doc="nearest-neighbour hopping t"),
        "omega": Field("float", 0.4, positive=True, doc="bare phonon frequency Ω (the mass is m = K/Ω²)"),
        "stiffness": Field("float", 0.4, positive=True, doc="on-site spring constant K"),
    },
    "quench": {
        "g_initial": Field("float", 0.0, doc="electron-phonon coupling g of the ground state before the quench "
                                             "(initial.kind quench)"),
        "g_final": Field("float", 2.0, doc="electron-phonon coupling g the dynamics runs with (after the quench)"),
        "q_noise": Field("float", 1.0e-4, minimum=0.0, doc="std of the Gaussian noise added to Q at t = 0"),
        "p_noise": Field("float", 0.0, minimum=0.0, doc="std of the Gaussian noise added to P at t = 0"),
        "rho": Field("str", "ground", choices=["ground", "noisy_q"],
                     doc="rho at t = 0: the ground state's, or the Fermi sea of h(Q) at g_initial for the noisy Q "
                         "(the published code's)"),
    },
    "initial": {
        "kind": Field("str", "quench", choices=["quench", "random"],
                      doc="quench: ground state at g_initial plus noise; random: arbitrary nonequilibrium"),
        "q_scale": Field("float", 1.0, minimum=0.0, doc="kind random: std of Q in units of Q* = g_final/K "
                                                        "(Q* = 1 when g_final = 0)"),
        "p_scale": Field("float", 1.0, minimum=0.0, doc="kind random: std of P in units of mΩQ*"),
        "disorder": Field("float", 2.0, minimum=0.0, doc="kind random: rho is the half-filled Fermi sea of h₀ plus "
                                                         "on-site disorder W_i ~ U(−disorder, disorder)"),
    },
    "integrator": {
        "dt": Field("float", 0.08, positive=True, doc="time between stored snapshots"),
        "substeps": Field("int", 8, minimum=1, doc="RK4 steps per stored snapshot (internal step dt/substeps)"),
        "t_final": Field("float", 200.0, positive=True, doc="time of the last snapshot (a whole multiple of dt)"),
        "discard": Field("float", 0.0, minimum=0.0, doc="time integrated after the quench before the first stored "
                                                        "snapshot (a whole number of internal steps dt/substeps)"),
        "random_phase": Field("bool", False, doc="each run also integrates a random number of internal steps in "
                                                 "[0, substeps) before its first snapshot (the published code's "
                                                 "phase)"),
        "band_radius": Field("int", -1, minimum=-1,
                             doc="-1: the exact equations with the whole rho; r >= 1 (chains): the equations with "
                                 "rho on the band of radius r alone (graphqd.physics.holstein_band), O(L r) per "
                                 "step and an approximation (r = 12 keeps the deep quench's climate at L = 256, "
                                 "experiment 8c); rho is then stored on a band, storage.rho_band <= r"),
    },
    "storage": {
        "dtype": Field("str", "float32", choices=["float32", "float64"],
                       doc="precision of the stored Q, P (rho complex64 or complex128); the integration runs in "
                           "float64"),
        "batch": Field("int", 64, minimum=1, doc="trajectories simulated and written per block"),
        "rho_band": Field("int", -1, minimum=-1, doc="-1: rho stored dense (L x L); r >= 0: only rho_ij with chain "
                                                     "distance <= r, as rho_band (graphqd.data.density_band)"),
    },
}


def params_of(config: dict) -> tuple[holstein.HolsteinParams, holstein.HolsteinParams]:
    """(initial, final) HolsteinParams of a resolved recipe."""
    lattice, model, quench = config["lattice"], config["model"], config["quench"]
    L = lattice["L"] if isinstance(lattice["L"], int) else tuple(lattice["L"])
    final = holstein.HolsteinParams(L=L, hopping=model["hopping"], omega=model["omega"],
                                    stiffness=model["stiffness"], g=quench["g_final"], boundary=lattice["boundary"])
    return final.with_g(quench["g_initial"]), final


def initial_states(config: dict, runs: range, device: torch.device) -> holstein.State:
    """Initial states of dataset runs `runs`, each determined by (seed, run index) alone."""
    initial, final = params_of(config)
    seeds = [run_seed(config["seed"], k) for k in runs]
    spec = config["initial"]
    if spec["kind"] == "quench":
        quench = config["quench"]
        return holstein.noisy_ground_states(initial, quench["q_noise"], seeds, device, quench["p_noise"],
                                            quench["rho"] == "noisy_q")
    states = [holstein.random_state(final, s, spec["q_scale"], spec["p_scale"], spec["disorder"], device)
              for s in seeds]
    return holstein.State(*(torch.stack(parts) for parts in zip(*states)))


def transient_steps(config: dict, runs: range) -> np.ndarray:
    """Internal steps each run integrates before its first stored snapshot: integrator.discard,
    plus with random_phase a number in [0, substeps) drawn from (seed, run index) alone."""
    integrator = config["integrator"]
    h = integrator["dt"] / integrator["substeps"]
    discard = round(integrator["discard"] / h)
    if abs(discard * h - integrator["discard"]) > 1e-9 * max(1.0, integrator["discard"]):
        raise ConfigError(f"config key 'integrator.discard' ({integrator['discard']}) must be a whole number of "
                          f"internal steps dt/substeps = {h:g}")
    phases = [np.random.default_rng(run_seed(config["seed"], k, 1)).integers(integrator["substeps"])
              if integrator["random_phase"] else 0 for k in runs]
    return discard + np.array(phases, dtype=np.int64)


def generate(config: dict, out: str, device: torch.device, shard: str | None = None) -> None:
    """Simulate the runs of this recipe (or of one shard) into the store at `out`, resumably."""
    _, final = params_of(config)
    integrator = config["integrator"]
    transient_steps(config, range(0))  # integrator.discard is checked before the store is made
    radius, band_radius = config["storage"]["rho_band"], integrator["band_radius"]
    if radius >= 0:
        if len(final.shape) != 1:
            raise ConfigError("config key 'storage.rho_band' is for chains; store a square lattice's rho dense (-1)")
        check_radius(final.n_sites, radius)
    if band_radius >= 0:
        try:
            holstein_band.check_band(final, band_radius)
        except GraphqdError as error:
            raise ConfigError(f"config key 'integrator.band_radius' ({band_radius}): {error}") from None
        if not 0 <= radius <= band_radius:
            raise ConfigError(f"config key 'storage.rho_band' ({radius}) must lie between 0 and "
                              f"integrator.band_radius ({band_radius}): a band integration has no rho beyond its band")
        if integrator["random_phase"]:
            raise ConfigError("config key 'integrator.random_phase' is not available with integrator.band_radius")
    n_steps = snapshot_count(integrator["t_final"], integrator["dt"])
    start, stop = shard_range(config["trajectories"], shard)
    real, cplx = storage_dtypes(config["storage"]["dtype"])
    n = final.n_sites
    attrs = {"lattice_shape": np.array(final.shape), "n_sites": n, "boundary": final.boundary,
             "hopping": final.hopping, "omega": final.omega, "stiffness": final.stiffness, "mass": final.mass,
             "g_initial": config["quench"]["g_initial"], "g_final": final.g, "q_noise": config["quench"]["q_noise"],
             "p_noise": config["quench"]["p_noise"], "initial_rho": config["quench"]["rho"],
             "initial_kind": config["initial"]["kind"], "dt": integrator["dt"], "substeps": integrator["substeps"],
             "t_final": integrator["t_final"], "discard": integrator["discard"],
             "random_phase": integrator["random_phase"], **({RADIUS_ATTR: radius} if radius >= 0 else {}),
             **({"integrator_band_radius": band_radius} if band_radius >= 0 else {})}
    t = np.arange(n_steps + 1) * integrator["dt"]
    density = (DENSE, n) if radius < 0 else (BAND, 2 * radius + 1)  # dataset name, columns
    per_run = {"Q": ((n_steps + 1, n), real), "P": ((n_steps + 1, n), real),
               density[0]: ((n_steps + 1, n, density[1]), cplx)}
    with StoreWriter(out, "holstein", cfg.dump(config), config["seed"], attrs, {"t": t.astype(real)}, per_run,
                     runs_total=stop - start, run_offset=start, shard=shard, schema=SCHEMA) as store:
        if store.complete:
            return
        record = torch.float32 if config["storage"]["dtype"] == "float32" else torch.float64
        remaining = (stop - start - store.runs_done) * n_steps
        with tqdm(total=remaining, unit="snapshot", desc=f"holstein -> {out}", disable=None) as bar:
            batch = config["storage"]["batch"]
            while store.runs_done < stop - start:
                first = store.runs_done
                runs = range(start + first, start + min(first + batch, stop - start))
                state = initial_states(config, runs, device)
                transient = transient_steps(config, runs)
                h = integrator["dt"] / integrator["substeps"]

                def progress(k: int, count: int = len(runs)) -> None:
                    bar.update(k * count)

                if band_radius >= 0:   # transient: integrator.discard, the same for every run
                    rows = holstein_band.band_rows(state.rho, band_radius, final)
                    if transient.any():
                        moved = holstein_band.simulate(state.Q, state.P, rows, final, h * transient[0], 1,
                                                       int(transient[0]))
                        state, rows = holstein.State(moved.Q[..., -1, :], moved.P[..., -1, :], None), \
                            moved.rho[..., -1, :, :]
                    traj = holstein_band.simulate(state.Q, state.P, rows, final, integrator["dt"], n_steps,
                                                  integrator["substeps"], record, radius, progress)
                else:
                    if transient.any():
                        state = holstein.advance(state, final, h, torch.as_tensor(transient, device=device))
                    traj = holstein.simulate(state, final, integrator["dt"], n_steps, integrator["substeps"],
                                             record_dtype=record, progress=progress, record_band=radius)
                store.write(first, {"Q": traj.Q.cpu().numpy(), "P": traj.P.cpu().numpy(),
                                    density[0]: traj.rho.cpu().numpy()})
        store.finish()
