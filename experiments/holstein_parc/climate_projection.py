"""Issue 6, experiment 7 with invariant projections: the deep-quench climate of free-running surrogate
rollouts with and without `graphqd rollout --conserve spectrum --conserve energy` (or `energy-rho`), against the exact
ensemble of the same held-out quenches.

Reads the exact store (``graphqd simulate``, at least as long as the rollouts) and rollout stores
(``graphqd rollout`` from snapshot 0 of the same store), each given as NAME=PATH. Statistics pool all runs
over rollout steps --burn-in ... end, as ``deep_quench.py``:

* max |ΔC(τ)|, τ ≤ --max-lag, of the CDW order parameters φ_Q and φ_ρ (acceptance: ≤ 0.1);
* Wasserstein-1 distance of the marginals of Q (acceptance: ≤ 0.1 std(Q)), P and ρ_ii over their std;
* the invariants along the rollout: energy per site, trace, Hermiticity, and the spectrum of ρ (max |Δλ|
  and Tr ρ²), which the exact (unitary) dynamics conserves, and how the energy is split between its terms
  (electron hopping, coupling, phonon kinetic and potential energy);
* the sampling floor: the same statistics between the two halves of the exact ensemble, and (--reference) between
  the truth and an independent exact ensemble of the same size, which is what a statistically perfect
  surrogate would score.

Writes to --out-dir: climate_projection.csv (C(τ) of truth and rollouts), climate_projection.json and
climate_projection.png (C(τ) of φ_Q and φ_ρ, the marginals of Q and ρ_ii, energy per site and Tr ρ² vs t).

Usage (from the repository root; run_deep.sh climate drives it):
    python experiments/holstein_parc/climate_projection.py --truth data/deep_climate.h5 \
        --rollout "graph PARC=runs/.../rollout_climate.h5" \
        --rollout "graph PARC, projected=runs/.../rollout_climate_conserve.h5" \
        --out-dir experiments/holstein_parc/results
"""
from __future__ import annotations

import argparse
import csv
import json
import os

import h5py
import numpy as np

from deep_quench import invariants, load, params_of, phis
from graphqd.evaluate import metrics

TARGET = 0.1


def spectrum_drift(rho: np.ndarray) -> dict:
    """Max |λ(t) − λ(0)| of each run's ρ spectrum, and the run-mean Tr ρ² over time (every 100th frame)."""
    frames = rho[:, ::100]
    spectra = np.linalg.eigvalsh((frames + np.conj(np.swapaxes(frames, -1, -2))) / 2)
    purity = np.real(np.einsum("rtij,rtji->rt", frames, frames))
    return {"spectrum_drift": float(np.abs(spectra - spectra[:, :1]).max()),
            "purity_start": float(purity[:, 0].mean()), "purity_end": float(purity[:, -1].mean()),
            "purity_curve": purity.mean(0)}


def energy_terms(d: dict, params, burn_in: int) -> dict:
    """Mean per site over runs and frames burn_in … end (every 10th) of the terms of E (chains, nearest neighbours):
    electron hopping Tr(h₀ρ), coupling −g Σ(ρ_ii − ½)Q_i, phonon kinetic Σ P²/2m and potential K Σ Q²/2."""
    Q, P, rho = d["Q"][:, burn_in::10], d["P"][:, burn_in::10], d["rho"][:, burn_in::10]
    n = np.real(np.diagonal(rho, axis1=-2, axis2=-1))
    L = Q.shape[-1]
    bonds = np.real(rho[..., np.arange(L), (np.arange(L) + 1) % L])
    if params.boundary != "periodic":
        bonds = bonds[..., :-1]
    terms = {"hopping": -2 * params.hopping * bonds.sum(-1), "coupling": -params.g * ((n - 0.5) * Q).sum(-1),
             "phonon_kinetic": (P ** 2).sum(-1) / (2 * params.mass),
             "phonon_potential": params.stiffness * (Q ** 2).sum(-1) / 2}
    return {k: float(v.mean() / L) for k, v in terms.items()}


