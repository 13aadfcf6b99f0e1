"""Brownian dynamics with learned against exact NEGF forces: the gating transition across a bias sweep.

Reads stores of the held-out sweep made with the exact force (one per seed) and stores of the same
recipe and seeds made with learned force fields (same seed: same initial states and bath noise), e.g.

    graphqd simulate negf --config experiments/negf_forcefield/sweep.yaml --out data/negf_sweep_exact.h5
    graphqd simulate negf --config experiments/negf_forcefield/sweep.yaml --out data/negf_sweep_graph.h5 \\
        --set force.checkpoint=experiments/negf_forcefield/pretrained/forcefield_graph.pt
    python experiments/negf_forcefield/dynamics.py --exact data/negf_sweep_exact.h5 \\
        --learned graph=data/negf_sweep_graph.h5 --out experiments/negf_forcefield/results
    (more seeds: --set seed=S for both, and list the stores: --exact A.h5 B.h5 --learned graph=A.h5,B.h5)

For every run: the column order parameter φ(x, t) = |Σ_y (−1)^{x+y} Q| / L_y, the metal–insulator
wall grown from the gated (left) electrode (where φ first rises through half the bulk value of the
exact initial state), its velocity (least squares while it crosses the middle half of the sample,
0.25 Lx … 0.75 Lx), the times it reaches Lx/4, Lx/2, 3Lx/4, and the metallic fraction. Per bias:
the mean velocity over the seeds, its seed-to-seed spread (the noise of a single run) and its standard
error; for each learned force field the relative error of its mean, that error's standard error, and
whether the interval of two standard errors lies within ±5 % (the issue's bound), and how many seeds
per bias that interval would need to fit inside ±5 % were the error and the spreads to stay as measured. A learned
run and the exact run of the same seed share the initial state and the bath noise, so the error is taken over
the seeds with a finite velocity in both and its standard error is the paired one (below). Over the
sweep: the threshold bias (the lowest bias whose wall passes Lx/2 by the end of the run in most
seeds) and the breakdown bias (the lowest bias at which 90 % of the columns are metallic by t = 10
in most seeds).
Writes walls.csv, dynamics.json, dynamics.png (φ(x, t) maps) and wall_velocity.png into --out.
`--walls results/walls.csv` recomputes the summaries and wall_velocity.png from a walls.csv
instead of the stores (no maps).
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

from graphqd.data.negf import run_biases  # noqa: E402
from graphqd.evaluate import cdw_domains  # noqa: E402

BREAKDOWN_TIME, BREAKDOWN_FRACTION = 10.0, 0.9
TOLERANCE = 0.05   # the bound on the relative error of the wall velocity


def walls(path: str, bulk: np.ndarray | None = None) -> tuple[list[dict], dict]:
    """Wall observables of every run of the store at `path`; `bulk` per run (default: its own t = 0)."""
    with h5py.File(path, "r") as h:
        t, Q = torch.as_tensor(h["t"][()]), torch.as_tensor(h["Q"][()], dtype=torch.float64)
        biases = run_biases(h, list(range(Q.shape[0])))
        Lx = int(h.attrs["Lx"])
    phi = cdw_domains.column_order_parameter(Q)                                  # (runs, T, Lx)
    bulk = cdw_domains.bulk_order_parameter(phi[:, 0]).numpy() if bulk is None else bulk
    rows, maps = [], {}
    for k, bias in enumerate(biases):
        position = cdw_domains.domain_wall_position(phi[k], float(bulk[k]), "left")
        fraction = cdw_domains.metallic_fraction(phi[k], float(bulk[k]))
        velocity = float(cdw_domains.domain_wall_velocity(t, position, 0.25 * Lx, 0.75 * Lx))

        def reach(x):
            passed = np.nonzero(position.numpy() >= x)[0]
            return float(t[passed[0]]) if len(passed) else None
        early = fraction[t <= BREAKDOWN_TIME]
        rows.append({"bias": float(bias), "velocity": velocity, "t_quarter": reach(0.25 * Lx),
                     "t_half": reach(0.5 * Lx), "t_three_quarters": reach(0.75 * Lx),
                     "metallic_fraction_final": float(fraction[-1]),
                     "breakdown": bool(early.max() >= BREAKDOWN_FRACTION), "swept": reach(0.5 * Lx) is not None})
        maps[float(bias)] = (phi[k].numpy(), position.numpy())
    return rows, {"t": t.numpy(), "maps": maps, "bulk": bulk, "Lx": Lx}


def per_bias(rows: list[dict]) -> list[dict]:
    """Mean, seed-to-seed std and standard error of the mean of the wall velocity per bias; whether most
    seeds swept / broke down."""
    out = []
    for bias in sorted({r["bias"] for r in rows}):
        runs = [r for r in rows if r["bias"] == bias]
        velocities = np.array([r["velocity"] for r in runs])
        finite = velocities[np.isfinite(velocities)]
        out.append({"bias": bias, "seeds": len(runs), "velocity": float(finite.mean()) if len(finite) else None,
                    "velocity_std": float(finite.std()) if len(finite) > 1 else None,
                    "velocity_sem": float(finite.std(ddof=1) / np.sqrt(len(finite))) if len(finite) > 1 else None,
                    "swept": sum(r["swept"] for r in runs) > len(runs) / 2,
                    "breakdown": sum(r["breakdown"] for r in runs) > len(runs) / 2})
    return out


def velocity_error(mine: list[dict], truth: list[dict]) -> dict:
    """Relative error r − 1 of a learned mean velocity against the exact one at one bias, from the rows of the
    seeds both have a finite velocity for, with its paired standard error and whether the two-standard-error
    interval lies within ±TOLERANCE.

    r = v̄_learned / v̄_exact over the paired seeds; to first order (the delta method)

        se(r)² = r² [var(v_l)/v̄_l² + var(v_e)/v̄_e² − 2 cov(v_l, v_e)/(v̄_l v̄_e)] / n,

    with the covariance over the n seeds. The two runs of a seed start from the same state under the same noise,
    so their velocities are correlated and the paired error is smaller than that of two independent means.
    """
    exact = {r["seed"]: r["velocity"] for r in truth if np.isfinite(r["velocity"])}
    pairs = np.array([(r["velocity"], exact[r["seed"]]) for r in mine
                      if np.isfinite(r["velocity"]) and r["seed"] in exact]).reshape(-1, 2)
    n = len(pairs)
    if n == 0 or not pairs[:, 1].mean() or not pairs[:, 0].mean():
        return {"seeds_paired": n, "relative_error": None, "relative_error_sem": None, "within_tolerance": None,
                "seeds_needed": None}
    means = pairs.mean(0)
    ratio = float(means[0] / means[1])
    sem = None
    if n > 1:
        cov = np.cov(pairs.T) / n
        sem = abs(ratio) * float(np.sqrt(max(cov[0, 0] / means[0] ** 2 + cov[1, 1] / means[1] ** 2
                                             - 2 * cov[0, 1] / (means[0] * means[1]), 0.0)))
    return {"seeds_paired": n, "relative_error": ratio - 1, "relative_error_sem": sem,
            "within_tolerance": None if sem is None else abs(ratio - 1) + 2 * sem <= TOLERANCE,
            # the standard error falls as 1/√seeds: seeds per bias for |error| + 2 sem <= TOLERANCE, were the
            # error to stay at its estimate (None where the estimate itself is outside the tolerance)
            "seeds_needed": None if sem is None or abs(ratio - 1) >= TOLERANCE else
            int(np.ceil(n * (2 * sem / (TOLERANCE - abs(ratio - 1))) ** 2))}


def sweep_biases(biases: list[dict]) -> dict:
    """Threshold and breakdown biases of a sweep (None where no bias qualifies)."""
    swept = [b["bias"] for b in biases if b["swept"]]
    broken = [b["bias"] for b in biases if b["breakdown"]]
    return {"threshold": min(swept) if swept else None, "breakdown": min(broken) if broken else None}


def walls_of(paths: list[str], bulks: list | None = None) -> tuple[list[dict], list[dict], list[dict]]:
    """Rows of every run of every store (with its seed index), per-bias means, and each store's maps."""
    rows, data = [], []
    for k, path in enumerate(paths):
        store_rows, store_data = walls(path, None if bulks is None else bulks[k])
        rows += [{"seed": k, **r} for r in store_rows]
        data.append(store_data)
    return rows, per_bias(rows), data


