"""Recipe of wave-packet datasets (DESIGN.md §3.2): the barrier curriculum, the 37-case
test panel, or one packet against a potential of the user's (`runs.set: custom`, V from a
`.npy` file of one value per grid point), propagated by one of the Schrödinger ground truths."""
from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from graphqd import config as cfg
from graphqd.config import Field
from graphqd.data.recipes.common import snapshot_count, storage_dtypes
from graphqd.data.store import STRING, StoreWriter, shard_range
from graphqd.errors import ConfigError
from graphqd.physics import schrodinger, wave_panel

SCHEMA = {
    "system": Field("str", choices=["wave"], doc="must match the command's SYSTEM (filled in from it when absent)"),
    "seed": Field("int", 0, minimum=0, doc="recorded; the curriculum and panel are fixed by their own seeds"),
    "runs": {
        "set": Field("str", "curriculum", choices=["curriculum", "panel", "custom"],
                     doc="curriculum: the barrier training runs; panel: the named test cases; custom: one packet "
                         "against runs.potential"),
        "start": Field("int", 0, minimum=0, doc="first run of the set"),
        "step": Field("int", 1, minimum=1, doc="take every step-th run"),
        "count": Field("int", 0, minimum=0, doc="number of runs; 0 takes all that remain"),
        "potential": Field("str", "", doc="set custom: .npy file of V at every grid point"),
        "X0": Field("float", 10.0, doc="set custom: packet centre"),
        "S0": Field("float", 2.0, positive=True, doc="set custom: packet width"),
        "E0": Field("float", 5.0, minimum=0.0, doc="set custom: packet energy"),
    },
    "grid": {
        "points": Field("int", 1024, minimum=4, doc="grid points N_x of the periodic box (even)"),
        "length": Field("float", 100.0, positive=True, doc="box length L_x; Δx = length/points"),
    },
    "integrator": {
        "dt": Field("float", 0.1, positive=True, doc="time between stored snapshots"),
        "t_final": Field("float", 50.0, positive=True, doc="time of the last snapshot (a whole multiple of dt)"),
        "laplacian": Field("str", "fd3", choices=list(schrodinger.LAPLACIANS),
                           doc="fd3: 3-point finite-difference stencil; spectral: −k² in Fourier space"),
        "propagator": Field("str", "split", choices=list(schrodinger.PROPAGATORS),
                            doc="split: Strang splitting with step internal_dt; exact: eigen-decomposition of H, "
                                "once per potential"),
        "internal_dt": Field("float", 0.0005, positive=True, doc="propagator split: internal step τ, which must "
                                                                 "divide dt (unused by exact)"),
    },
    "storage": {
        "dtype": Field("str", "float32", choices=["float32", "float64"],
                       doc="precision of the stored arrays (psi complex64 or complex128); the propagation runs in "
                           "float64"),
        "batch": Field("int", 32, minimum=1, doc="runs simulated and written per block"),
    },
}

SCALARS = ("X0", "S0", "E0", "barrier_height", "barrier_width")


def custom_potential(path: str, points: int) -> np.ndarray:
    """V of a user's `.npy` file: one finite value per grid point."""
    try:
        V = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ConfigError(f"config key 'runs.potential': '{path}' is not a readable .npy array "
                          f"({type(error).__name__})") from None
    if V.ndim != 1 or V.shape[0] != points or not np.issubdtype(V.dtype, np.number):
        raise ConfigError(f"config key 'runs.potential': '{path}' holds an array of shape {V.shape}, but the grid "
                          f"has {points} points (grid.points); give one real value per point")
    if not np.isfinite(V).all():
        raise ConfigError(f"config key 'runs.potential': '{path}' holds values that are not finite")
    return V.astype(np.float64)


def selected_runs(config: dict, x: torch.Tensor) -> dict:
    """Per-run arrays of the selected runs: V (N, X), psi0 (N, X), the scalars and kind, name."""
    spec = config["runs"]
    if spec["set"] == "custom":
        if not spec["potential"]:
            raise ConfigError("config key 'runs.potential' must name a .npy file of V when runs.set is custom")
        V = torch.from_numpy(custom_potential(spec["potential"], x.shape[0])).to(x.device)[None]
        case = wave_panel.panel_case("custom", "custom", V[0], x, (spec["X0"], spec["S0"], spec["E0"]))
        return wave_panel.panel_batch([case], x)
    if spec["set"] == "curriculum":
        runs = wave_panel.curriculum(float(x[-1] + (x[1] - x[0])))
        total = len(runs)
    else:
        cases = wave_panel.test_panel(x)
        total = len(cases)
    stop = total if spec["count"] == 0 else spec["start"] + spec["step"] * spec["count"]
    rows = list(range(spec["start"], min(stop, total), spec["step"]))
    if not rows or (spec["count"] and len(rows) < spec["count"]):
        raise ConfigError(f"config keys 'runs.start/step/count' select {len(rows)} runs, but the "
                          f"{spec['set']} has only {total} (start {spec['start']}, step {spec['step']})")
    if spec["set"] == "curriculum":
        chosen = runs.select(rows)
        return {"V": chosen.potentials(x), "psi0": chosen.packets(x),
                **{k: getattr(chosen, k) for k in SCALARS}, "kind": list(chosen.kind),
                "name": [f"barrier_{k}" for k in rows]}
    return wave_panel.panel_batch([cases[k] for k in rows], x)


