"""Issue 6, experiment 1: shallow quench g 0.5 -> 0.8 (L = 8), surrogate rollouts against the truth.

Reads the exact stores written by ``graphqd simulate`` and the rollout stores written by
``graphqd rollout`` (same layout: Q, P (runs, T, L), rho (runs, T, L, L), t (T,)) and writes

* ``shallow_quench.csv``       per-step RMSE of Q, P, rho and their sum (DESIGN §6) on the clean quench
                               (from the exact g = 0.5 CDW ground state), steps 0 … --steps, per model;
* ``shallow_quench_test.csv``  the same averaged over the runs of the held-out noisy test store;
* ``shallow_quench.png``       snapshots of Q, P, |rho| truth vs predictions and error vs step;
* ``metrics_<model>.json``     the acceptance number (see below), long-horizon errors, and the
                               ``graphqd evaluate`` metrics found beside the rollouts (metrics_test.json,
                               metrics_clean.json in the run directory), paths made relative.

Acceptance number of issue 6: RMSE_Q at rollout step --steps (400, t = 32) divided by the CDW
amplitude A = max_{t <= t_400} |phi_Q(t)| of the exact clean trajectory, phi_Q = (1/L) sum_i (-1)^i Q_i
(on this quench Q_i = (-1)^i phi_Q exactly, so A is also max |Q_i|). We also report the maximum of
RMSE_Q over steps 1 … --steps divided by A.

Usage (from the repository root):
    python experiments/holstein_parc/shallow_quench.py --truth data/shallow_clean.h5 \
        --test-truth data/shallow_test.h5 --model graph=runs/holstein_parc/shallow_small_graph ... \
        --steps 400 --out-dir experiments/holstein_parc/results
A model's run directory must hold rollout_clean.h5 (and rollout_test.h5 for --test-truth).
"""
from __future__ import annotations

import argparse
import csv
import json
import os

import h5py
import numpy as np

from sweep_common import scale_note

LABELS = {"graph": "graph PARC", "cnn": "CNN PARC", "recurrent_cnn": "recurrent CNN"}
COLOURS = {"graph": "tab:blue", "cnn": "tab:orange", "recurrent_cnn": "tab:green"}


def load(path: str) -> dict:
    with h5py.File(path, "r") as f:
        return {"Q": f["Q"][...].astype(np.float64), "P": f["P"][...].astype(np.float64),
                "rho": f["rho"][...].astype(np.complex128), "t": f["t"][...].astype(np.float64)}


def rmse(pred: dict, truth: dict, steps: int) -> dict:
    """Per-run, per-step RMSE (runs, steps + 1): Q, P as sqrt(sum/L), rho as sqrt(sum |.|^2 / L^2)."""
    n = min(steps + 1, pred["Q"].shape[1], truth["Q"].shape[1])
    runs = pred["Q"].shape[0]
    L = truth["Q"].shape[-1]
    out = {}
    for key in ("Q", "P"):
        d = pred[key][:runs, :n] - truth[key][:runs, :n]
        out[key] = np.sqrt((d ** 2).sum(-1) / L)
    d = pred["rho"][:runs, :n] - truth["rho"][:runs, :n]
    out["rho"] = np.sqrt((np.abs(d) ** 2).sum((-1, -2)) / L ** 2)
    out["total"] = out["Q"] + out["P"] + out["rho"]
    return out


def phi_q(Q: np.ndarray) -> np.ndarray:
    sign = (-1.0) ** np.arange(Q.shape[-1])
    return (Q * sign).mean(-1)


def write_csv(path: str, t: np.ndarray, curves: dict, steps: int) -> None:
    names = list(curves)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "t"] + [f"{m}_rmse_{k}" for m in names for k in ("Q", "P", "rho", "total")])
        for s in range(steps + 1):
            w.writerow([s, f"{t[s]:.4f}"] + [f"{curves[m][k][s]:.6e}" for m in names
                                              for k in ("Q", "P", "rho", "total")])


def relative_paths(obj):
    if isinstance(obj, dict):
        return {k: (os.path.relpath(v) if k in ("data", "checkpoint") and isinstance(v, str) and os.path.isabs(v)
                    else relative_paths(v)) for k, v in obj.items()}
    return obj


