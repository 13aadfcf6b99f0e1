"""Where a learned force field errs relative to the moving metal–insulator wall: the density error of a model on
the exact runs of the wall-velocity ensemble, binned by the distance of each column from the wall.

The force on a site is F_i = g(n_i − ½) − K Q_i − κ Σ_nn Q_j (DESIGN §3.3), so a model's force error is g times
its density error. Two parts of it act on the wall:

    staggered  s_i = (n̂_i − n_i) · sgn(n_i − ½):   > 0 where the model's charge order is stronger than the exact
                                                   one (it holds the CDW together and slows its melting);
    uniform    u_i = n̂_i − n_i.

For every run of the exact stores (one per seed; `run.sh walls` makes them) the model predicts n from the recorded
Q at every record; the wall position x_w(t) is `dynamics.py`'s (the column order parameter rising through half the
bulk value, from the gated left electrode), and each site's errors go to the bin of its column's distance x − x_w
(negative: the metal behind the wall, positive: the insulator ahead of it). Only records with the wall inside the
middle half of the lattice, where `dynamics.py` fits the velocity, are used. The mean over seeds of each seed's
mean per bin, with its standard error, per bias and model, goes to wall_front.csv and .json, with the RMSE of n
over the same records; wall_front.png shows the staggered error against the distance at every bias.

    python experiments/negf_forcefield/wall_front.py --exact data/negf_walls_exact_26{04..61}.h5 \\
        --models graph=experiments/negf_forcefield/pretrained/forcefield_graph.pt \\
        "columns, 3 lengths=experiments/negf_forcefield/pretrained/forcefield_graph_columns.pt" \\
        --out experiments/negf_forcefield/results/walls
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

from graphqd.data.negf import run_biases, run_chemical_potentials  # noqa: E402
from graphqd.data.store import open_store  # noqa: E402
from graphqd.evaluate import cdw_domains  # noqa: E402
from graphqd.evaluate.negf_metrics import predict  # noqa: E402
from graphqd.runtime.surrogate import load_surrogate  # noqa: E402

REACH = 8   # distances −REACH … REACH columns from the wall


def run_profiles(surrogates: dict, handle, run: int) -> dict:
    """Per model: summed staggered and uniform errors and site counts per distance bin, for one run."""
    Q, exact = handle["Q"][run], handle["n"][run].astype(np.float64)          # (T, Ly, Lx)
    Lx = Q.shape[-1]
    phi = cdw_domains.column_order_parameter(torch.as_tensor(Q[None], dtype=torch.float64))[0]
    bulk = float(cdw_domains.bulk_order_parameter(phi[:1])[0])
    wall = cdw_domains.domain_wall_position(phi, bulk, "left").numpy()              # (T,)
    inside = np.isfinite(wall) & (wall >= 0.25 * Lx) & (wall <= 0.75 * Lx)
    distance = np.rint(np.arange(Lx)[None, :] - wall[inside, None]).astype(int)     # (T', Lx)
    kept = np.abs(distance) <= REACH
    bins = (distance + REACH)[kept]
    mu = run_chemical_potentials(handle, [run])[0]
    order = np.sign(exact[inside] - 0.5)
    out = {}
    for name, surrogate in surrogates.items():
        error = predict(surrogate, Q[inside], float(mu[0]), float(mu[1])) - exact[inside]   # (T', Ly, Lx)
        staggered, uniform = (error * order).mean(1), error.mean(1)                          # column means
        out[name] = (np.stack([np.bincount(bins, staggered[kept], 2 * REACH + 1),
                               np.bincount(bins, uniform[kept], 2 * REACH + 1),
                               np.bincount(bins, minlength=2 * REACH + 1).astype(float)]),
                     np.array([(error ** 2).sum(), error.size]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exact", nargs="+", required=True, help="exact wall-ensemble stores, one per seed")
    ap.add_argument("--models", nargs="+", required=True, metavar="NAME=CHECKPOINT")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    began = time.perf_counter()
    surrogates = {name: load_surrogate(path, system="negf")
                  for name, path in (item.split("=", 1) for item in args.models)}
    per_seed, squares = {}, {}   # (model, bias) → per-seed (3, bins) sums; (sum of squared errors, count)
    for path in args.exact:
        with open_store(path, "negf") as handle:
            for run, bias in enumerate(run_biases(handle, list(range(int(handle["Q"].shape[0]))))):
                for name, (sums, square) in run_profiles(surrogates, handle, run).items():
                    per_seed.setdefault((name, float(bias)), []).append(sums)
                    squares[name, float(bias)] = squares.get((name, float(bias)), 0) + square
    distances = np.arange(-REACH, REACH + 1)
    rows = []
    for (name, bias), seeds in per_seed.items():
        seeds = np.stack(seeds)                                   # (S, 3, bins)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = seeds[:, :2] / seeds[:, 2:3]                   # per-seed mean per bin
        for k, d in enumerate(distances):
            valid = np.isfinite(means[:, 0, k])
            if valid.sum() < 2:
                continue
            mean, sem = means[valid, :, k].mean(0), means[valid, :, k].std(0, ddof=1) / np.sqrt(valid.sum())
            rows.append({"model": name, "bias": bias, "distance": int(d), "seeds": int(valid.sum()),
                         "staggered": mean[0], "staggered_sem": sem[0], "uniform": mean[1], "uniform_sem": sem[1]})
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "wall_front.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    rmse = {f"{name}, V = {bias:g}": float(np.sqrt(total[0] / total[1])) for (name, bias), total in squares.items()}
    with open(os.path.join(args.out, "wall_front.json"), "w") as fh:
        json.dump({"stores": args.exact, "models": dict(item.split("=", 1) for item in args.models), "reach": REACH,
                   "rmse_n": rmse, "device": "CPU, 1 thread", "wall_s": time.perf_counter() - began, "rows": rows},
                  fh, indent=1)
    figure(rows, os.path.join(args.out, "wall_front.png"))
    for key, value in rmse.items():
        print(f"RMSE of n, {key}: {value:.4f}")
    for row in rows:
        if abs(row["distance"]) <= 2:
            print(f"{row['model']}, V = {row['bias']:g}, x − x_w = {row['distance']:+d}: staggered "
                  f"{row['staggered']:+.4f} ± {row['staggered_sem']:.4f}, uniform {row['uniform']:+.4f} "
                  f"± {row['uniform_sem']:.4f} ({row['seeds']} seeds)")


def figure(rows: list[dict], path: str) -> None:
    """Staggered density error against the distance from the wall, one panel per model, one curve per bias."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 3.2), sharey=True, squeeze=False,
                             constrained_layout=True)
    for ax, name in zip(axes[0], models):
        for bias in sorted({r["bias"] for r in rows if r["model"] == name}):
            mine = [r for r in rows if r["model"] == name and r["bias"] == bias]
            ax.errorbar([r["distance"] for r in mine], [r["staggered"] for r in mine],
                        [2 * r["staggered_sem"] for r in mine], capsize=2, marker="o", ms=3, label=f"V = {bias:g}")
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5, ls=":")
        ax.set(title=name, xlabel="columns from the wall (− metal, + insulator)")
    axes[0, 0].set_ylabel(r"staggered error $\langle(\hat n - n)\,\mathrm{sgn}(n - \frac{1}{2})\rangle$")
    axes[0, -1].legend()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
