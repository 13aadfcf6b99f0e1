"""Experiment 8c, result 11: how a climate-loss training run's pool drifts, step by step.

Reads the running offsets ō/σ that `graphqd train` logs for each climate statistic (`train/climate_<name>`, in
standard errors of the pool mean; graphqd.train.climate) from the TensorBoard files of the given runs, with
TensorBoard's own reader, and writes them as a CSV, a JSON and a figure (one panel per statistic, one curve per
run).

Usage (from the repository root):
    python experiments/holstein_parc/climate_offsets.py --tag climate_gradient \
        --run "added, seed 1=runs/holstein_parc/deep_chains_climate_unbound_seed1_L8_graph" \
        --run "projected, seed 1=runs/holstein_parc/deep_chains_climate_projected_seed1_L8_graph" \
        --out-dir experiments/holstein_parc/results/long_chains
"""
from __future__ import annotations

import argparse
import csv
import json
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

PREFIX = "train/climate_"


def offsets(run_dir: str) -> dict[str, list[tuple[int, float]]]:
    """{statistic: [(optimiser step, offset in standard errors)]} of one run directory."""
    events = EventAccumulator(run_dir, size_guidance={"scalars": 0})
    events.Reload()
    return {tag[len(PREFIX):]: [(e.step, e.value) for e in events.Scalars(tag)]
            for tag in events.Tags()["scalars"] if tag.startswith(PREFIX)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", required=True, metavar="NAME=RUN_DIR")
    parser.add_argument("--tag", required=True)
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args()
    runs = {}
    for item in args.run:
        name, run_dir = item.split("=", 1)
        runs[name] = offsets(run_dir)
        if not runs[name]:
            parser.error(f"--run '{item}': {run_dir} has no {PREFIX}* scalars (a run with train.climate_weight)")
    statistics = list(next(iter(runs.values())))
    os.makedirs(args.out_dir, exist_ok=True)
    stem = os.path.join(args.out_dir, f"climate_offsets_{args.tag}")
    with open(stem + ".csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["run", "statistic", "step", "offset_standard_errors"])
        for name, series in runs.items():
            for statistic, values in series.items():
                writer.writerows([name, statistic, step, f"{value:.4g}"] for step, value in values)
    with open(stem + ".json", "w") as handle:
        json.dump({"runs": {name: {statistic: values for statistic, values in series.items()}
                            for name, series in runs.items()}}, handle, indent=1)
    fig, axes = plt.subplots(1, len(statistics), figsize=(3.2 * len(statistics), 3.0), sharex=True)
    for axis, statistic in zip(axes, statistics):
        for name, series in runs.items():
            steps, values = zip(*series.get(statistic, [(0, float("nan"))]))
            axis.plot(steps, values, marker=".", label=name)
        axis.axhline(0.0, color="k", lw=0.5)
        axis.set_title(statistic)
        axis.set_xlabel("optimiser step")
    axes[0].set_ylabel("pool offset (standard errors)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(stem + ".png", dpi=120)
    for name, series in runs.items():
        last = {statistic: values[-1][1] for statistic, values in series.items()}
        print(f"{name:32s} step {series[statistics[0]][-1][0]:4d}  "
              + "  ".join(f"{s} {v:+.1f}" for s, v in last.items()))


if __name__ == "__main__":
    main()
