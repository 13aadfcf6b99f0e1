"""Shallow quench on chains of every length: the Q error of surrogate rollouts against the
exact run at the same L, relative to A(L) = max_t |φ_Q(t)| of the exact run, and the CDW
order parameter φ_Q(t) = (1/L) Σ_i (−1)^i Q_i(t) of both.

    python experiments/holstein_parc/long_chains.py errors --rollout NAME:L=ROLLOUT.h5,EXACT.h5 ... \
        --steps 400 2500 --out results/long_chains/errors.json
    python experiments/holstein_parc/long_chains.py plot --errors errors.json --out long_chains.png
    python experiments/holstein_parc/long_chains.py table --errors results/long_chains/errors_*.json \
        --out results/long_chains/step_errors.csv --figure results/long_chains/step400_errors.png --show A B

`table` gathers error files into one CSV (a row per model, L and step) and plots the error at step
400 against L for the models named by --show (default all), with the acceptance targets.

The rollout starts at the exact run's t = 0 (`graphqd rollout --data EXACT.h5`), so both
stores hold the same runs; ρ may be stored dense or as a band, only Q and P are read. Steps
count the exact store's spacing (0.08); a model whose step is k of them is compared at the
same times (every step a multiple of k).
"""
from __future__ import annotations

import argparse
import csv
import json
import os

import h5py
import numpy as np


def order_parameter(Q: np.ndarray) -> np.ndarray:
    """φ_Q = (1/L) Σ_i (−1)^i Q_i over the last axis."""
    return (Q * (-1.0) ** np.arange(Q.shape[-1])).mean(-1)


