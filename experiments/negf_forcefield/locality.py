"""How local is the NEGF density? The reach of the exact response ∂n_i/∂Q_j on stored snapshots.

A force field that reads the sites within a distance c of site i can represent n_i only as far as
n_i depends on those sites. The exact linear response J_ij = ∂n_i/∂Q_j (autograd through
`graphqd.physics.negf.density`) measures that dependence on real configurations. For every chosen
snapshot this script reports, for the sites of metallic columns and of insulating (CDW) columns
separately, the share of the response weight that lies beyond distance c,

    w_i(c) = Σ_{j: d(i,j) > c} J_ij² / Σ_j J_ij²,   averaged over the sites of the class,

with d the Euclidean site distance (minimum image in a periodic y). A column is metallic where its
order parameter φ(x) (`graphqd.evaluate.cdw_domains`) is below half the bulk value of the run's first
record.

    python experiments/negf_forcefield/locality.py --store data/negf_sweep_exact.h5 \\
        --biases 1.5 2.25 2.5 3 4 --records 50 100 --out experiments/negf_forcefield/results

Writes locality.csv (one row per bias, class and c), locality.json and locality.png.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from graphqd.data.negf import run_biases  # noqa: E402
from graphqd.data.recipes.negf import params_of  # noqa: E402
from graphqd.data.store import open_store  # noqa: E402
from graphqd.evaluate.cdw_domains import bulk_order_parameter, column_order_parameter  # noqa: E402
from graphqd.physics import negf  # noqa: E402

MODEL_REACH = {"descriptor cutoff": 6.0, "graph model reach": 8.0}  # forcefield_graph: cutoff 6 + 2 nn layers


def site_distances(Ly: int, Lx: int, periodic_y: bool) -> np.ndarray:
    """d(i, j) between the sites (y, x) flattened row-major: (Ly·Lx, Ly·Lx)."""
    y, x = np.divmod(np.arange(Ly * Lx), Lx)
    dy = np.abs(y[:, None] - y[None, :])
    if periodic_y:
        dy = np.minimum(dy, Ly - dy)
    return np.hypot(dy, x[:, None] - x[None, :])


def response(Q: np.ndarray, params: negf.NEGFParams) -> np.ndarray:
    """J_ij = ∂n_i/∂Q_j of the exact steady-state density at one snapshot Q (Ly, Lx): (N, N)."""
    q = torch.as_tensor(Q, dtype=torch.float64)
    J = torch.autograd.functional.jacobian(lambda v: negf.density(v, params), q)
    return J.reshape(q.numel(), q.numel()).numpy()


def weight_beyond(J: np.ndarray, d: np.ndarray, sites: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    """w(c) of the module docstring averaged over `sites` (a boolean mask): (len(cutoffs),)."""
    rows, dist = J[sites] ** 2, d[sites]
    total = rows.sum(1)
    return np.array([((rows * (dist > c)).sum(1) / total).mean() for c in cutoffs])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", required=True, help="exact negf store (e.g. the held-out sweep)")
    ap.add_argument("--biases", type=float, nargs="+", required=True, help="biases to analyse (first run of each)")
    ap.add_argument("--records", type=int, nargs="+", default=[50, 100], help="records of each run")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    start = time.perf_counter()
    rows, curves = [], {}
    with open_store(args.store, "negf") as handle:
        attrs = handle.attrs
        Ly, Lx, periodic = int(attrs["Ly"]), int(attrs["Lx"]), bool(attrs["periodic_y"])
        d = site_distances(Ly, Lx, periodic)
        cutoffs = np.arange(0, int(np.ceil(d.max())) + 1)
        runs = list(range(int(handle["Q"].shape[0])))
        biases, config = run_biases(handle, runs), yaml.safe_load(attrs["config"])
        for bias in args.biases:
            matches = [r for r in runs if abs(biases[r] - bias) < 1e-9]
            if not matches:
                raise SystemExit(f"locality.py: no run of '{args.store}' has bias {bias:g}; it holds "
                                 f"{sorted(set(biases.tolist()))}.")
            run = matches[0]
            params = params_of(config, float(biases[run]))
            Q_run = torch.as_tensor(handle["Q"][run], dtype=torch.float64)
            phi = column_order_parameter(Q_run)
            bulk = float(bulk_order_parameter(phi[0]))
            weights = {"metallic": [], "insulating": []}
            for record in args.records:
                J = response(handle["Q"][run, record], params)
                metallic_columns = (phi[record] < 0.5 * bulk).numpy()
                classes = {"metallic": np.tile(metallic_columns, Ly), "insulating": np.tile(~metallic_columns, Ly)}
                for name, mask in classes.items():
                    if mask.any():
                        weights[name].append((weight_beyond(J, d, mask, cutoffs), int(mask.sum())))
            for name, entries in weights.items():
                if not entries:
                    continue
                counts = np.array([n for _, n in entries], dtype=float)
                curve = (np.stack([w for w, _ in entries]) * counts[:, None]).sum(0) / counts.sum()
                curves[(bias, name)] = curve
                for c, value in zip(cutoffs, curve):
                    rows.append({"bias": bias, "sites": name, "site_count": int(counts.sum()), "cutoff": int(c),
                                 "weight_beyond": float(value)})
                reach = ", ".join(f"beyond {c:g}: {curve[int(c)]:.3f}" for c in MODEL_REACH.values())
                print(f"V = {bias:g}, {name} sites ({int(counts.sum())}): {reach}")
    with open(os.path.join(args.out, "locality.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary = {"store": os.path.abspath(args.store), "lattice": [Ly, Lx], "records": args.records,
               "device": "CPU, 1 thread", "wall_s": time.perf_counter() - start,
               "weight_beyond": {f"V={b:g} {name}": {f"{c:g}": float(curve[int(c)]) for c in MODEL_REACH.values()}
                                 for (b, name), curve in curves.items()}}
    with open(os.path.join(args.out, "locality.json"), "w") as fh:
        json.dump(summary, fh, indent=1)
    fig, ax = plt.subplots(figsize=(6, 4))
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(args.biases)))
    for colour, bias in zip(colours, args.biases):
        for name, style in (("metallic", "-"), ("insulating", ":")):
            if (bias, name) in curves:
                ax.semilogy(cutoffs, curves[(bias, name)], style, color=colour, label=f"V = {bias:g}, {name}")
    for label, c in MODEL_REACH.items():
        ax.axvline(c, color="grey", lw=0.8)
        ax.text(c + 0.1, 1.5e-4, label, rotation=90, fontsize=7, color="grey")
    ax.set_xlabel("distance c")
    ax.set_ylabel("share of Σ_j (∂n_i/∂Q_j)² beyond c")
    ax.set_ylim(1e-4, 1.2)
    ax.set_title(f"reach of the exact NEGF response, {Ly} × {Lx}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "locality.png"), dpi=130)
    print(f"wrote locality.csv, locality.json and locality.png to {args.out} ({summary['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
