"""Issue 6, experiment 3: rollout error against the prediction window, shallow vs deep quench.

Each model is rolled out from many stored states of its held-out store (not only t = 0;
graphqd.evaluate.holstein_metrics.window_rmse) and its RMSE_total after h steps is divided
by the climate scale σ of that store, so the shallow (coherent) and deep (chaotic) quench
read on one axis. The window where RMSE/σ first exceeds 0.5 is reported too.

    python experiments/holstein_parc/prediction_window.py \
        --model shallow/graph=runs/holstein_parc/shallow_small_graph --shallow-test data/shallow_test.h5 \
        --model deep/graph=runs/holstein_parc/deep_small_graph --deep-test data/deep_test.h5
"""
from __future__ import annotations

import argparse
import csv
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from graphqd.evaluate.holstein_metrics import window_rmse  # noqa: E402
from graphqd.runtime.surrogate import load_surrogate  # noqa: E402
from sweep_common import device_name, write_results  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, help="QUENCH/NAME=RUN_DIR_OR_FILE, QUENCH shallow|deep")
    parser.add_argument("--shallow-test", default="data/shallow_test.h5")
    parser.add_argument("--deep-test", default="data/deep_test.h5")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--shallow-starts", type=int, nargs="+", default=[0, 500, 1000, 1500, 2000])
    parser.add_argument("--deep-starts", type=int, nargs="+", default=list(range(1000, 9000, 1000)))
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    args = parser.parse_args()

    rows, curves = [], {}
    for spec in args.model:
        label, path = spec.split("=", 1)
        quench = label.split("/")[0]
        test, starts = (args.shallow_test, args.shallow_starts) if quench == "shallow" else (args.deep_test, args.deep_starts)
        surrogate = load_surrogate(path)
        result = window_rmse(surrogate, test, args.steps, starts)
        curve = np.array(result["total"]) / result["climate_scale"]
        curves[label] = (result["dt"], curve)
        crossed = np.nonzero(curve > args.threshold)[0]
        rows.append({"model": label, "checkpoint": path, "parameters": surrogate.parameter_count,
                     "climate_scale": result["climate_scale"], "rollouts": result["starts"],
                     "rmse_over_sigma_h1": curve[0], "rmse_over_sigma_h10": curve[9], "rmse_over_sigma_h100": curve[99],
                     f"rmse_over_sigma_h{args.steps}": curve[-1],
                     "window_below_threshold": float(result["dt"] * (crossed[0] if len(crossed) else len(curve)))})
        print(rows[-1], flush=True)
    columns = list(rows[0])
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "prediction_window_curves.csv"), "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step"] + list(curves))
        for h in range(args.steps):
            writer.writerow([h + 1] + [f"{c[h]:.6g}" for _, c in curves.values()])
    write_results(args.out_dir, "prediction_window", rows, columns,
                  {"experiment": "issue 6 exp. 3: rollout RMSE/σ vs prediction window, shallow vs deep",
                   "threshold": args.threshold, "shallow_test": args.shallow_test, "deep_test": args.deep_test,
                   "shallow_starts": args.shallow_starts, "deep_starts": args.deep_starts})
    fig, ax = plt.subplots(figsize=(6.5, 4), constrained_layout=True)
    for label, (dt, curve) in curves.items():
        ax.semilogy(dt * np.arange(1, len(curve) + 1), curve, "-" if label.startswith("shallow") else "--", label=label)
    ax.axhline(args.threshold, color="grey", lw=0.8)
    ax.set(xlabel="prediction window (time)", ylabel="RMSE_total / σ_climate",
           title=f"held-out states; {device_name()}")
    ax.title.set_fontsize(8)
    ax.legend(fontsize=8)
    fig.savefig(os.path.join(args.out_dir, "prediction_window.png"), dpi=110)


if __name__ == "__main__":
    main()
