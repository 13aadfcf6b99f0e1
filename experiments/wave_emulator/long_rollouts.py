"""Snapshots, per-case curves and rollouts beyond the paper (experiments 2 and 5).

For every emulator given as NAME=CHECKPOINT, on the panel's 25 barrier cases, against exact
propagation of the same discretisation (fd3 Laplacian, `graphqd.physics.schrodinger.simulate`
with propagator "exact": any length at the cost of one eigen-decomposition per potential):

- **long**: 4 seed frames, then `--steps` (default 2,000) emulated frames, 5× the paper's 400;
- **box4**: the same potentials and packets in a box 4× longer at the same spacing (4096 points,
  the potential in the middle, the packet shifted with it), 400 steps: the emulators are local,
  so nothing of the training box's size should be in them.

Per frame and case: C, MAE (as the published code computes it) and ∫|ψ|²dx. Writes
results/long_rollouts.{csv,json} (per-case means; JSON also the per-frame means) and
results/long_rollouts.png (⟨C⟩(t) and ⟨∫|ψ|²⟩(t) of each model and setting, and |ψ|² snapshots
of the step pyramid and the half-circle against the truth).

    python experiments/wave_emulator/long_rollouts.py kernel=experiments/wave_emulator/pretrained/kernel.pt
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import time

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from graphqd.evaluate import metrics  # noqa: E402
from graphqd.evaluate.wave_rollout import SEED_FRAMES, emulate_frames  # noqa: E402
from graphqd.physics import schrodinger  # noqa: E402
from graphqd.runtime.surrogate import load_surrogate  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHOWN = ("steps", "half_circle")  # the cases whose snapshots are drawn
BOX_FACTOR = 4


def panel_cases(panel: str) -> dict:
    """V, ψ(0), names and spacing of the panel's barrier cases."""
    with h5py.File(panel, "r") as handle:
        kinds = handle["kind"].asstr()[:]
        rows = [i for i, kind in enumerate(kinds) if kind != "free"]
        return {"V": handle["V"][rows], "psi0": handle["psi"][rows, 0], "name": list(handle["name"].asstr()[rows]),
                "length": float(handle.attrs["length"]), "dt": float(handle.attrs["dt"])}


def exact(psi0: np.ndarray, V: np.ndarray, length: float, dt: float, frames: int) -> np.ndarray:
    """Exact fd3 propagation, frames 0 … frames − 1: (cases, frames, points) complex64."""
    x = schrodinger.grid(V.shape[1], length)
    out = [schrodinger.simulate(torch.from_numpy(p)[None], torch.from_numpy(v)[None].double(), x, dt, frames - 1,
                                "fd3", "exact")[0].to(torch.complex64).numpy() for p, v in zip(psi0, V)]
    return np.stack(out)


def widen(cases: dict) -> dict:
    """The cases in a box BOX_FACTOR× longer at the same spacing, potential and packet centred."""
    points = cases["V"].shape[1]
    shift = (BOX_FACTOR - 1) * points // 2
    V = np.zeros((len(cases["V"]), BOX_FACTOR * points))
    psi0 = np.zeros(V.shape, dtype=np.complex128)
    V[:, shift:shift + points], psi0[:, shift:shift + points] = cases["V"], cases["psi0"]
    return {**cases, "V": V, "psi0": psi0, "length": BOX_FACTOR * cases["length"]}