def walls_from_csv(path: str) -> dict:
    """The rows of a walls.csv written by this script, per source, with per-bias means (no maps)."""
    with open(path, newline="") as fh:
        table = list(csv.DictReader(fh))
    sources = {}
    for name in dict.fromkeys(r["source"] for r in table):
        rows = [{"seed": int(r["seed"]), "bias": float(r["bias"]), "velocity": float(r["velocity"]),
                 "swept": r["swept"] == "True", "breakdown": r["breakdown"] == "True"}
                for r in table if r["source"] == name]
        sources[name] = (rows, per_bias(rows), None)
    return sources


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exact", nargs="+", help="sweep stores made with the exact NEGF force, one per seed")
    ap.add_argument("--learned", nargs="+", default=[], metavar="NAME=STORE[,STORE...]",
                    help="sweep stores of the same recipe and seeds made with learned force fields")
    ap.add_argument("--walls", help="a walls.csv of an earlier run, instead of --exact and --learned")
    ap.add_argument("--maps", type=float, nargs="+", default=[2.25, 2.375, 3.0], help="biases of the φ(x, t) maps")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if bool(args.walls) == bool(args.exact):
        ap.error("give either --walls or --exact (with --learned)")
    os.makedirs(args.out, exist_ok=True)
    if args.walls:
        sources = walls_from_csv(args.walls)
        if "exact" not in sources:
            ap.error(f"{args.walls} has no rows of source 'exact'")
    else:
        exact_rows, exact_biases, exact_data = walls_of(args.exact)
        sources = {"exact": (exact_rows, exact_biases, exact_data)}
        for item in args.learned:
            name, _, paths = item.partition("=")
            sources[name] = walls_of(paths.split(","), [d["bulk"] for d in exact_data])
        with open(os.path.join(args.out, "walls.csv"), "w", newline="") as fh:
            writer = csv.DictWriter(fh, ["source", *exact_rows[0]])
            writer.writeheader()
            for name, (rows, _, _) in sources.items():
                writer.writerows({"source": name, **r} for r in rows)
    exact_biases = sources["exact"][1]
    result = {"exact": {"stores": args.exact or [args.walls],
                        **sweep_biases(exact_biases), "per_bias": exact_biases}, "learned": {}}
    exact_rows = sources["exact"][0]
    for name, (rows, biases, _) in list(sources.items())[1:]:
        compared = []
        for mine, truth in zip(biases, exact_biases):
            spread = truth["velocity_std"] / truth["velocity"] if truth["velocity_std"] and truth["velocity"] else None
            at_bias = [[r for r in table if r["bias"] == truth["bias"]] for table in (rows, exact_rows)]
            compared.append({"bias": truth["bias"], "velocity_exact": truth["velocity"],
                             "velocity_learned": mine["velocity"], **velocity_error(*at_bias),
                             "exact_seed_spread": spread})
        result["learned"][name] = {**sweep_biases(biases), "velocities": compared}
    with open(os.path.join(args.out, "dynamics.json"), "w") as fh:
        json.dump(result, fh, indent=2)
    if not args.walls:
        maps(sources, args.maps, args.out)
    velocity_figure(sources, args.out)
    for name, entry in result["learned"].items():
        errors = [f"V={c['bias']:g}: {c['relative_error']:+.1%}" +
                  (f" ± {c['relative_error_sem']:.1%} over {c['seeds_paired']} seeds" +
                   (f" ({c['seeds_needed']} for ±5 % at 2 se)" if c["seeds_needed"] is not None else "")
                   if c["relative_error_sem"] is not None else "") +
                  (" (within 5 %)" if c["within_tolerance"] else "")
                  for c in entry["velocities"] if c["relative_error"] is not None]
        print(f"{name}: threshold {entry['threshold']} (exact {result['exact']['threshold']}), breakdown "
              f"{entry['breakdown']} (exact {result['exact']['breakdown']}); velocity errors {', '.join(errors)}")


