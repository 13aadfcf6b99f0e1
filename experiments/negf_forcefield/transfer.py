"""Size transfer: the metal–insulator wall of a force field trained on 20 × 14, run on larger lattices,
against the exact NEGF run on the largest lattice the exact path affords.

    E=experiments/negf_forcefield
    graphqd simulate negf --config $E/transfer.yaml --out data/negf_transfer_exact_40x14.h5
    graphqd simulate negf --config $E/transfer.yaml --out data/negf_transfer_graph_40x14.h5 \\
        --set force.checkpoint=$E/pretrained/forcefield_graph.pt
    graphqd simulate negf --config $E/transfer.yaml --out data/negf_transfer_graph_400x300.h5 \\
        --set force.checkpoint=$E/pretrained/forcefield_graph.pt --set lattice.Lx=400 --set lattice.Ly=300
    python experiments/negf_forcefield/transfer.py --runs "exact 40x14=data/negf_transfer_exact_40x14.h5" \\
        "graph 40x14=data/negf_transfer_graph_40x14.h5" "graph 400x300=data/negf_transfer_graph_400x300.h5" \\
        --out experiments/negf_forcefield/results

Per run: the wall position from the gated (left) electrode (`graphqd.evaluate.cdw_domains`, half the bulk
order of the initial state), the times it first reaches columns 5, 10, 20 and 30 (the wall advances in
jumps where a layer ahead of it melts at once, so arrival times, not a fitted slope), its mean velocity
from column 5 to 30, and the number of metallic columns (φ < bulk/2) among the first 40 (the stretch
every lattice has) against time. Writes transfer.csv, transfer.json and transfer.png.
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

ARRIVALS = (5, 10, 20, 30)  # columns whose arrival times are compared
WINDOW = 40                 # metallic columns are counted among the first WINDOW


def wall(path: str) -> dict:
    with h5py.File(path, "r") as h:
        t, Q = torch.as_tensor(h["t"][()]), torch.as_tensor(h["Q"][0], dtype=torch.float64)
        Lx, Ly, force = int(h.attrs["Lx"]), int(h.attrs["Ly"]), str(h.attrs.get("force_field", "exact NEGF"))
    phi = cdw_domains.column_order_parameter(Q)
    bulk = float(cdw_domains.bulk_order_parameter(phi[0]))
    position = cdw_domains.domain_wall_position(phi, bulk, "left").numpy()
    metallic = cdw_domains.metallic_fraction(phi[:, :WINDOW], bulk).numpy() * min(Lx, WINDOW)
    arrivals = {}
    for x in ARRIVALS:
        reached = np.nonzero(position >= x)[0]
        arrivals[x] = float(t[reached[0]]) if len(reached) else None
    first, last = arrivals[ARRIVALS[0]], arrivals[ARRIVALS[-1]]
    crossed = first is not None and last is not None and last > first
    velocity = (ARRIVALS[-1] - ARRIVALS[0]) / (last - first) if crossed else None
    return {"t": t.numpy(), "position": position, "metallic_columns": metallic, "Lx": Lx, "Ly": Ly,
            "force_field": force, "arrival_times": arrivals, "velocity": velocity}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", nargs="+", required=True, metavar="LABEL=STORE", help="the first is the exact reference")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    runs = {label: wall(path) for label, _, path in (item.partition("=") for item in args.runs)}
    reference = next(iter(runs.values()))
    summary = {label: {"Lx": r["Lx"], "Ly": r["Ly"], "force_field": r["force_field"],
                       "arrival_times": r["arrival_times"], "velocity": r["velocity"],
                       "velocity_relative_error": r["velocity"] / reference["velocity"] - 1
                       if r["velocity"] and reference["velocity"] else None,
                       "metallic_columns_final": float(r["metallic_columns"][-1])} for label, r in runs.items()}
    with open(os.path.join(args.out, "transfer.json"), "w") as fh:
        json.dump({"arrival_columns": ARRIVALS, "metallic_window": WINDOW, "runs": summary}, fh, indent=2)
    with open(os.path.join(args.out, "transfer.csv"), "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["t", *[f"{label} wall" for label in runs], *[f"{label} metallic columns" for label in runs]])
        for k, time in enumerate(reference["t"]):
            writer.writerow([time, *[r["position"][k] for r in runs.values()],
                             *[r["metallic_columns"][k] for r in runs.values()]])
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
    for label, r in runs.items():
        style = "-" if label == next(iter(runs)) else "--"
        a.plot(r["t"], r["position"], style, label=label)
        b.plot(r["t"], r["metallic_columns"], style, label=label)
    a.set(xlabel="t", ylabel="wall position (columns from the gated lead)", ylim=(-1, WINDOW))
    b.set(xlabel="t", ylabel=f"metallic columns among the first {WINDOW}", ylim=(0, WINDOW))
    a.legend(fontsize=8)
    b.legend(fontsize=8)
    fig.savefig(os.path.join(args.out, "transfer.png"), dpi=110)
    plt.close(fig)
    for label, s in summary.items():
        times = ", ".join(f"x = {x}: t = {v}" for x, v in s["arrival_times"].items())
        print(f"{label}: wall arrives at {times}; {s['metallic_columns_final']:.0f} of the first {WINDOW} columns "
              f"metallic at the end")


if __name__ == "__main__":
    main()