def late_occupations(d: dict, burn_in: int) -> np.ndarray:
    """ρ_ii of all runs, sites and frames burn_in … end, flattened."""
    return np.real(np.diagonal(d["rho"][:, burn_in:], axis1=-2, axis2=-1)).ravel()


def climate(pred: dict, truth: dict, burn_in: int, max_lag: int) -> dict:
    """Climate statistics of `pred` against `truth` over frames burn_in … end (equal lengths)."""
    n = pred["Q"].shape[1]
    C_pred = [metrics.autocorrelation(p[:, burn_in:], max_lag) for p in phis(pred)]
    C_truth = [metrics.autocorrelation(p[:, burn_in:n], max_lag) for p in phis(truth)]
    diag = lambda d: np.real(np.diagonal(d["rho"][:, burn_in:n], axis1=-2, axis2=-1))  # noqa: E731
    w1 = {"Q": (pred["Q"][:, burn_in:], truth["Q"][:, burn_in:n]),
          "P": (pred["P"][:, burn_in:], truth["P"][:, burn_in:n]), "rho_ii": (diag(pred), diag(truth))}
    names = ("phi_Q", "phi_rho")
    return {"autocorr_maxdiff": {k: float(np.abs(a - b).max()) for k, a, b in zip(names, C_pred, C_truth)},
            "wasserstein_over_std": {k: float(metrics.wasserstein1(a, b) / b.std()) for k, (a, b) in w1.items()},
            "C": C_pred}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--truth", required=True, help="exact store of the held-out quenches (as long as the rollouts)")
    ap.add_argument("--rollout", action="append", required=True, metavar="NAME=PATH")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--reference", help="a second exact store, same size, other seed: the score of a statistically "
                                        "perfect surrogate against the same truth (the floor at the full ensemble "
                                        "size)")
    ap.add_argument("--burn-in", type=int, default=1000, help="statistics use rollout steps >= this")
    ap.add_argument("--max-lag", type=int, default=250)
    ap.add_argument("--device-note", default="CPU, 1 thread")
    ap.add_argument("--plot", nargs="+", metavar="NAME", help="the rollouts drawn in the figure (default: all; every "
                                                              "rollout is in the CSV and JSON)")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    rollouts = dict(r.split("=", 1) for r in args.rollout)
    unknown = set(args.plot or ()) - set(rollouts)
    if unknown:
        raise SystemExit(f"--plot {sorted(unknown)}: not among the --rollout names {list(rollouts)}")

    truth = load(args.truth)
    params, dt, b = params_of(truth["attrs"]), float(truth["attrs"]["dt"]), args.burn_in
    runs = truth["Q"].shape[0]
    half = runs // 2
    first = {k: truth[k][:half] for k in ("Q", "P", "rho")}
    second = {k: truth[k][half:2 * half] for k in ("Q", "P", "rho")}
    floor = climate(first, second, b, args.max_lag)
    floor.pop("C")
    C_truth = [metrics.autocorrelation(p[:, b:], args.max_lag) for p in phis(truth)]
    truth_inv = invariants(truth, params)
    truth_spec = spectrum_drift(truth["rho"])
    print(f"truth: {runs} runs x {truth['Q'].shape[1] - 1} steps; half vs half {floor}")
    if args.reference:
        reference = load(args.reference)
        if reference["Q"].shape != truth["Q"].shape:
            raise SystemExit(f"--reference {args.reference}: shape {reference['Q'].shape} differs from the truth's "
                             f"{truth['Q'].shape}")
        independent = climate(reference, truth, b, args.max_lag)
        independent.pop("C")
        print(f"independent exact ensemble ({args.reference}) vs truth: {independent}")

    results, curves, marginals = {}, {}, {}
    for name, path in rollouts.items():
        pred = load(path)
        with h5py.File(path, "r") as f:
            conserve = str(f.attrs.get("conserve", ""))
            source = os.path.abspath(str(f.attrs["source_data"]))
            checkpoint = os.path.relpath(str(f.attrs["surrogate_checkpoint"]))
        if source != os.path.abspath(args.truth) or int(pred["attrs"]["start_snapshot"]) != 0:
            raise SystemExit(f"{path}: rolled out from {source} snapshot {pred['attrs']['start_snapshot']}, "
                             f"not from snapshot 0 of {args.truth}")
        n = pred["Q"].shape[1]
        if n <= b + args.max_lag or n > truth["Q"].shape[1] or pred["Q"].shape[0] != runs:
            raise SystemExit(f"{path}: {pred['Q'].shape[0]} runs x {n - 1} steps do not fit the truth "
                             f"({runs} runs x {truth['Q'].shape[1] - 1} steps), burn-in {b} and lag {args.max_lag}")
        stats = climate(pred, truth, b, args.max_lag)
        curves[name] = stats.pop("C")
        marginals[name] = (pred["Q"][:, b:].ravel(), late_occupations(pred, b))
        inv = invariants(pred, params)
        energy = inv.pop("energy_per_site")
        spec = spectrum_drift(pred["rho"])
        dC, w = stats["autocorr_maxdiff"], stats["wasserstein_over_std"]
        results[name] = {
            "rollout": os.path.relpath(path), "checkpoint": checkpoint, "conserve": conserve,
            "runs": runs, "steps": n - 1, "burn_in_steps": b, "max_lag": args.max_lag, "device": args.device_note,
            "acceptance": {"autocorr_maxdiff": dC, "autocorr_met": {k: v <= TARGET for k, v in dC.items()},
                           "wasserstein_Q_over_std": w["Q"], "wasserstein_met": w["Q"] <= TARGET,
                           "bounded": inv["finite"] and inv["max_abs_Q"] < 10 * truth_inv["max_abs_Q"]},
            "wasserstein_over_std": w, "energy_terms_per_site": energy_terms(pred, params, b),
            "invariants": dict(inv, spectrum_drift=spec["spectrum_drift"], purity_start=spec["purity_start"],
                               purity_end=spec["purity_end"]),
            "energy_curve": energy.mean(0)[::100], "purity_curve": spec["purity_curve"]}
        print(f"{name}: max|dC| phi_Q {dC['phi_Q']:.3f} phi_rho {dC['phi_rho']:.3f}; W1/std Q {w['Q']:.3f} "
              f"P {w['P']:.3f} rho_ii {w['rho_ii']:.3f}; E drift {inv['energy_drift_per_site']:.3g}; "
              f"spectrum drift {spec['spectrum_drift']:.2g}; Tr rho^2 {spec['purity_end']:.3f}; phonon kinetic / site "
              f"{results[name]['energy_terms_per_site']['phonon_kinetic']:.4f}")

    with open(os.path.join(args.out_dir, "climate_projection.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["lag", "tau"] + [f"C_{v}_{m}" for v in ("phi_Q", "phi_rho") for m in ["truth"] + list(curves)])
        for lag in range(args.max_lag + 1):
            w.writerow([lag, f"{lag * dt:.2f}"] + [f"{(C_truth if m == 'truth' else curves[m])[i][lag]:.5f}"
                                                   for i in range(2) for m in ["truth"] + list(curves)])
    summary = {"truth": {"store": os.path.relpath(args.truth), "runs": runs, "steps": truth["Q"].shape[1] - 1,
                         "half_vs_half": floor,
                         "independent_ensemble": ({"store": os.path.relpath(args.reference), **independent}
                                                  if args.reference else None),
                         "spectrum_drift": truth_spec["spectrum_drift"],
                         "energy_terms_per_site": energy_terms(truth, params, b),
                         "energy_drift_per_site": truth_inv["energy_drift_per_site"]},
               "target": TARGET,
               "models": {k: {kk: vv for kk, vv in v.items() if not kk.endswith("_curve")} for k, v in results.items()}}
    with open(os.path.join(args.out_dir, "climate_projection.json"), "w") as f:
        json.dump(summary, f, indent=1)
    drawn = args.plot or list(rollouts)
    figure(os.path.join(args.out_dir, "climate_projection.png"), truth, C_truth,
           {k: curves[k] for k in drawn}, {k: results[k] for k in drawn}, {k: marginals[k] for k in drawn}, b, dt,
           truth_spec, float(truth_inv["energy_per_site"].mean()))


def figure(path, truth, C_truth, curves, results, marginals, b, dt, truth_spec, truth_energy) -> None:
    """One colour per checkpoint; solid bare, dashed projected with the energy through (Q, P), dotted through ρ;
    diverged rollouts are left out of all but the C(τ) panels."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    checkpoints = list(dict.fromkeys(r["checkpoint"] for r in results.values()))
    cmap = plt.get_cmap("tab20" if len(checkpoints) > 10 else "tab10")
    style = {name: {"color": cmap(checkpoints.index(r["checkpoint"])),
                    "ls": ":" if "energy-rho" in r["conserve"] else "--" if r["conserve"] else "-"}
             for name, r in results.items()}
    fig, ax = plt.subplots(2, 3, figsize=(15, 8))
    lag = np.arange(len(C_truth[0])) * dt
    for i, label in enumerate(("φ_Q", "φ_ρ")):
        ax[0, i].plot(lag, C_truth[i], "k", lw=2.5, label="exact")
        for name, C in curves.items():
            ax[0, i].plot(lag, C[i], label=name, **style[name])
        ax[0, i].set(xlabel="lag τ", ylabel=f"C(τ) of {label}", title=f"autocorrelation of {label}")
    bins_Q = np.linspace(-5, 5, 81)
    ax[0, 2].hist(truth["Q"][:, b:].ravel(), bins_Q, density=True, histtype="step", color="k", lw=2.5, label="exact")
    bins_n = np.linspace(-0.1, 1.1, 61)
    ax[1, 0].hist(late_occupations(truth, b), bins_n, density=True, histtype="step", color="k", lw=2.5, label="exact")
    diverged = [name for name, r in results.items() if not r["acceptance"]["bounded"]]
    for name, (Q, occupations) in marginals.items():
        if name in diverged:
            continue
        ax[0, 2].hist(Q, bins_Q, density=True, histtype="step", label=name, **style[name])
        ax[1, 0].hist(occupations, bins_n, density=True, histtype="step", label=name, **style[name])
    ax[0, 2].set(xlabel="Q_i", ylabel="density", title=f"marginal of Q (steps ≥ {b})")
    ax[1, 0].set(xlabel="ρ_ii", ylabel="density", title=f"marginal of ρ_ii (steps ≥ {b})")
    t_frames = np.arange(0, truth["Q"].shape[1], 100) * dt
    for name, r in results.items():
        if name not in diverged:
            ax[1, 1].plot(t_frames[:len(r["energy_curve"])], r["energy_curve"], label=name, **style[name])
            ax[1, 2].plot(t_frames[:len(r["purity_curve"])], r["purity_curve"], label=name, **style[name])
    ax[1, 1].axhline(truth_energy, color="k", lw=2.5, label="exact")
    ax[1, 2].plot(t_frames, truth_spec["purity_curve"], "k", lw=2.5, label="exact")
    left_out = f" (diverged, only in C(τ): {', '.join(diverged)})" if diverged else ""
    ax[1, 1].set(xlabel="t", ylabel="E / L (run mean)", title="energy per site" + left_out)
    ax[1, 2].set(xlabel="t", ylabel="Tr ρ² (run mean)", title="purity (spectrum of ρ)")
    ax[1, 1].title.set_fontsize(8 if diverged else 12)
    fig.suptitle(f"deep quench g 0 → 2.0, L = 8: climate of {truth['Q'].shape[0]} held-out quenches, "
                 f"{truth['Q'].shape[1] - 1}-step rollouts")
    fig.tight_layout()
    fig.legend(*ax[0, 0].get_legend_handles_labels(), loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.savefig(path, dpi=120, bbox_inches="tight")


if __name__ == "__main__":
    main()
