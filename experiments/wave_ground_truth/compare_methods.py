"""How far apart the wave ground truths are (DESIGN.md §3.2).

For a few barrier cases, propagates the same packets by the paper's space-splitting
(fd3 + split, internal step 0.0005), by exact propagation of the same fd3 discretisation,
and by exact propagation of the spectral discretisation, and writes the mean |Δψ| over the
grid at t = 10 and t = 50 to results/compare_methods.{csv,json}.

    .venv/bin/python experiments/wave_ground_truth/compare_methods.py
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import time

import torch

from graphqd.physics import schrodinger

CASES = [(40.0, 2.0, 4.0, 7.0), (10.0, 1.0, 9.0, 7.0), (70.0, 4.0, 1.0, 14.0), (40.0, 1.0, 9.0, 1.0)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    parser.add_argument("--internal-dt", type=float, default=0.0005)
    args = parser.parse_args()
    x = schrodinger.grid(1024, 100.0)
    X0, S0, E0, height = (torch.tensor(column, dtype=torch.float64) for column in zip(*CASES))
    psi0 = schrodinger.packet(x, X0, S0, E0)
    V = schrodinger.barrier(x, height, torch.full_like(height, 7.0), torch.full_like(height, 50.0))
    began = time.perf_counter()
    split = schrodinger.simulate(psi0, V, x, 0.1, 500, "fd3", "split", args.internal_dt)
    fd3 = schrodinger.simulate(psi0, V, x, 0.1, 500, "fd3", "exact")
    spectral = schrodinger.simulate(psi0, V, x, 0.1, 500, "spectral", "exact")
    seconds = time.perf_counter() - began
    rows = []
    for k, (x0, s0, e0, h) in enumerate(CASES):
        row = {"X0": x0, "S0": s0, "E0": e0, "barrier_height": h}
        for step in (100, 500):
            t = step * 0.1
            row[f"split_vs_exact_fd3_t{t:g}"] = float((split[k, step] - fd3[k, step]).abs().mean())
            row[f"fd3_vs_spectral_t{t:g}"] = float((fd3[k, step] - spectral[k, step]).abs().mean())
            row[f"mean_abs_psi_t{t:g}"] = float(fd3[k, step].abs().mean())
        rows.append(row)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "compare_methods.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(os.path.join(args.out, "compare_methods.json"), "w") as fh:
        json.dump({"internal_dt": args.internal_dt, "seconds": seconds, "device": "cpu", "cases": rows}, fh, indent=2)
    for row in rows:
        print(", ".join(f"{k} {v:.3g}" for k, v in row.items()))


if __name__ == "__main__":
    main()
