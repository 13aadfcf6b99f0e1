"""The one-step training loss of the published GRU run against ours, step by step.

The published repository (yaoyu-33/quantum_dynamics_machine_learning) keeps the TensorBoard log of its
5.29 M-step GRU run (`models_checkpoints/full-gru/logs/*/events.*`, tag `train_loss`: the mean over each
1,000 steps of the plain MSE of ψ). This script reads it beside the `train/loss` of our runs, converts
runs trained in normalized units (`train.loss_units: normalized`) to the plain MSE of ψ with their
stored σ_Δ², and writes the curves (PNG) and their values at a few steps (CSV, JSON). Both are means over
each logging interval of the MSE of the new frame.

    python experiments/wave_emulator/published_loss.py --published PATH/full-gru/logs \
        gru_paper=runs/wave_gru_paper --out experiments/wave_emulator/results
"""
from __future__ import annotations

import argparse
import csv
import json
import os

import numpy as np

STEPS = [1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000, 2_000_000, 5_000_000]


def published_curve(logs: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, loss) of the published log directory (TF2 summaries, tag train_loss)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    steps, loss = [], []
    for root, _, files in os.walk(logs):
        if not any(name.startswith("events.") for name in files):
            continue
        events = EventAccumulator(root, size_guidance={"tensors": 0})
        events.Reload()
        if "train_loss" in events.Tags()["tensors"]:
            for event in events.Tensors("train_loss"):
                steps.append(event.step)
                loss.append(float(tensor_util.make_ndarray(event.tensor_proto)))
    if not steps:
        raise SystemExit(f"no TensorBoard tag 'train_loss' under '{logs}'")
    order = np.argsort(steps, kind="stable")
    return np.asarray(steps)[order], np.asarray(loss)[order]


def our_curve(run_dir: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, plain MSE of ψ) of one of our runs."""
    import yaml
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from graphqd.runtime import checkpoint as ckpt

    events = EventAccumulator(run_dir, size_guidance={"scalars": 0})
    events.Reload()
    scalars = events.Scalars("train/loss")
    with open(os.path.join(run_dir, "config.yaml")) as handle:
        config = yaml.safe_load(handle)
    scale = 1.0
    if config["train"].get("loss_units", "normalized") == "normalized":
        stats = ckpt.load(ckpt.list_checkpoints(run_dir)[-1]).normalization["stats"]["psi"]
        scale = float(np.mean(np.square(stats["step_std"])))
    return np.array([s.step for s in scalars]), np.array([s.value for s in scalars]) * scale


def near(steps: np.ndarray, values: np.ndarray, step: int) -> float:
    """The value logged at `step` or the first record after it (NaN past the end)."""
    i = int(np.searchsorted(steps, step))
    if i >= len(steps) or abs(int(steps[i]) - step) > 0.05 * step:
        return float("nan")
    return float(values[i])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="NAME=RUN_DIR of our runs")
    parser.add_argument("--published", required=True, help="the published run's log directory")
    parser.add_argument("--out", default="experiments/wave_emulator/results")
    args = parser.parse_args()

    curves = {"published": published_curve(args.published)}
    for item in args.runs:
        name, _, path = item.partition("=")
        curves[name] = our_curve(path)
    rows = [{"step": step, **{name: near(*curve, step) for name, curve in curves.items()}} for step in STEPS]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "published_loss.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(os.path.join(args.out, "published_loss.json"), "w") as handle:
        json.dump({"quantity": "plain MSE of the new frame of psi, mean over each logging interval", "rows": rows,
                   "hardware": "2-core x86-64 CPU", "runs": args.runs}, handle, indent=1)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, (steps, values) in curves.items():
        ax.loglog(steps, values, lw=1, label=name)
    ax.set_xlabel("training step")
    ax.set_ylabel("one-step MSE of ψ")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "published_loss.png"), dpi=120)
    for row in rows:
        print("  ".join(f"{key} {value:.3g}" if isinstance(value, float) else f"{key} {value}"
                        for key, value in row.items()))


if __name__ == "__main__":
    main()
