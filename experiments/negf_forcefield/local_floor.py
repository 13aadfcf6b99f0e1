"""The best a model of reach c can do: the part of the NEGF density that the sites within c do not fix.

A force field that reads the sites within distance c of site i predicts n_i from that near field alone.
Whatever it learns, its mean squared error is at least the conditional variance of the exact density
given the near field,

    floor(c)² = E_i E[ Var(n_i | Q_j, d(i, j) <= c) ],

the error of the best predictor of reach c (the conditional mean). This script estimates it on Brownian
NEGF configurations: for a snapshot Q_a and another snapshot Q_b of the same run, the configuration
Q_mix = Q_a within distance c of site i and Q_b beyond it has Q_a's near field with another far field, and

    E[(n_i(Q_a) − n_i(Q_mix))²] / 2 = Var(n_i | near field)

when the two far fields are independent draws given the near field. Here they are snapshots 4 time units
apart of one run (in the metal the lattice decorrelates within about γ/K = 0.2), so the estimate leans
high where Q_b's far field does not belong with Q_a's near field (a domain wall elsewhere).

Runs: from the checkerboard with noise 0.1, bath k_B T = 0.1 (the held-out sweep's conditions), t = 0 … 40,
snapshots at t = 20, 24, …, 40 paired in order, both ways. Sites are drawn at random; each is classed
metallic or insulating by its column's order parameter (below or above half the checkerboard's), as in
`locality.py`.

    python experiments/negf_forcefield/local_floor.py --biases 1.5 2.5 3 4 --out experiments/negf_forcefield/results
    python experiments/negf_forcefield/local_floor.py --biases 4 --lattice 40 14 --sites 16 \\
        --out experiments/negf_forcefield/results --tag 40x14

Writes local_floor[_TAG].csv (one row per bias, class and c), .json and .png (classes of 30 samples or more;
--replot redraws it from the CSV).
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

from graphqd.data.recipes.negf import params_of  # noqa: E402
from graphqd.evaluate.cdw_domains import bulk_order_parameter, column_order_parameter  # noqa: E402
from graphqd.physics import brownian, negf  # noqa: E402
from locality import site_distances  # noqa: E402

TARGET = 0.005   # the RMSE floor of n
DT, DAMPING, BATH, NOISE = 0.1, 0.2, 0.1, 0.1
POOL_TIMES = np.arange(20.0, 40.0 + 1e-9, 4.0)


def snapshots(params: negf.NEGFParams, seed: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The initial state and the pool of snapshots at POOL_TIMES of one exact Brownian run."""
    noise = np.random.default_rng(seed).normal(0.0, 1.0, (params.Ly, params.Lx))
    Q0 = negf.checkerboard(params) + NOISE * torch.as_tensor(noise)
    every = int(round(4.0 / DT))
    run = brownian.simulate(Q0, negf.force_field(params), DT, DAMPING, BATH, int(round(POOL_TIMES[-1] / DT)), every,
                            torch.Generator().manual_seed(seed + 1))
    times = run.t.numpy()
    return Q0, [run.Q[int(np.argmin(np.abs(times - t)))] for t in POOL_TIMES]


def pairs(count: int) -> list[tuple[int, int]]:
    """(a, b): snapshots 0-1, 2-3, … paired in order, both ways."""
    return [(k, k + 1) for k in range(0, count - 1, 2)] + [(k + 1, k) for k in range(0, count - 1, 2)]


def squared_gaps(params, pool, sites, d, cutoffs) -> np.ndarray:
    """(n_i(Q_a) − n_i(Q_mix))² / 2 for every pair (a, b), site and cutoff: (pairs, sites, cutoffs)."""
    out = []
    for a, b in pairs(len(pool)):
        n_a = negf.density(pool[a], params).reshape(-1)
        mixed = torch.stack([torch.where(torch.as_tensor(d[i] <= c).reshape(pool[a].shape), pool[a], pool[b])
                             for i in sites for c in cutoffs])
        n_mix = negf.density(mixed, params).reshape(len(sites), len(cutoffs), -1)
        gaps = n_a[sites][:, None] - n_mix[np.arange(len(sites)), :, sites]
        out.append((gaps ** 2 / 2).numpy())
    return np.stack(out)


