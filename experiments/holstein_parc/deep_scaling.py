"""Issue 6, experiment 8 for the deep quench: L = 8-trained deep-quench models on longer chains against the
exact Ehrenfest solver at the same length.

Reads rollout stores written by ``graphqd rollout --lattice L`` (fresh deep quenches of L sites made with the
data's recipe and seeds; the exact trajectory beside each as ``*_exact.h5``), given as NAME:L=PATH. The deep
quench is chaotic (Lyapunov time about 4.8), so pointwise errors are reported only while they mean something
and the later dynamics are compared statistically:

* RMSE_total (DESIGN §6, whole matrix) at steps 100, 400 and the last, over the climate scale σ of the exact
  runs (rmse_total of the states from their pooled mean; RMSE/σ ≈ 1 is no skill);
* the CDW domains that form after the nucleation (t ≳ 40): fraction of polaron sites |Q_i| > 1 and the
  Wasserstein-1 distance of the Q marginal over its std, both over steps --late ... end, pooled over runs and
  sites, against the exact runs;
* the energy drift per site, max_t |E(t) − E(0)|/L, mean over runs, and the exact solver's.

Writes deep_scaling.csv and deep_scaling.json to --out-dir.

Usage (from the repository root; run_scaling.sh deep drives it):
    python experiments/holstein_parc/deep_scaling.py --rollout "strang_graph:32=runs/.../deep_strang_graph_L32.h5" \
        --out-dir experiments/holstein_parc/results
"""
from __future__ import annotations

import argparse
import csv
import json
import os

import h5py
import numpy as np

from deep_quench import climate_scale, invariants, load, params_of, rmse
from graphqd.evaluate import metrics


def statistics(pred: dict, exact: dict, late: int) -> dict:
    """The comparison of one (model, L) rollout store with its exact trajectories (see the module docstring)."""
    n = pred["Q"].shape[1]
    errors = rmse(pred, exact)["total"]
    sigma = climate_scale({k: exact[k][:, :n] for k in ("Q", "P", "rho")})
    params = params_of(exact["attrs"])
    def drift(d: dict) -> float:
        energy = invariants({k: d[k][:, :n] for k in ("Q", "P", "rho")}, params)["energy_per_site"]
        return float(np.abs(energy - energy[:, :1]).max(-1).mean())
    pQ, tQ = pred["Q"][:, late:], exact["Q"][:, late:n]
    return {"runs": int(pred["Q"].shape[0]), "steps": n - 1, "climate_scale": sigma,
            "rmse_over_sigma": {str(s): float(errors[:, s].mean() / sigma) for s in (100, 400, n - 1) if s < n},
            "polaron_fraction": {"model": float((np.abs(pQ) > 1).mean()), "exact": float((np.abs(tQ) > 1).mean())},
            "wasserstein_Q_over_std": float(metrics.wasserstein1(pQ, tQ) / tQ.std()),
            "energy_drift_per_site": {"model": drift(pred), "exact": drift(exact)},
            "finite": bool(np.isfinite(pred["Q"]).all() and np.isfinite(pred["rho"]).all())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rollout", action="append", required=True, metavar="NAME:L=PATH")
    ap.add_argument("--late", type=int, default=500, help="domain statistics use steps >= this (t = 40)")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--device-note", default="CPU, 1 thread")
    args = ap.parse_args()
    rows = []
    for item in args.rollout:
        key, path = item.split("=", 1)
        name, L = key.rsplit(":", 1)
        exact_file = f"{os.path.splitext(path)[0]}_exact.h5"
        pred, exact = load(path), load(exact_file)
        with h5py.File(path, "r") as f:
            conserve = str(f.attrs.get("conserve", ""))
            checkpoint = os.path.relpath(str(f.attrs["surrogate_checkpoint"]))
        row = {"model": name, "L": int(L), "conserve": conserve, "checkpoint": checkpoint,
               "rollout": os.path.relpath(path), **statistics(pred, exact, args.late)}
        rows.append(row)
        print(f"{name:22s} L = {L:>4}: RMSE/sigma {row['rmse_over_sigma']}; polaron fraction "
              f"{row['polaron_fraction']['model']:.3f} (exact {row['polaron_fraction']['exact']:.3f}); "
              f"W1(Q)/std {row['wasserstein_Q_over_std']:.3f}; E drift {row['energy_drift_per_site']['model']:.3g}")
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "deep_scaling.json"), "w") as f:
        json.dump({"scale": "REDUCED CPU SCALE: width-32 deep-quench models trained at L = 8 (run_deep.sh)",
                   "device": args.device_note, "late_steps_from": args.late, "rows": rows}, f, indent=1)
    with open(os.path.join(args.out_dir, "deep_scaling.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "L", "runs", "conserve",
                    "rmse_over_sigma_100", "rmse_over_sigma_400", "rmse_over_sigma_last",
                    "polaron_fraction", "polaron_fraction_exact", "wasserstein_Q_over_std", "energy_drift_per_site",
                    "energy_drift_per_site_exact", "finite"])
        for r in rows:
            e = r["rmse_over_sigma"]
            w.writerow([r["model"], r["L"], r["runs"], r["conserve"], f"{e.get('100', float('nan')):.4g}",
                        f"{e.get('400', float('nan')):.4g}", f"{e[str(r['steps'])]:.4g}",
                        f"{r['polaron_fraction']['model']:.4f}", f"{r['polaron_fraction']['exact']:.4f}",
                        f"{r['wasserstein_Q_over_std']:.4f}", f"{r['energy_drift_per_site']['model']:.4g}",
                        f"{r['energy_drift_per_site']['exact']:.4g}", r["finite"]])


if __name__ == "__main__":
    main()
