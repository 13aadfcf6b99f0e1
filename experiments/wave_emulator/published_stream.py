"""The order of the published GRU's training windows, read off its own loss log.

The published data notebook deals each run's windows round robin into F = 1,000 tfrecord files, visiting the
runs in one shuffled order, and its reader interleaves c files at a time (tf.data's choice, not in the code), so
its stream passes through all R = 2,646 runs in a fixed order every

    T = c · (R · 45,492 / F) / 128 = c × 940.4 optimiser steps,

and the difficulty of the runs it is passing through makes the training loss periodic in T
(`graphqd.data.wave.PublishedStreamSampler`). The published log holds 1,000-step means of the loss
(`published_loss.py`), sampled more coarsely than T, so the periodogram of the detrended log shows the fundamental
1/T and its harmonics folded into the band below 0.5 per 1,000 steps. This script finds the three strongest peaks
there and the fundamental whose first three harmonics fold onto all of them; of its aliases (F and m ± F fold alike)
it keeps the one that makes c a whole number of files, and prints the period and c. It does the same for our runs
(`--runs`), where `data.order: published` shows T for its own R and the default order shows none. Writes
published_stream.json and published_stream.png (the periodograms).

    python experiments/wave_emulator/published_stream.py --published PATH/full-gru/logs \\
        --runs gru_paper=runs/wave_gru_paper gru_paper_order=runs/wave_gru_paper_order \\
        --out experiments/wave_emulator/results
"""
from __future__ import annotations

import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.ndimage import median_filter  # noqa: E402

from published_loss import our_curve, published_curve  # noqa: E402  (this folder)

STEPS_PER_FILE_PASS = 2646 * 45492 / 1000 / 128   # 940.4 steps: one pass of one file through every run
LOG_EVERY = 1000


def periodogram(steps: np.ndarray, loss: np.ndarray, first: int, frequencies: np.ndarray) -> np.ndarray:
    """Power of the log-loss (1,000-step means from step `first` on, a 31-point running median removed) at
    `frequencies` per logged interval."""
    kept = steps >= first
    values = np.log(loss[kept])
    residual = values - median_filter(values, 31, mode="nearest")
    residual -= residual.mean()
    phase = np.exp(-2j * np.pi * np.outer(frequencies, np.arange(len(residual))))
    return np.abs(phase @ residual) ** 2 / len(residual)


def folded(frequency: float) -> float:
    """Where a frequency (per logged interval) shows in 1,000-step samples: its distance to the nearest integer."""
    return abs(frequency - round(frequency))


def fundamental(peaks: list[float], harmonics: int = 3, tolerance: float = 2e-4) -> dict:
    """The fundamental F whose harmonics 1 … `harmonics` fold onto every peak, among the aliases m ± p of the
    peaks, choosing between the aliases that explain all of them the one whose c = T / 940.4 is nearest an
    integer (the reader interleaves whole files). Returns F, its period T in steps, c and the rejected aliases."""
    explained = []
    for p in peaks:
        for m in range(4):
            for F in (m + p, m - p):
                if F > 0 and all(min(abs(folded(k * F) - q) for k in range(1, harmonics + 1)) < tolerance
                                 for q in peaks):
                    explained.append(F)
    periods = sorted({round(LOG_EVERY / F, 1) for F in explained}, reverse=True)
    if not periods:
        return {"period_steps": None, "interleave_c": None, "rejected_periods": []}
    best = min(periods, key=lambda T: abs(T / STEPS_PER_FILE_PASS - round(T / STEPS_PER_FILE_PASS)))
    return {"period_steps": best, "interleave_c": best / STEPS_PER_FILE_PASS,
            "rejected_periods": [T for T in periods if T != best]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--published", required=True, help="the published run's log directory")
    parser.add_argument("--runs", nargs="*", default=[], metavar="NAME=RUN_DIR", help="our runs, for comparison")
    parser.add_argument("--first", type=int, default=20_000, help="first step used (after the warm-up's fall)")
    parser.add_argument("--out", default="experiments/wave_emulator/results")
    args = parser.parse_args()
    frequencies = np.linspace(0.02, 0.5, 9_601)
    curves = {"published": published_curve(args.published)}
    curves.update({name: our_curve(path) for name, path in (item.split("=", 1) for item in args.runs)})
    result, powers = {}, {}
    for name, (steps, loss) in curves.items():
        power = periodogram(steps, loss, args.first, frequencies)
        powers[name] = power / np.median(power)
        peaks, left = [], powers[name].copy()
        for _ in range(3):   # the three strongest peaks, each refined on a grid 100× finer
            i = int(np.argmax(left))
            fine = np.linspace(frequencies[max(i - 1, 0)], frequencies[min(i + 1, len(frequencies) - 1)], 201)
            refined = periodogram(steps, loss, args.first, fine)
            peaks.append({"frequency": float(fine[refined.argmax()]),
                          "power_over_median": float(refined.max() / np.median(power))})
            left[np.abs(frequencies - frequencies[i]) < 0.01] = 0
        result[name] = {"steps_logged": int((steps >= args.first).sum()), "peaks": peaks,
                        **fundamental([p["frequency"] for p in peaks])}
        found = result[name]
        print(f"{name}: peaks at " + ", ".join(f"{p['frequency']:.5f} ({p['power_over_median']:.0f}× median)"
                                               for p in peaks) + f" per {LOG_EVERY} steps; " +
              (f"harmonics of one period of {found['period_steps']:.1f} steps = c × 940.4 with c = "
               f"{found['interleave_c']:.4f} (aliases rejected: {found['rejected_periods']})"
               if found["period_steps"] else "no common period"))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "published_stream.json"), "w") as handle:
        json.dump({"first_step": args.first, "steps_per_file_pass": STEPS_PER_FILE_PASS, "runs": result}, handle,
                  indent=2)
    fig, axes = plt.subplots(len(curves), 1, figsize=(7, 1.9 * len(curves)), sharex=True, squeeze=False,
                             constrained_layout=True)
    for ax, (name, power) in zip(axes[:, 0], powers.items()):
        ax.semilogy(frequencies, power, lw=0.6)
        period = result[name]["period_steps"]
        ax.set(ylabel="power / median", title=f"{name}: " + (f"period {period:.0f} steps (c = "
                                                             f"{result[name]['interleave_c']:.2f})" if period
                                                             else "no common period"))
    axes[-1, 0].set_xlabel(f"frequency (per {LOG_EVERY} steps) of the detrended log of the 1,000-step mean loss")
    fig.savefig(os.path.join(args.out, "published_stream.png"), dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
