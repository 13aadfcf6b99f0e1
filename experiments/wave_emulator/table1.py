"""Table 1 of Yao et al. (Front. Mater. 9:1060744 (2023)) on our 37-case panel: every emulator
given as NAME=CHECKPOINT, rolled out 400 steps from 4 seed frames, against the paper's
space-splitting truth and against exact propagation of the same discretisation.

    python experiments/wave_emulator/table1.py gru=runs/wave_gru kernel=runs/wave_kernel \
        --panel data/wave_panel.h5 --panel-exact data/wave_panel_exact.h5

Writes results/table1.csv (one row per model, truth and group), results/table1.json (with
per-case numbers, the device and wall times) and results/table1.png (⟨C⟩ and MAE per frame
over the 25 barrier cases). Several checkpoints of one model (training seeds) given as
NAME=A,B,... are reported as their mean and spread. With --append the models join those of the
existing results/table1.json (a model of the same name is replaced). The published GRU's own
weights enter as a model file made by published_weights.py. Each truth is named from
its store (`--panel` and `--panel-exact` may be any two panel stores, e.g. spectral-Laplacian
ones with `--out-dir results/spectral`; `--panel-exact ''` scores against --panel alone).
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

from graphqd.evaluate.wave_metrics import evaluate  # noqa: E402
from graphqd.runtime.surrogate import load_surrogate  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
COLUMNS = ("mae", "mae_modulus", "correlation", "norm_error_final")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", metavar="NAME=CHECKPOINT[,CHECKPOINT...]",
                        help="models to evaluate (none with --append: redraw the figure from table1.json)")
    parser.add_argument("--panel", default="data/wave_panel.h5")
    parser.add_argument("--panel-exact", default="data/wave_panel_exact.h5")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    parser.add_argument("--append", action="store_true", help="add to the models of the existing table1.json")
    parser.add_argument("--plot", nargs="+", metavar="NAME",
                        help="the models drawn in table1.png (default: all); the table keeps every model")
    args = parser.parse_args()
    if not args.models and not args.append:
        parser.error("name at least one model, or redraw with --append")
    torch.set_num_threads(1)
    os.makedirs(args.out_dir, exist_ok=True)
    rows, details, curves = [], {}, {}
    plotted = truth_name(args.panel) if os.path.exists(args.panel) else "space-splitting"  # the figure's truth
    if args.append:
        with open(os.path.join(args.out_dir, "table1.json")) as fh:
            old = json.load(fh)
        names = {entry.split("=", 1)[0] for entry in args.models}
        rows = [row for row in old["rows"] if row["model"] not in names]
        details = {key: value for key, value in old["details"].items() if key.split(" / ")[0] not in names}
        for key, results in details.items():
            name, truth = key.split(" / ")
            if truth == plotted:
                curves[name] = _curves(results)
    for entry in args.models:
        name, paths = entry.split("=", 1)
        for store in (args.panel, args.panel_exact):
            if not os.path.exists(store):
                continue
            truth = truth_name(store)
            results = []
            for path in paths.split(","):
                began = time.perf_counter()
                result = evaluate(load_surrogate(path), store, args.steps)
                result["wall_s"] = time.perf_counter() - began
                results.append(result)
            details[f"{name} / {truth}"] = results
            if truth == plotted:
                curves[name] = _curves(results)
            for group in ("barrier", "free", "all"):
                values = {c: [r["groups"][group][c] for r in results] for c in COLUMNS}
                rows.append({"model": name, "truth": truth, "group": group, "seeds": len(results),
                             "parameters": results[0]["parameter_count"],
                             "steps_trained": results[0]["checkpoint_step"],
                             **{c: float(np.mean(v)) for c, v in values.items()},
                             **{f"{c}_spread": float(np.ptp(v)) for c, v in values.items()}})
    with open(os.path.join(args.out_dir, "table1.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(os.path.join(args.out_dir, "table1.json"), "w") as fh:
        json.dump({"device": f"CPU ({platform.machine()}, 1 thread)",
                   "rows": rows, "details": details}, fh, indent=1)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for name, (correlation, mae) in curves.items():
        if args.plot and name not in args.plot:
            continue
        frames = np.arange(1, len(correlation) + 1)
        left.plot(frames, correlation, label=name)
        right.semilogy(frames, mae, label=name)
    left.axhline(0.998, color="0.6", ls=":", label="target 0.998")
    left.set(xlabel="emulated frame", ylabel="⟨C⟩, 25 barrier cases", title="normalised correlation")
    right.set(xlabel="emulated frame", ylabel="⟨MAE⟩, 25 barrier cases", title="MAE (published code's)")
    left.legend()
    figure.savefig(os.path.join(args.out_dir, "table1.png"), dpi=110)
    for row in rows:
        print(f"{row['model']:10s} {row['truth']:16s} {row['group']:8s} MAE {row['mae']:.4g}"
              f"  C {row['correlation']:.4f}"
              f"  |norm err| {row['norm_error_final']:.3g}")


def truth_name(store: str) -> str:
    """The ground truth of a panel store: "space-splitting" (the paper's, fd3), "split-step FFT"
    (spectral) or "exact fd3" / "exact spectral" (exact propagation in time)."""
    with h5py.File(store, "r") as fh:
        laplacian, propagator = str(fh.attrs["laplacian"]), str(fh.attrs["propagator"])
    if propagator == "exact":
        return f"exact {laplacian}"
    return "space-splitting" if laplacian == "fd3" else "split-step FFT"


def _curves(results: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """⟨C⟩ and ⟨MAE⟩ per frame over the barrier cases, mean over seeds."""
    return (np.mean([r["groups"]["barrier"]["per_frame"]["correlation"] for r in results], 0),
            np.mean([r["groups"]["barrier"]["per_frame"]["mae"] for r in results], 0))


if __name__ == "__main__":
    main()