def figure(path: str, truth: dict, preds: dict, curves: dict, long_curves: dict, steps: int, snaps: list[int]):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(preds)
    ncol = max(len(snaps), len(names) + 1, 3)
    fig, axes = plt.subplots(4, ncol, figsize=(3.4 * ncol, 12.5), constrained_layout=True)
    t = truth["t"]
    sites = np.arange(truth["Q"].shape[-1])
    for row, key in enumerate(("Q", "P")):
        for c in range(ncol):
            ax = axes[row, c]
            if c >= len(snaps):
                ax.axis("off")
                continue
            s = snaps[c]
            ax.plot(sites, truth[key][0, s], "ko-", lw=2.5, ms=7, label="truth", alpha=0.5)
            for m in names:
                ax.plot(sites, preds[m][key][0, s], "s--", color=COLOURS.get(m), ms=4, label=LABELS.get(m, m))
            ax.set_title(f"{key}_i, step {s} (t = {t[s]:.1f})")
            ax.set_xlabel("site i")
            if c == 0:
                ax.legend(fontsize=7)
    s = snaps[-1]
    panels = [("truth", truth["rho"][0, s])] + [(LABELS.get(m, m), preds[m]["rho"][0, s]) for m in names]
    vmax = max(np.abs(p).max() for _, p in panels)
    for c in range(ncol):
        ax = axes[2, c]
        if c >= len(panels):
            ax.axis("off")
            continue
        title, mat = panels[c]
        im = ax.imshow(np.abs(mat), vmin=0, vmax=vmax, cmap="viridis")
        if c > 0:
            err = np.sqrt((np.abs(mat - truth["rho"][0, s]) ** 2).sum()) / mat.shape[0]
            title += f"\nRMSE_rho {err:.2e}"
        ax.set_title(f"|rho|, step {s}: {title}", fontsize=9)
    fig.colorbar(im, ax=axes[2, :], shrink=0.8)
    ax = axes[3, 0]
    n = steps + 1
    ax.plot(t[:n], phi_q(truth["Q"][0, :n]), "k-", lw=3, alpha=0.4, label="truth")
    for m in names:
        ax.plot(t[:n], phi_q(preds[m]["Q"][0, :n]), "--", color=COLOURS.get(m), label=LABELS.get(m, m))
    ax.set_xlabel("t")
    ax.set_title("phi_Q(t)")
    ax.legend(fontsize=7)
    steps_axis = np.arange(n)
    for c, key in ((1, "Q"), (2, "total")):
        ax = axes[3, c]
        for m in names:
            ax.semilogy(steps_axis[1:], curves[m][key][1:], color=COLOURS.get(m), label=LABELS.get(m, m))
        ax.set_xlabel("rollout step (dt = 0.08)")
        ax.set_title(f"RMSE_{key} vs step (clean quench)")
        ax.legend(fontsize=7)
    if ncol > 3:
        ax = axes[3, 3]
        for m in names:
            ax.semilogy(np.arange(1, len(long_curves[m])), long_curves[m][1:], color=COLOURS.get(m),
                        label=LABELS.get(m, m))
        ax.set_xlabel("rollout step")
        ax.set_title(f"RMSE_total, {len(next(iter(long_curves.values()))) - 1}-step rollout")
        ax.legend(fontsize=7)
        for c in range(4, ncol):
            axes[3, c].axis("off")
    fig.suptitle("Shallow quench g 0.5 -> 0.8, L = 8 (REDUCED CPU SCALE: width 32)")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--truth", required=True, help="exact store of the clean quench (one run)")
    p.add_argument("--test-truth", default=None, help="exact held-out test store (rollout_test.h5 beside each model)")
    p.add_argument("--model", action="append", required=True, metavar="NAME=RUN_DIR",
                   help="a model's run directory holding rollout_clean.h5 (repeatable)")
    p.add_argument("--steps", type=int, default=400, help="rollout steps of the comparison (default 400, t = 32)")
    p.add_argument("--snapshots", type=int, nargs="+", default=None, help="steps shown as snapshots")
    p.add_argument("--suffix", default="", help="read rollout_clean{SUFFIX}.h5 and rollout_test{SUFFIX}.h5 "
                                                "(e.g. _conserve) and add SUFFIX to every output name")
    p.add_argument("--out-dir", required=True)
    args = p.parse_args(argv)
    sfx = args.suffix
    os.makedirs(args.out_dir, exist_ok=True)
    models = dict(item.split("=", 1) for item in args.model)

    truth = load(args.truth)
    steps = args.steps
    phi = phi_q(truth["Q"][0, :steps + 1])
    amplitude = float(np.abs(phi).max())
    amplitude_maxq = float(np.abs(truth["Q"][0, :steps + 1]).max())
    preds, curves, long_curves, test_curves = {}, {}, {}, {}
    test_truth = load(args.test_truth) if args.test_truth else None
    for name, run in models.items():
        preds[name] = load(os.path.join(run, f"rollout_clean{sfx}.h5"))
        full = rmse(preds[name], truth, preds[name]["Q"].shape[1] - 1)
        long_curves[name] = full["total"][0]
        curves[name] = {k: v[0, :steps + 1] for k, v in full.items()}
        if test_truth is not None:
            pt = load(os.path.join(run, f"rollout_test{sfx}.h5"))
            test_curves[name] = {k: v.mean(0) for k, v in rmse(pt, test_truth, steps).items()}

    write_csv(os.path.join(args.out_dir, f"shallow_quench{sfx}.csv"), truth["t"], curves, steps)
    if test_curves:
        write_csv(os.path.join(args.out_dir, f"shallow_quench_test{sfx}.csv"), test_truth["t"], test_curves, steps)

    summary = {}
    for name, run in models.items():
        c = curves[name]
        n_long = len(long_curves[name]) - 1
        q_long = rmse(preds[name], truth, n_long)["Q"][0]
        out = {
            "model": name, "scale": scale_note(run),
            "cdw_amplitude_definition": f"A = max over steps 0..{steps} of |phi_Q(t)| of the exact clean quench, "
                                        "phi_Q = (1/L) sum_i (-1)^i Q_i",
            "cdw_amplitude": amplitude, "max_abs_Q_truth": amplitude_maxq,
            "steps": steps, "t_final": float(truth["t"][steps]),
            f"rmse_Q_step{steps}": float(c["Q"][steps]),
            f"rmse_Q_step{steps}_over_A": float(c["Q"][steps] / amplitude),
            f"max_rmse_Q_to_step{steps}_over_A": float(c["Q"][1:].max() / amplitude),
            f"max_abs_dQ_to_step{steps}_over_A": float(np.abs(preds[name]["Q"][0, :steps + 1]
                                                              - truth["Q"][0, :steps + 1]).max() / amplitude),
            f"acceptance_below_1pct": bool(c["Q"][steps] / amplitude < 0.01),
            f"rmse_step{steps}": {k: float(c[k][steps]) for k in ("Q", "P", "rho", "total")},
            f"mean_rmse_steps1to{steps}": {k: float(c[k][1:].mean()) for k in ("Q", "P", "rho", "total")},
            f"rollout_{n_long}_steps": {"rmse_Q_final": float(q_long[-1]), "rmse_Q_final_over_A": float(q_long[-1] / amplitude),
                                        "rmse_total_final": float(long_curves[name][-1]),
                                        "max_rmse_Q_over_A": float(q_long[1:].max() / amplitude)},
        }
        if name in test_curves:
            tc = test_curves[name]
            out[f"test_set_mean_rmse_step{steps}"] = {k: float(tc[k][steps]) for k in ("Q", "P", "rho", "total")}
            out[f"test_set_rmse_Q_step{steps}_over_A"] = float(tc["Q"][steps] / amplitude)
        for label in ("metrics_test", "metrics_clean") if not sfx else ():
            path = os.path.join(run, f"{label}.json")
            if os.path.exists(path):
                with open(path) as f:
                    ev = relative_paths(json.load(f))
                if label == "metrics_clean":  # keep the JSON small: the full curve is in the CSV/PNG
                    curve = ev.pop("rollout_rmse_total")
                    ev["rollout_rmse_total_every_100"] = curve[99::100]
                out[f"graphqd_evaluate_{label.split('_')[1]}"] = ev
        with open(os.path.join(args.out_dir, f"metrics_{name}{sfx}.json"), "w") as f:
            json.dump(out, f, indent=1)
        summary[name] = out
        print(f"{name:14s} RMSE_Q(step {steps}) = {c['Q'][steps]:.3e} = {100 * c['Q'][steps] / amplitude:.2f}% of A "
              f"(A = {amplitude:.4f}); max over steps {100 * c['Q'][1:].max() / amplitude:.2f}%; "
              f"RMSE total {c['total'][steps]:.3e}; {n_long}-step RMSE_Q {q_long[-1]:.3e}")

    snaps = args.snapshots or sorted({s for s in (50, 100, 200, steps) if s <= steps})
    figure(os.path.join(args.out_dir, f"shallow_quench{sfx}.png"), truth, preds, curves, long_curves, steps, snaps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