class _ExactPropagator:
    """Exact propagation with one eigen-decomposition per distinct potential, kept across blocks."""

    def __init__(self, x: torch.Tensor, laplacian: str):
        self.x, self.laplacian, self.cache = x, laplacian, {}

    def __call__(self, psi0: torch.Tensor, V: torch.Tensor, dt: float, n_steps: int) -> torch.Tensor:
        out = torch.empty(len(psi0), n_steps + 1, psi0.shape[-1], dtype=torch.complex128, device=psi0.device)
        distinct, owner = torch.unique(V, dim=0, return_inverse=True)
        for k, potential in enumerate(distinct):
            key = potential.cpu().numpy().tobytes()
            if key not in self.cache:
                self.cache[key] = schrodinger.eigensystem(self.x, potential, self.laplacian)
            rows = torch.nonzero(owner == k).flatten()
            schrodinger.propagate_eigen(psi0[rows], *self.cache[key], dt, n_steps, out=out, rows=rows)
        return out


def generate(config: dict, out: str, device: torch.device, shard: str | None = None) -> None:
    """Propagate the selected runs (or one shard of them) into the store at `out`, resumably."""
    grid, integrator = config["grid"], config["integrator"]
    if grid["points"] % 2:
        raise ConfigError(f"config key 'grid.points' must be even (bond splitting), got {grid['points']}")
    n_steps = snapshot_count(integrator["t_final"], integrator["dt"])
    if integrator["propagator"] == "split":
        schrodinger.internal_steps(integrator["dt"], integrator["internal_dt"])  # validates the ratio
    x = schrodinger.grid(grid["points"], grid["length"], device=device)
    runs = selected_runs(config, x)
    start, stop = shard_range(len(runs["V"]), shard)
    real, cplx = storage_dtypes(config["storage"]["dtype"])
    n_points = grid["points"]
    steps = round(integrator["dt"] / integrator["internal_dt"]) if integrator["propagator"] == "split" else 0
    attrs = {"length": grid["length"], "points": n_points, "dt": integrator["dt"], "t_final": integrator["t_final"],
             "laplacian": integrator["laplacian"], "propagator": integrator["propagator"],
             "internal_dt": integrator["internal_dt"] if steps else 0.0, "internal_steps_per_snapshot": steps,
             "run_set": config["runs"]["set"]}
    shared = {"x": x.cpu().numpy().astype(real), "t": (np.arange(n_steps + 1) * integrator["dt"]).astype(real)}
    per_run = {"psi": ((n_steps + 1, n_points), cplx), "V": ((n_points,), real),
               **{k: ((), real) for k in SCALARS}, "kind": ((), STRING), "name": ((), STRING)}
    exact = _ExactPropagator(x, integrator["laplacian"]) if integrator["propagator"] == "exact" else None
    with StoreWriter(out, "wave", cfg.dump(config), config["seed"], attrs, shared, per_run,
                     runs_total=stop - start, run_offset=start, shard=shard, schema=SCHEMA) as store:
        if store.complete:
            return
        with tqdm(total=stop - start - store.runs_done, unit="run", desc=f"wave -> {out}", disable=None) as bar:
            batch = config["storage"]["batch"]
            while store.runs_done < stop - start:
                first = store.runs_done
                rows = slice(start + first, start + min(first + batch, stop - start))
                psi0, V = runs["psi0"][rows], runs["V"][rows]
                if exact is not None:
                    psi = exact(psi0, V, integrator["dt"], n_steps)
                else:
                    psi = schrodinger.simulate(psi0, V, x, integrator["dt"], n_steps, integrator["laplacian"],
                                               "split", integrator["internal_dt"])
                block = {"psi": psi.cpu().numpy().astype(cplx), "V": V.cpu().numpy().astype(real),
                         **{k: runs[k][rows].cpu().numpy().astype(real) for k in SCALARS},
                         "kind": np.array(runs["kind"][rows], dtype=object),
                         "name": np.array(runs["name"][rows], dtype=object)}
                store.write(first, block)
                bar.update(rows.stop - rows.start)
        store.finish()