def rollout_errors(pred: h5py.File, exact: h5py.File, steps: list[int]) -> dict:
    """RMSE of Q and P at `steps` (runs averaged), A = max |φ_Q| of the exact runs (mean over runs)
    and the φ_Q curves of the first run."""
    runs = int(pred["Q"].shape[0])
    Qe, Qp = exact["Q"][:runs], pred["Q"][:]
    dt_exact, dt_model = float(exact.attrs["dt"]), float(pred.attrs["dt"])
    k = int(round(dt_model / dt_exact))
    if k < 1 or abs(k * dt_exact - dt_model) > 1e-9 * dt_model:
        raise SystemExit(f"rollout spacing {dt_model} is not a multiple of the exact spacing {dt_exact}")
    amplitude = float(np.abs(order_parameter(Qe)).max(-1).mean())
    out = {"L": int(Qe.shape[-1]), "runs": runs, "A": amplitude, "dt_exact": dt_exact, "dt_model": dt_model,
           "steps": {}}
    for step in steps:
        if step % k or step // k >= Qp.shape[1] or step >= Qe.shape[1]:
            continue
        rmse_q = np.sqrt(((Qp[:, step // k] - Qe[:, step]) ** 2).mean(-1)).mean()
        rmse_p = np.sqrt(((pred["P"][:, step // k] - exact["P"][:runs, step]) ** 2).mean(-1)).mean()
        out["steps"][str(step)] = {"rmse_Q": float(rmse_q), "rmse_P": float(rmse_p),
                                   "rmse_Q_over_A": float(rmse_q / amplitude),
                                   "finite": bool(np.isfinite(Qp[:, step // k]).all())}
    n = min(Qp.shape[1], (Qe.shape[1] - 1) // k + 1)
    out["phi_exact"] = order_parameter(Qe[0, :(n - 1) * k + 1]).tolist()
    out["phi_model"] = order_parameter(Qp[0, :n]).tolist()
    return out


def cmd_errors(args) -> None:
    result = {"steps": args.steps, "rollouts": []}
    for item in args.rollout:
        key, _, files = item.partition("=")
        name, _, L = key.partition(":")
        path, _, truth = files.partition(",")
        with h5py.File(path, "r") as pred, h5py.File(truth, "r") as exact:
            entry = {"model": name, "path": path, "exact": truth, **rollout_errors(pred, exact, args.steps)}
        if entry["L"] != int(L):
            raise SystemExit(f"{path}: holds L = {entry['L']}, not {L}")
        result["rollouts"].append(entry)
        for step, row in entry["steps"].items():
            print(f"{name:12s} L {entry['L']:5d} step {int(step):5d}: RMSE_Q {row['rmse_Q']:.4f} = "
                  f"{100 * row['rmse_Q_over_A']:.2f} % of A = {entry['A']:.3f}", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {args.out}")


def cmd_plot(args) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with open(args.errors) as f:
        rollouts = [r for r in json.load(f)["rollouts"] if r["model"] == args.model]
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, r in enumerate(sorted(rollouts, key=lambda r: r["L"])):
        t_exact = np.arange(len(r["phi_exact"])) * r.get("dt_exact", args.dt)
        t_model = np.arange(len(r["phi_model"])) * r.get("dt_model", args.dt)
        colour = f"C{k}"
        ax.plot(t_exact, r["phi_exact"], color=colour, lw=2.0, alpha=0.45, label=f"L = {r['L']} exact")
        ax.plot(t_model, r["phi_model"], color=colour, lw=0.9, ls="--", label=f"L = {r['L']} {args.model}")
    ax.set_xlabel("t")
    ax.set_ylabel(r"$\phi_Q(t) = \frac{1}{L}\sum_i (-1)^i Q_i$")
    ax.set_xlim(0, args.t_max)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("Shallow quench g 0.5 → 0.8 from each L's ground state (2-core CPU)")
    fig.tight_layout()
    fig.savefig(args.out, dpi=130)
    print(f"wrote {args.out}")


TARGET_STEP = 400
TARGETS = {8: 0.02, 16: 0.02, 32: 0.02, 64: 0.02, 256: 0.05, 1024: 0.05}   # Q error over A(L) at step 400


def cmd_table(args) -> None:
    rows = []
    for path in args.errors:
        with open(path) as f:
            for r in json.load(f)["rollouts"]:
                for step, v in r["steps"].items():
                    rows.append({"model": r["model"], "L": r["L"], "step": int(step), "A": round(r["A"], 4),
                                 "rmse_Q": v["rmse_Q"], "rmse_Q_over_A": v["rmse_Q_over_A"],
                                 "meets_target": v["rmse_Q_over_A"] <= TARGETS[r["L"]]
                                 if int(step) == TARGET_STEP and r["L"] in TARGETS else ""})
    rows.sort(key=lambda r: (r["model"], r["step"], r["L"]))
    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out} ({len(rows)} rows)")
    if not args.figure:
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    models = args.show or sorted({r["model"] for r in rows})
    fig, ax = plt.subplots(figsize=(6.5, 4))
    lengths = sorted(TARGETS)
    ax.step(range(len(lengths)), [100 * TARGETS[L] for L in lengths], where="mid", color="k", lw=1.2,
            label="target")
    for k, name in enumerate(models):
        points = sorted((r["L"], r["rmse_Q_over_A"]) for r in rows if r["model"] == name and r["step"] == TARGET_STEP)
        if not points:
            raise SystemExit(f"no step-{TARGET_STEP} errors of model '{name}' in the files given")
        ax.plot([lengths.index(L) for L, _ in points], [100 * e for _, e in points], "o-", color=f"C{k}",
                lw=1.2, ms=4, label=name)
    ax.set_xticks(range(len(lengths)), [str(L) for L in lengths])
    ax.set_yscale("log")
    ax.set_xlabel("chain length L")
    ax.set_ylabel(f"Q error at step {TARGET_STEP} (% of A(L))")
    ax.legend(fontsize=7)
    ax.set_title("Shallow quench, one model for every L (2-core CPU)")
    fig.tight_layout()
    fig.savefig(args.figure, dpi=130)
    print(f"wrote {args.figure}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="stage", required=True)
    e = sub.add_parser("errors")
    e.add_argument("--rollout", action="append", required=True, help="NAME:L=ROLLOUT.h5,EXACT.h5 (repeatable)")
    e.add_argument("--steps", type=int, nargs="+", default=[400, 2500])
    e.add_argument("--out", required=True)
    q = sub.add_parser("plot")
    q.add_argument("--errors", required=True)
    q.add_argument("--model", required=True)
    q.add_argument("--dt", type=float, default=0.08, help="spacing of error files without dt_exact, dt_model")
    q.add_argument("--t-max", type=float, default=60.0)
    q.add_argument("--out", required=True)
    t = sub.add_parser("table")
    t.add_argument("--errors", nargs="+", required=True, help="error files of `errors`")
    t.add_argument("--out", required=True, help="CSV: one row per model, L and step")
    t.add_argument("--figure", help="PNG: the error at step 400 against L")
    t.add_argument("--show", nargs="+", help="models in the figure (default: all)")
    args = p.parse_args(argv)
    {"errors": cmd_errors, "plot": cmd_plot, "table": cmd_table}[args.stage](args)


if __name__ == "__main__":
    main()