def plot(stem: str, biases: list[float], min_samples: int = 30) -> None:
    """The floor against c from `stem`.csv, per bias and site class with at least `min_samples` samples."""
    with open(stem + ".csv") as fh:
        rows = list(csv.DictReader(fh))
    fig, ax = plt.subplots(figsize=(6, 4))
    colours = dict(zip(biases, plt.cm.viridis(np.linspace(0, 0.9, len(biases)))))
    for bias in biases:
        for name, style in (("metallic", "o-"), ("insulating", "s:")):
            curve = [(float(r["cutoff"]), float(r["floor_rmse_n"])) for r in rows
                     if float(r["bias"]) == bias and r["sites"] == name and int(r["samples"]) >= min_samples]
            if curve:
                ax.semilogy(*zip(*curve), style, color=colours[bias], ms=4, label=f"V = {bias:g}, {name} sites")
    ax.axhline(TARGET, color="k", lw=0.8, label="target RMSE of n")
    ax.set_ylim(1e-4, 0.05)
    ax.set_xlabel("reach c of the model")
    ax.set_ylabel("least RMSE of n at reach c")
    ax.set_title(f"what the near field does not fix, {rows[0]['lattice'].replace('x', ' × ')} (exact NEGF)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(stem + ".png", dpi=130)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--biases", type=float, nargs="+", required=True)
    ap.add_argument("--lattice", type=int, nargs=2, default=[20, 14], metavar=("LX", "LY"))
    ap.add_argument("--cutoffs", type=float, nargs="+", default=[2, 4, 6, 8, 10, 12])
    ap.add_argument("--sites", type=int, default=32, help="sites drawn per run")
    ap.add_argument("--seed", type=int, default=2601)
    ap.add_argument("--tag", default="")
    ap.add_argument("--out", required=True)
    ap.add_argument("--replot", action="store_true", help="only redraw the figure from the CSV")
    args = ap.parse_args()
    stem = os.path.join(args.out, "local_floor" + (f"_{args.tag}" if args.tag else ""))
    if args.replot:
        return plot(stem, args.biases)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    Lx, Ly = args.lattice
    config = {"lattice": {"Lx": Lx, "Ly": Ly, "periodic_y": True},
              "model": {"hopping": 1.0, "g": 1.5, "stiffness": 1.0, "kappa": 0.18},
              "leads": {"gamma": 1.0, "bias": 0.0, "gate": "left", "mu": 0.0, "temperature": 0.0}}
    d = site_distances(Ly, Lx, True)
    cutoffs = np.asarray(args.cutoffs, dtype=float)
    start = time.perf_counter()
    rows, curves = [], {}
    for bias in args.biases:
        params = params_of(config, bias)
        Q0, pool = snapshots(params, args.seed)
        bulk = float(bulk_order_parameter(column_order_parameter(Q0)))
        sites = np.random.default_rng(args.seed).choice(Ly * Lx, args.sites, replace=False)
        gaps = squared_gaps(params, pool, sites, d, cutoffs)                      # (pairs, sites, cutoffs)
        metallic = np.stack([(column_order_parameter(pool[a]) < 0.5 * bulk).numpy()[sites % Lx]
                             for a, _ in pairs(len(pool))])                      # (pairs, sites)
        for name, mask in (("metallic", metallic), ("insulating", ~metallic)):
            if not mask.any():
                continue
            floor = np.sqrt(gaps[mask].mean(0))
            curves[(bias, name)] = floor
            for c, value in zip(cutoffs, floor):
                rows.append({"lattice": f"{Lx}x{Ly}", "bias": bias, "sites": name, "samples": int(mask.sum()),
                             "cutoff": float(c), "floor_rmse_n": float(value)})
            print(f"{Lx} x {Ly}, V = {bias:g}, {name} ({int(mask.sum())} samples): "
                  + ", ".join(f"c = {c:g}: {v:.4f}" for c, v in zip(cutoffs, floor)), flush=True)
    with open(stem + ".csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary = {"lattice": [Lx, Ly], "biases": args.biases, "cutoffs": args.cutoffs, "sites_per_run": args.sites,
               "seed": args.seed, "pool_times": POOL_TIMES.tolist(), "device": "CPU (2-core), 1 thread",
               "wall_s": time.perf_counter() - start,
               "floor_rmse_n": {f"V={b:g} {name}": dict(zip(map(str, args.cutoffs), map(float, floor)))
                                for (b, name), floor in curves.items()}}
    with open(stem + ".json", "w") as fh:
        json.dump(summary, fh, indent=1)
    plot(stem, args.biases)
    print(f"wrote {stem}.csv, .json and .png ({summary['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
