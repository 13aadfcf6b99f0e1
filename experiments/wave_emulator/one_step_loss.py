"""One-step loss of wave emulators on the training curriculum, on two draws of windows: ours
(`WaveWindows.batch_sampler`, the trainer's) and the published code's (per run, 90 % of the start
frames and, per frame, 10 % of the positions without replacement, windows that overlap the barrier
weighted 50). The loss is the trainer's with `train.loss_units: raw`: the MSE of the new frame's
(Re ψ, Im ψ), the quantity the published run logs as `train_loss`. Given the published weights
(published_weights.py), this says whether its logged loss and ours measure the same windows.

    python experiments/wave_emulator/one_step_loss.py published=runs/published_gru/step_05290000.pt \
        gru5m=experiments/wave_emulator/pretrained/gru5m.pt --data data/wave_curriculum.h5

Writes results/one_step_loss.{csv,json} (mean and spread over batches, the device and wall time).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import time

import numpy as np
import torch

from graphqd.runtime.surrogate import load_surrogate, surrogate_samples
from graphqd.train.objective import RolloutObjective

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 128


def our_batches(data, count: int, seed: int) -> list[list[int]]:
    """`count` batches of the trainer's sampler, spread over its schedule of active runs."""
    sampler = data.batch_sampler(BATCH, seed=seed)
    return [sampler.batch(b * 97) for b in range(count)]


def published_batches(data, count: int, seed: int, frames_per_run: int = 8) -> list[list[int]]:
    """`count` batches of windows drawn as the published code writes its training set, from random runs."""
    rng = np.random.default_rng(seed)
    starts, points = len(data.starts), data.points
    indices = []
    while len(indices) < count * BATCH:
        slot = int(rng.integers(len(data.runs)))
        weights = data.position_weights(data.runs[slot])
        frames = rng.choice(starts, int(0.9 * starts), replace=False)[:frames_per_run]
        for start in frames:
            positions = rng.choice(points, int(0.1 * points), p=weights / weights.sum(), replace=False)
            indices += ((slot * starts + start) * points + positions).tolist()
    indices = rng.permutation(indices)[:count * BATCH]
    return [indices[b * BATCH:(b + 1) * BATCH].tolist() for b in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", metavar="NAME=CHECKPOINT")
    parser.add_argument("--data", default="data/wave_curriculum.h5")
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    models = {name: load_surrogate(path) for name, path in (entry.split("=", 1) for entry in args.models)}
    data = surrogate_samples(next(iter(models.values())), args.data)
    draws = {"ours": our_batches(data, args.batches, args.seed),
             "published": published_batches(data, args.batches, args.seed)}
    objectives = {name: RolloutObjective(surrogate.model, data.state_keys, state_at=data.state_at, raw_units=True,
                                         scored=data.scored) for name, surrogate in models.items()}
    rows, began = [], time.perf_counter()
    for draw, batches in draws.items():
        losses = {name: [] for name in models}
        for indices in batches:
            batch = data.collate(indices)
            for name, objective in objectives.items():
                with torch.no_grad():
                    losses[name].append(float(objective(batch, 1)[0]))
        for name, values in losses.items():
            values = np.asarray(values)
            rows.append({"model": name, "windows": draw, "steps_trained": models[name].step,
                         "mse": float(values.mean()), "sem": float(values.std(ddof=1) / np.sqrt(len(values))),
                         "median_batch": float(np.median(values))})
            print(f"{name:12s} {draw:10s} one-step MSE {values.mean():.3g} ± {rows[-1]['sem']:.2g}")
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "one_step_loss.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(os.path.join(args.out_dir, "one_step_loss.json"), "w") as fh:
        json.dump({"device": f"CPU ({platform.machine()}, 1 thread)", "wall_s": time.perf_counter() - began,
                   "batches": args.batches, "batch_size": BATCH, "seed": args.seed, "data": args.data,
                   "models": {name: os.path.abspath(s.path) for name, s in models.items()}, "rows": rows},
                  fh, indent=1)


if __name__ == "__main__":
    main()
