"""`graphqd rollout` for wave emulators: whole-grid rollouts written in the wave store layout.

As in the paper (Yao et al., Front. Mater. 9:1060744 (2023)), every run is seeded with
`seed_frames` = 4 true frames (those from snapshot `start` on) and rolled out with its
potential held fixed; a model that reads fewer frames takes the last of them. The written
`psi` holds the seed frames, then the `steps` emulated ones, on the data's time axis, so
frame j of the rollout is snapshot start + j of the data; the per-run parameters
(V, X0, S0, E0, barrier, kind, name) are copied from the data.
"""
from __future__ import annotations

import os

import numpy as np
import torch
from torch_geometric.data import Batch

from graphqd import config as cfg
from graphqd import keys as K
from graphqd.data.recipes import wave as recipe
from graphqd.data.store import STRING, StoreWriter, open_store
from graphqd.data.wave import WaveSample
from graphqd.errors import GraphqdError
from graphqd.evaluate.wave_plots import plot_rollout
from graphqd.graphs.wave import window_fields
from graphqd.runtime.rollout import rollout
from graphqd.runtime.surrogate import Surrogate

SEED_FRAMES = 4     # true frames that start every rollout (the paper's)
RUN_PARAMETERS = ("V", "X0", "S0", "E0", "barrier_height", "barrier_width", "kind", "name")
GRID_ATTRS = ("length", "points", "laplacian", "propagator", "internal_dt", "run_set")
BLOCK_POINTS = 1 << 16  # grid points rolled out together (runs per block = this / points)