def curves(predicted: np.ndarray, truth: np.ndarray, dx: float) -> dict:
    return {"correlation": metrics.normalized_correlation(predicted, truth),
            "mae": metrics.mae_components(predicted, truth), "norm": (np.abs(predicted) ** 2).sum(-1) * dx}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", metavar="NAME=CHECKPOINT")
    parser.add_argument("--panel", default="data/wave_panel.h5")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--box-steps", type=int, default=400)
    parser.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out_dir, exist_ok=True)
    cases = panel_cases(args.panel)
    settings = {"long": (cases, args.steps), "box4": (widen(cases), args.box_steps)}
    truths, began = {}, time.perf_counter()
    for setting, (data, steps) in settings.items():
        truths[setting] = exact(data["psi0"], data["V"], data["length"], data["dt"], SEED_FRAMES + steps)
    wall = {"truth_s": time.perf_counter() - began}
    rows, per_frame, shown = [], {}, {}
    for entry in args.models:
        name, path = entry.split("=", 1)
        model = load_surrogate(path).model
        for setting, (data, steps) in settings.items():
            truth = truths[setting]
            began = time.perf_counter()
            predicted = emulate_frames(model, truth[:, :SEED_FRAMES], data["V"].astype(np.float32), steps)
            wall[f"{name}/{setting}_s"] = time.perf_counter() - began
            found = curves(predicted, truth[:, SEED_FRAMES:], data["length"] / data["V"].shape[1])
            per_frame[f"{name}/{setting}"] = {k: v.mean(0).tolist() for k, v in found.items()}
            for i, case in enumerate(data["name"]):
                rows.append({"model": name, "setting": setting, "case": case, "steps": steps,
                             "mae": float(found["mae"][i].mean()), "correlation": float(found["correlation"][i].mean()),
                             "correlation_final": float(found["correlation"][i, -1]),
                             "norm_error_final": float(abs(found["norm"][i, -1] - 1))})
            if setting == "long":
                shown[name] = {case: predicted[data["name"].index(case)] for case in SHOWN}
        means = {s: {k: float(np.mean([r[k] for r in rows if r["model"] == name and r["setting"] == s]))
                     for k in ("mae", "correlation", "correlation_final", "norm_error_final")} for s in settings}
        print(name, json.dumps(means))
    write_results(args.out_dir, "long_rollouts", rows, {"wall": wall, "per_frame_mean": per_frame})
    plot(args.out_dir, settings, truths, per_frame, shown, cases)


def write_results(out_dir: str, stem: str, rows: list[dict], extra: dict) -> None:
    """STEM.csv (the rows) and STEM.json (the device, the truth and `extra`) in out_dir."""
    with open(os.path.join(out_dir, f"{stem}.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(os.path.join(out_dir, f"{stem}.json"), "w") as fh:
        json.dump({"device": f"CPU ({platform.machine()}, 1 thread)", "truth": "exact fd3 propagation", **extra}, fh)


def plot(out_dir: str, settings: dict, truths: dict, per_frame: dict, shown: dict, cases: dict) -> None:
    figure = plt.figure(figsize=(12, 7), constrained_layout=True)
    top = figure.subfigures(2, 1)
    correlation_axis, norm_axis = top[0].subplots(1, 2)
    dt = cases["dt"]
    for key, found in per_frame.items():
        t = dt * (SEED_FRAMES + np.arange(len(found["correlation"])))
        correlation_axis.plot(t, found["correlation"], label=key)
        norm_axis.plot(t, found["norm"], label=key)
    correlation_axis.set(xlabel="t", ylabel="⟨C⟩ over the 25 barrier cases")
    norm_axis.set(xlabel="t", ylabel="⟨∫|ψ|²dx⟩")
    correlation_axis.legend(fontsize=7)
    snapshot_axes = top[1].subplots(1, len(SHOWN))
    x = np.arange(cases["V"].shape[1]) * cases["length"] / cases["V"].shape[1]
    last = settings["long"][1] - 1
    frames = sorted({min(frame, last) for frame in (0, 99, 399, last)})
    for axis, case in zip(snapshot_axes, SHOWN):
        i = cases["name"].index(case)
        for j, frame in enumerate(frames):
            offset = 0.6 * j
            axis.plot(x, offset + np.abs(truths["long"][i, SEED_FRAMES + frame]) ** 2, "k", lw=1.2,
                      label="exact" if j == 0 else None)
            for k, (name, predicted) in enumerate(shown.items()):
                axis.plot(x, offset + np.abs(predicted[case][frame]) ** 2, "--", color=f"C{k}", lw=1,
                          label=name if j == 0 else None)
            axis.text(1, offset + 0.05, f"t = {dt * (SEED_FRAMES + frame):g}", fontsize=7)
        axis.fill_between(x, 0, cases["V"][i] / cases["V"][i].max() * 0.3 if cases["V"][i].max() > 0 else 0,
                          color="0.85", zorder=0)
        axis.set(title=case, xlabel="x", ylabel="|ψ|² (offset per time)")
        axis.legend(fontsize=7)
    figure.savefig(os.path.join(out_dir, "long_rollouts.png"), dpi=110)


if __name__ == "__main__":
    main()
