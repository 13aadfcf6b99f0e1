"""Generalisation (experiment 3; the paper's Fig. 6, which published no numbers): ⟨C⟩ over 400
steps against the packet's initial spread S₀ and energy E₀ and the rectangular barrier's width
and height, one swept at a time from S₀ = 2, E₀ = 5, width 7, height 7 (the packet at X₀ = 25,
the barrier centred at 50). The training curriculum's values (S₀ 1 … 4, E₀ 1 … 9, height
1 … 14, width 7) are shaded. Truth: exact fd3 propagation (`long_rollouts.exact`).

    python experiments/wave_emulator/generalisation.py gru=runs/wave_gru kernel=runs/wave_strang

Writes results/generalisation.{csv,json,png}.
"""
from __future__ import annotations

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from long_rollouts import exact, write_results

from graphqd.evaluate import metrics
from graphqd.evaluate.wave_rollout import SEED_FRAMES, emulate_frames
from graphqd.physics import schrodinger
from graphqd.physics.wave_panel import CURRICULUM_E0, CURRICULUM_HEIGHTS, CURRICULUM_S0, CURRICULUM_WIDTH
from graphqd.runtime.surrogate import load_surrogate

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = {"S0": 2.0, "E0": 5.0, "width": 7.0, "height": 7.0}
SWEEPS = {"S0": (0.5, 0.75, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0),
          "E0": (0.5, 1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0),
          "width": (1.0, 2.0, 4.0, 7.0, 10.0, 15.0, 20.0, 30.0),
          "height": (0.0, 2.0, 5.0, 7.0, 10.0, 14.0, 18.0, 22.0, 28.0)}
TRAINED = {"S0": (min(CURRICULUM_S0), max(CURRICULUM_S0)), "E0": (min(CURRICULUM_E0), max(CURRICULUM_E0)),
           "width": (CURRICULUM_WIDTH, CURRICULUM_WIDTH), "height": (min(CURRICULUM_HEIGHTS), max(CURRICULUM_HEIGHTS))}
X0, CENTRE, DT = 25.0, 50.0, 0.1


def cases() -> list[dict]:
    out = []
    for swept, values in SWEEPS.items():
        for value in values:
            out.append({**BASE, swept: value, "swept": swept, "value": value})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", metavar="NAME=CHECKPOINT")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out_dir, exist_ok=True)
    x = schrodinger.grid()
    runs = cases()
    V = torch.stack([schrodinger.barrier(x, c["height"], c["width"], CENTRE) for c in runs]).numpy()
    psi0 = torch.stack([schrodinger.packet(x, X0, c["S0"], c["E0"]) for c in runs]).numpy()
    began = time.perf_counter()
    truth = exact(psi0, V, schrodinger.box_length(x), DT, SEED_FRAMES + args.steps)
    wall = {"truth_s": time.perf_counter() - began}
    rows = []
    for entry in args.models:
        name, path = entry.split("=", 1)
        began = time.perf_counter()
        predicted = emulate_frames(load_surrogate(path).model, truth[:, :SEED_FRAMES], V.astype(np.float32),
                                   args.steps)
        wall[f"{name}_s"] = time.perf_counter() - began
        correlation = metrics.normalized_correlation(predicted, truth[:, SEED_FRAMES:]).mean(-1)
        mae = metrics.mae_components(predicted, truth[:, SEED_FRAMES:]).mean(-1)
        rows += [{"model": name, "swept": c["swept"], "value": c["value"], "correlation": float(correlation[i]),
                  "mae": float(mae[i])} for i, c in enumerate(runs)]
    write_results(args.out_dir, "generalisation", rows,
                  {"base": BASE, "X0": X0, "steps": args.steps, "wall": wall, "rows": rows})
    figure, axes = plt.subplots(1, 4, figsize=(15, 3.6), constrained_layout=True)
    labels = {"S0": "initial spread S₀", "E0": "energy E₀", "width": "barrier width", "height": "barrier height"}
    for axis, swept in zip(axes, SWEEPS):
        low, high = TRAINED[swept]
        if high > low:
            axis.axvspan(low, high, color="0.9", label="trained")
        else:
            axis.axvline(low, color="0.7", lw=4, label="trained")
        for name in dict.fromkeys(r["model"] for r in rows):
            picked = [r for r in rows if r["model"] == name and r["swept"] == swept]
            axis.plot([r["value"] for r in picked], [r["correlation"] for r in picked], "o-", ms=3, label=name)
        axis.set(xlabel=labels[swept], ylabel="⟨C⟩ over 400 steps")
    axes[0].legend(fontsize=7)
    figure.savefig(os.path.join(args.out_dir, "generalisation.png"), dpi=110)


if __name__ == "__main__":
    main()
