"""Size transfer: the metal–insulator wall of a force field trained on 20 × 14, run on larger lattices,
against the exact NEGF run on the largest lattice the exact path affords.

    graphqd simulate negf --config experiments/negf_forcefield/transfer.yaml --out data/negf_transfer_exact_40x14.h5
    graphqd simulate negf --config experiments/negf_forcefield/transfer.yaml --out data/negf_transfer_graph_40x14.h5 \\
        --set force.checkpoint=experiments/negf_forcefield/pretrained/forcefield_graph.pt
    graphqd simulate negf --config experiments/negf_forcefield/transfer.yaml --out data/negf_transfer_graph_400x300.h5 \\
        --set force.checkpoint=... --set lattice.Lx=400 --set lattice.Ly=300
    python experiments/negf_forcefield/transfer.py --runs "exact 40x14=data/negf_transfer_exact_40x14.h5" \\
        "graph 40x14=data/negf_transfer_graph_40x14.h5" "graph 400x300=data/negf_transfer_graph_400x300.h5" \\
        --out experiments/negf_forcefield/results

Per run: the wall position from the gated (left) electrode (`graphqd.evaluate.cdw_domains`, half the bulk
order of the initial state), its velocity while it crosses columns 5 … 15 (the same stretch on every
lattice), and the number of metallic columns (φ < bulk/2) against time. Writes transfer.csv,
transfer.json and transfer.png.
"""
from __future__ import annotations

import argparse
import csv
import json
import os

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from graphqd.evaluate import cdw_domains  # noqa: E402

COLUMNS = (5.0, 15.0)  # stretch over which the wall velocity is fitted


def wall(path: str) -> dict:
    with h5py.File(path, "r") as h:
        t, Q = torch.as_tensor(h["t"][()]), torch.as_tensor(h["Q"][0], dtype=torch.float64)
        Lx, Ly, force = int(h.attrs["Lx"]), int(h.attrs["Ly"]), str(h.attrs.get("force_field", "exact NEGF"))
    phi = cdw_domains.column_order_parameter(Q)
    bulk = float(cdw_domains.bulk_order_parameter(phi[0]))
    position = cdw_domains.domain_wall_position(phi, bulk, "left")
    metallic = cdw_domains.metallic_fraction(phi, bulk) * Lx
    return {"t": t.numpy(), "position": position.numpy(), "metallic_columns": metallic.numpy(), "Lx": Lx, "Ly": Ly,
            "force_field": force, "velocity": float(cdw_domains.domain_wall_velocity(t, position, *COLUMNS))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", nargs="+", required=True, metavar="LABEL=STORE", help="the first is the exact reference")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    runs = {label: wall(path) for label, _, path in (item.partition("=") for item in args.runs)}
    reference = next(iter(runs.values()))
    summary = {label: {"Lx": r["Lx"], "Ly": r["Ly"], "force_field": r["force_field"], "velocity": r["velocity"],
                       "velocity_relative_error": r["velocity"] / reference["velocity"] - 1,
                       "metallic_columns_final": float(r["metallic_columns"][-1])} for label, r in runs.items()}
    with open(os.path.join(args.out, "transfer.json"), "w") as fh:
        json.dump({"velocity_columns": COLUMNS, "runs": summary}, fh, indent=2)
    with open(os.path.join(args.out, "transfer.csv"), "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["t", *[f"{label} wall" for label in runs], *[f"{label} metallic columns" for label in runs]])
        for k, time in enumerate(reference["t"]):
            writer.writerow([time, *[r["position"][k] for r in runs.values()],
                             *[r["metallic_columns"][k] for r in runs.values()]])
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
    for label, r in runs.items():
        style = "-" if label == next(iter(runs)) else "--"
        a.plot(r["t"], r["position"], style, label=f"{label} (v = {r['velocity']:.3g})")
        b.plot(r["t"], r["metallic_columns"], style, label=label)
    a.set(xlabel="t", ylabel="wall position (columns from the gated lead)", ylim=(-1, 40))
    b.set(xlabel="t", ylabel="metallic columns", ylim=(0, 40))
    a.legend(fontsize=8)
    b.legend(fontsize=8)
    fig.savefig(os.path.join(args.out, "transfer.png"), dpi=110)
    plt.close(fig)
    for label, s in summary.items():
        print(f"{label}: wall velocity {s['velocity']:.4g} ({100 * s['velocity_relative_error']:+.1f} % against "
              f"{next(iter(runs))}), {s['metallic_columns_final']:.1f} metallic columns at the end")


if __name__ == "__main__":
    main()
