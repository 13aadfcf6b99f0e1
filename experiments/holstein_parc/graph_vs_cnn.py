"""Issue 6, experiment 1: graph PARC against CNN PARC over training seeds, from the curves shallow_quench.py wrote.

Reads the per-step RMSE curves of ``shallow_quench.csv`` (the clean quench) and ``shallow_quench_test.csv`` (the
mean over the held-out noisy quenches) in one or more result folders and plots RMSE_Q / A against the rollout
step, A the CDW amplitude of the clean quench (``cdw_amplitude`` in any ``metrics_*.json`` of those folders),
one colour per model family and one line per seed. Writes ``graph_vs_cnn.png`` and ``graph_vs_cnn.csv`` (the
step-400 values) in --out-dir.

Usage (from the repository root):
    python experiments/holstein_parc/graph_vs_cnn.py --results experiments/holstein_parc/results/seed1 \
        --results experiments/holstein_parc/results/onsite \
        --family "CNN PARC=strang_cnn_ft,strang_cnn_ft_s1" --family "graph PARC=strang_graph_ft,strang_graph_ft_s1" \
        --family "graph PARC, on-site phonons=strang_graph_onsite_ft,strang_graph_onsite_ft_s1" \
        --out-dir experiments/holstein_parc/results/onsite
"""
from __future__ import annotations

import argparse
import csv
import glob
import json
import os

import numpy as np


def read_curves(folders: list[str], name: str) -> dict:
    """{column: array} from the CSV `name` of every folder (a later folder's column replaces an earlier one)."""
    curves = {}
    for folder in folders:
        with open(os.path.join(folder, name)) as f:
            rows = list(csv.DictReader(f))
        for column in rows[0]:
            curves[column] = np.array([float(r[column]) for r in rows])
    return curves


def cdw_amplitude(folders: list[str]) -> float:
    for folder in folders:
        for path in sorted(glob.glob(os.path.join(folder, "metrics_*.json"))):
            with open(path) as f:
                return float(json.load(f)["cdw_amplitude"])
    raise SystemExit(f"no metrics_*.json with cdw_amplitude in {folders}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", action="append", required=True, help="folder written by shallow_quench.py")
    ap.add_argument("--family", action="append", required=True, metavar="LABEL=MODEL,MODEL,...")
    ap.add_argument("--step", type=int, default=400, help="step of the table (default 400, t = 32)")
    ap.add_argument("--out-dir", required=True)
    args = ap.parse_args()
    A = cdw_amplitude(args.results)
    quenches = {"clean quench": read_curves(args.results, "shallow_quench.csv"),
                "held-out quenches (mean of 8)": read_curves(args.results, "shallow_quench_test.csv")}
    families = [(label, models.split(",")) for label, models in (f.split("=", 1) for f in args.family)]

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    rows = []
    for ax, (title, curves) in zip(axes, quenches.items()):
        step = curves["step"]
        for colour, (label, models) in zip(("tab:orange", "tab:blue", "tab:green", "tab:red"), families):
            for k, model in enumerate(models):
                column = f"{model}_rmse_Q"
                if column not in curves:
                    raise SystemExit(f"no column {column} in the {title} curves of {args.results}")
                ax.semilogy(step[1:], 100 * curves[column][1:] / A, color=colour, ls=("-", "--", ":")[k % 3],
                            label=f"{label} ({model})")
                rows.append({"quench": title, "family": label, "model": model,
                             f"rmse_Q_step{args.step}_over_A_percent": 100 * curves[column][args.step] / A,
                             f"max_rmse_Q_to_step{args.step}_over_A_percent":
                                 100 * curves[column][1:args.step + 1].max() / A})
        ax.axhline(1.0, color="k", lw=0.8, alpha=0.5)
        ax.set_xlabel("rollout step (Δt = 0.08)")
        ax.set_ylabel("RMSE_Q / A  (%)")
        ax.set_title(title)
    axes[1].legend(fontsize=7, loc="lower right")
    os.makedirs(args.out_dir, exist_ok=True)
    fig.savefig(os.path.join(args.out_dir, "graph_vs_cnn.png"), dpi=130)
    with open(os.path.join(args.out_dir, "graph_vs_cnn.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for r in rows:
        print(f"{r['quench']:30s} {r['model']:28s} " + "  ".join(f"{k} {v:.2f}" for k, v in r.items()
                                                             if k.endswith("percent")))


if __name__ == "__main__":
    main()