def maps(sources: dict, biases: list[float], out: str) -> None:
    """dynamics.png: φ(x, t) of the first seed of every source at `biases`, with the wall position."""
    exact = sources["exact"][2][0]
    shown = [b for b in biases if b in exact["maps"]]
    fig, axes = plt.subplots(len(sources), len(shown), figsize=(3.6 * len(shown), 2.8 * len(sources)),
                             squeeze=False, constrained_layout=True, sharex=True, sharey=True)
    for row, (name, (_, _, data)) in enumerate(sources.items()):
        data = data[0]
        for col, bias in enumerate(shown):
            phi, position = data["maps"][bias]
            ax = axes[row, col]
            image = ax.imshow(phi.T, aspect="auto", origin="lower", cmap="viridis", vmin=0, vmax=exact["bulk"].max(),
                              extent=[data["t"][0], data["t"][-1], -0.5, data["Lx"] - 0.5])
            ax.plot(data["t"], position, "w--", lw=1)
            ax.set(title=f"{name}, V = {bias:g}", xlabel="t" if row == len(sources) - 1 else None,
                   ylabel="column x" if col == 0 else None)
    fig.colorbar(image, ax=axes, label=r"$\phi(x, t)$", shrink=0.8)
    fig.savefig(os.path.join(out, "dynamics.png"), dpi=110)
    plt.close(fig)


def velocity_figure(sources: dict, out: str) -> None:
    """wall_velocity.png: mean ± seed-to-seed std of the wall velocity against the bias, every source."""
    fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
    for name, (_, biases, _) in sources.items():
        valid = [b for b in biases if b["velocity"] is not None]
        ax.errorbar([b["bias"] for b in valid], [b["velocity"] for b in valid],
                    [b["velocity_std"] or 0 for b in valid], fmt="o-" if name == "exact" else "s--", capsize=3,
                    label=name)
    ax.set(xlabel="bias V", ylabel="wall velocity (columns / unit time)",
           title="metal–insulator wall (mean ± std over seeds)")
    ax.legend()
    fig.savefig(os.path.join(out, "wall_velocity.png"), dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