@torch.no_grad()
def emulate_frames(model: torch.nn.Module, seeds: np.ndarray, V: np.ndarray, steps: int,
                   device: torch.device | str = "cpu") -> np.ndarray:
    """Roll `model` out `steps` steps on whole periodic grids from its last `frames` seed frames.

    Shapes: seeds (runs, ≥ frames, points) complex, V (runs, points) → (runs, steps, points) complex64
    """
    spec = model.spec
    if seeds.shape[1] < spec.frames:
        raise GraphqdError(f"the model reads {spec.frames} frames, more than the {seeds.shape[1]} seed frames")
    runs, points = V.shape
    out = np.empty((runs, steps, points), dtype=np.complex64)
    fields = window_fields(points, spec, periodic=True)
    per_block = max(1, BLOCK_POINTS // points)
    for begin in range(0, runs, per_block):
        block = slice(begin, min(begin + per_block, runs))
        history = torch.from_numpy(np.asarray(seeds[block, -spec.frames:], dtype=np.complex64))
        samples = [WaveSample(num_nodes=points, **fields,
                              **{K.PSI: torch.stack([h.real, h.imag], -1).transpose(0, 1).contiguous(),
                                 K.POTENTIAL: torch.as_tensor(v, dtype=torch.float32)})
                   for h, v in zip(history, V[block])]
        batch = Batch.from_data_list(samples).to(device)
        newest = []
        rollout(model, batch, {K.PSI: batch[K.PSI]}, steps,
                callback=lambda h, state: newest.append(state[K.PSI][:, -1].cpu()))
        psi = torch.stack(newest, 0).reshape(steps, block.stop - block.start, points, 2)
        out[block] = torch.complex(psi[..., 0], psi[..., 1]).permute(1, 0, 2).numpy()
    return out


def emulate(surrogate: Surrogate, data: str, runs: list[int], steps: int, start: int = 0,
            seed_frames: int = SEED_FRAMES, device: torch.device | str = "cpu") -> np.ndarray:
    """ψ of `steps` emulated frames after the seed frames start, start + k, …, start + (seed_frames − 1)k
    of each run of store `data` (k the model step in stored snapshots): (runs, steps, points) complex64."""
    k = surrogate.config["data"]["step"]
    with open_store(data, "wave") as handle:
        last = start + (seed_frames - 1 + steps) * k
        if start < 0 or last > handle["t"].shape[0] - 1:
            raise GraphqdError(f"--steps {steps} from --start {start} with {seed_frames} seed frames needs snapshot "
                               f"{last}, but '{data}' has snapshots 0 … {handle['t'].shape[0] - 1}")
        rows = slice(runs[0], runs[-1] + 1)
        seeds = handle["psi"][rows, start:start + (seed_frames - 1) * k + 1:k][[r - runs[0] for r in runs]]
        V = handle["V"][rows][[r - runs[0] for r in runs]]
    return emulate_frames(surrogate.model, seeds, V, steps, device)


def write_rollouts(surrogate: Surrogate, data: str, out: str, steps: int, lattice: int | None = None,
                   runs: int | None = None, start: int = 0, exact: bool = True,
                   device: torch.device | str = "cpu", conserve: tuple = ()) -> dict:
    """Roll the emulator out `steps` model steps on the first `runs` runs of `data` and write `out`."""
    if conserve:
        raise GraphqdError(f"--conserve {conserve[0]} is a Holstein option; wave emulators take "
                           f"'norm_preserving: true' in their model config")
    if lattice is not None:
        raise GraphqdError("--lattice is a Holstein option; a wave rollout runs on the grid of its data")
    if steps < 1:
        raise GraphqdError(f"--steps must be >= 1, got {steps}")
    with open_store(data, "wave") as handle:
        total = int(handle["psi"].shape[0])
        if runs is not None and not 1 <= runs <= total:
            raise GraphqdError(f"--runs {runs} is not allowed: '{data}' has {total} runs")
        chosen = list(range(total if runs is None else runs))
        attrs = {name: handle.attrs[name] for name in GRID_ATTRS if name in handle.attrs}
        parameters = {name: handle[name][:len(chosen)] for name in RUN_PARAMETERS}
        seed_psi = handle["psi"][:len(chosen), start:start + SEED_FRAMES * surrogate.config["data"]["step"]:
                                 surrogate.config["data"]["step"]]
        x, seed = handle["x"][()], int(handle.attrs.get("seed", 0))
        stored_dt = float(handle.attrs["dt"])
    emulated = emulate(surrogate, data, chosen, steps, start, SEED_FRAMES, device)
    dt = surrogate.dt
    t = (start * stored_dt + dt * np.arange(SEED_FRAMES + steps)).astype(np.float32)
    attrs.update({"dt": dt, "t_final": float(t[-1]), "seed_frames": SEED_FRAMES, "start_snapshot": start,
                  "surrogate_checkpoint": os.path.abspath(surrogate.path), "surrogate_step": surrogate.step,
                  "surrogate_model": surrogate.config["model"]["name"], "source_data": os.path.abspath(data)})
    text = cfg.dump({"rollout": {"checkpoint": os.path.abspath(surrogate.path), "data": os.path.abspath(data),
                                 "steps": steps, "runs": len(chosen), "start": start, "seed_frames": SEED_FRAMES},
                     "training": surrogate.config})
    points = emulated.shape[-1]
    per_run = {"psi": ((SEED_FRAMES + steps, points), np.complex64),
               **{name: (value.shape[1:], STRING if value.dtype == object else value.dtype)
                  for name, value in parameters.items()}}
    with StoreWriter(out, "wave", text, seed, attrs, {"x": x, "t": t}, per_run, runs_total=len(chosen)) as store:
        if not store.complete:
            store.write(0, {"psi": np.concatenate([seed_psi, emulated], 1), **parameters})
            store.finish()
    return {"out": out, "runs": len(chosen), "steps": steps, "dt": dt, "points": points}


def summary(result: dict) -> str:
    """One line of `graphqd rollout`'s result."""
    return (f"wrote {result['runs']} rollouts of {result['steps']} steps (dt = {result['dt']:g}, "
            f"{result['points']} grid points) to {result['out']}")



def write_on_potential(surrogate: Surrogate, potential: str, packet: tuple, out: str, steps: int,
                       device: torch.device | str = "cpu") -> dict:
    """A user's potential: simulate the truth of one packet (X₀, S₀, E₀) against V from `potential`
    (.npy, one value per point at the emulator's grid spacing) with the training data's ground
    truth into `<out>_exact.h5`, roll the emulator out into `out`, draw `<out>.png`; returns the
    rollout summary with the metrics of `graphqd evaluate` under "metrics" and a "warning" when V
    leaves the trained range."""
    from graphqd.evaluate.wave_metrics import evaluate  # imported here: it imports this module
    try:
        V = np.load(potential, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise GraphqdError(f"--potential '{potential}' is not a readable .npy array ({type(error).__name__})") from None
    grid = {"points": 1024, "length": 100.0, "laplacian": "fd3", "propagator": "split", "internal_dt": 0.0005,
            **surrogate.dataset.get("store", {})}
    spacing = grid["length"] / grid["points"]
    if V.ndim != 1 or V.shape[0] % 2 or V.shape[0] < surrogate.model.spec.width:
        raise GraphqdError(f"--potential '{potential}' holds an array of shape {V.shape}; give V at an even number "
                           f"(>= {surrogate.model.spec.width}) of grid points spaced {spacing:g} apart, as the "
                           f"emulator was trained (e.g. {grid['points']} points for a box of {grid['length']:g})")
    scale = surrogate.config["model"]["v_scale"]
    warning = "" if 0 <= V.min() and V.max() <= scale else \
        (f"V spans [{V.min():g}, {V.max():g}], outside the trained range 0 <= V <= {scale:g} (V/{scale:g} <= 1); "
         f"expect larger errors")
    stem = os.path.splitext(out)[0]
    truth = f"{stem}_exact.h5"
    config = cfg.validate({"system": "wave", "runs": {"set": "custom", "potential": potential, "X0": packet[0],
                                                      "S0": packet[1], "E0": packet[2]},
                           "grid": {"points": int(V.shape[0]), "length": spacing * V.shape[0]},
                           "integrator": {"dt": surrogate.dt, "t_final": surrogate.dt * (SEED_FRAMES - 1 + steps),
                                          "laplacian": grid["laplacian"], "propagator": grid["propagator"],
                                          "internal_dt": grid["internal_dt"] or 0.0005}}, recipe.SCHEMA)
    for path in (truth, out):
        if os.path.exists(path):
            os.remove(path)  # a rerun simulates and rolls out afresh
    recipe.generate(config, truth, torch.device("cpu"))
    summary = write_rollouts(surrogate, truth, out, steps, device=device)
    plot_rollout(truth, out, 0, f"{stem}.png")
    return {**summary, "exact": truth, "figure": f"{stem}.png", "warning": warning,
            "metrics": evaluate(surrogate, truth, steps, device=device)}
