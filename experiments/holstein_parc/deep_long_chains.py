"""Issue 18, the deep quench on long chains: the climate of free-running surrogate rollouts against an exact
ensemble at the same L, from stores with ρ on a band (or dense).

The deep quench (g 0 → 2) is chaotic, so, as in experiment 7, the rollouts are compared statistically over
steps --burn-in … end, pooled over runs:

* max |ΔC(τ)|, τ ≤ --max-lag, of the CDW order parameters φ_Q = (1/L) Σ (−1)^i Q_i and
  φ_ρ = (1/L) Σ (−1)^i ρ_ii (acceptance ≤ 0.1);
* the Wasserstein-1 distance of the Q marginal over std(Q) (≤ 0.1), W1 = ∫₀¹ |F⁻¹(u) − F⁻¹_exact(u)| du
  from the quantile functions at 10,000 levels, and the polaron fraction |Q_i| > 1 (within 0.03 of exact);
* the energy drift per site, max_t |E(t) − E(0)|/L, worst run (≤ 0.05 over 10,000 steps), and the trace drift;
* where the energy sits: the lattice kinetic energy per site ⟨P²⟩/2m and the 10 % quantile of ρ_ii, of the
  rollouts and of the truth (a surrogate whose polarons bind too strongly empties sites too far and heats the
  lattice at the same total energy);
* when the polarons form: the nucleation time, the first time the polaron fraction averaged over runs reaches half
  the truth's mean over the statistics window (the exact deep quench grows its CDW out of a seed of order 1e-4 at
  the rate of the Peierls instability, so a surrogate that disturbs the free Fermi sea nucleates early);
* where it comes from: the lattice energy E_lat = Σ P²/2m + K Q²/2 changes only by the work of the electrons'
  force, dE_lat/dt = Σ_i (P_i/m) g (ρ_ii − ½) (DESIGN §3.1). The rest, ΔE_lat − ∫ that power dt (trapezoidal
  over the stored frames), per site and unit time, is the power a surrogate's lattice step adds by itself
  (the truth's is its quadrature error).

The energy needs only Q, P, ρ_ii and the bonds ρ_{i,i+1} (DESIGN §3.1), so the whole statistic reads the
band (`rho_band`) without building L × L matrices; stores are read one run at a time. --reference, a second
exact ensemble of the same size and recipe with another seed, gives what a statistically perfect surrogate
scores (the sampling floor).

Each ensemble is reduced to its climate (`ensemble_climate`), a few hundred kB however long the runs.
--keep-climates DIR writes them; any store argument can then be given as its climate (.npz), so the exact ensembles
of long chains, hours of exact dynamics each, need to be run only once.

Writes deep_long_chains_<tag>.json and a figure deep_long_chains_<tag>.png (C(τ) of φ_Q, the Q marginal and the
lattice kinetic energy against time, of the truth and of the rollouts) to --out-dir and prints a table.

Usage (from the repository root; run_long_chains.sh deep drives it):
    python experiments/holstein_parc/deep_long_chains.py --truth data/deep_climate_L256.h5 \
        --reference data/deep_climate_b_L256.h5 --rollout "deep_graph, energy-band=runs/.../rollout.h5" \
        --tag L256 --out-dir experiments/holstein_parc/results/long_chains
"""
from __future__ import annotations

import argparse
import json
import os

import h5py
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from graphqd.data.density_band import BAND, DENSE, RADIUS_ATTR, read_occupations
from graphqd.evaluate import metrics

QUANTILES = 10_000                 # levels of the Q marginal's quantile function kept for W1
BINS = np.linspace(-6, 6, 121)     # of the Q marginal drawn


def read(path: str, frames: int | None = None) -> dict:
    """Q, P, ρ_ii, Re ρ_{i,i+1} (runs, T, L; float32 as stored) and the model parameters of a Holstein store
    (band or dense)."""
    with h5py.File(path, "r") as f:
        T = f["Q"].shape[1] if frames is None else frames
        out = {"Q": f["Q"][:, :T], "P": f["P"][:, :T]}
        n, bonds = [], []
        L = f["Q"].shape[-1]
        for run in range(f["Q"].shape[0]):
            n.append(read_occupations(f, run, slice(0, T)))
            if BAND in f:
                bonds.append(f[BAND][run, :T, :, int(f.attrs[RADIUS_ATTR]) + 1].real)
            else:
                bonds.append(f[DENSE][run, :T][:, np.arange(L), (np.arange(L) + 1) % L].real)
        out["n"], out["bonds"] = np.stack(n).astype(np.float32), np.stack(bonds).astype(np.float32)
        attrs = f.attrs
        out["params"] = {k: float(attrs[k]) for k in ("hopping", "stiffness", "mass", "g_final")}
        out["periodic"] = str(attrs["boundary"]) == "periodic"
        out["dt"] = float(f["t"][1] - f["t"][0])
        out["conserve"] = str(attrs.get("conserve", ""))
    return out


def energy_per_site(d: dict) -> np.ndarray:
    """E/L (runs, T): Σ P²/2m + K Σ Q²/2 − g Σ (ρ_ii − ½) Q_i − 2t Σ_i Re ρ_{i,i+1}."""
    p, L = d["params"], d["Q"].shape[-1]
    Q, P, n, bonds = (d[k].astype(np.float64) for k in ("Q", "P", "n", "bonds"))
    bonds = bonds if d["periodic"] else bonds[..., :-1]
    E = ((P ** 2).sum(-1) / (2 * p["mass"]) + p["stiffness"] * (Q ** 2).sum(-1) / 2
         - p["g_final"] * ((n - 0.5) * Q).sum(-1) - 2 * p["hopping"] * bonds.sum(-1))
    return E / L


def lattice_excess_power(d: dict, first: int, T: int) -> float:
    """(ΔE_lat − ∫ Σ_i (P_i/m) g (ρ_ii − ½) dt) / (L · time) over frames first … T − 1, mean over runs: the
    power the lattice gains beyond the electrons' work (module docstring)."""
    p, L = d["params"], d["Q"].shape[-1]
    Q, P, n = (d[k][:, first:T].astype(np.float64) for k in ("Q", "P", "n"))
    lattice = (P ** 2 / (2 * p["mass"]) + p["stiffness"] * Q ** 2 / 2).sum(-1)
    power = (P / p["mass"] * p["g_final"] * (n - 0.5)).sum(-1)
    work = ((power[:, 1:] + power[:, :-1]) / 2).sum(-1) * d["dt"]
    return float(((lattice[:, -1] - lattice[:, 0] - work) / (L * d["dt"] * (T - 1 - first))).mean())


def order_autocorrelation(d: dict, burn_in: int, T: int, max_lag: int) -> dict:
    """C(τ) of φ_Q and φ_ρ over frames burn_in … T − 1, pooled over runs."""
    sign = (-1.0) ** np.arange(d["Q"].shape[-1])
    return {name: metrics.autocorrelation((d[key][:, burn_in:T] * sign).mean(-1), max_lag)
            for name, key in (("phi_Q", "Q"), ("phi_rho", "n"))}


def kinetic_history(d: dict, block: int) -> np.ndarray:
    """⟨P²⟩/2m per site against time, averaged over runs, sites and blocks of `block` frames."""
    k = (d["P"].astype(np.float64) ** 2).mean(axis=(0, 2)) / (2 * d["params"]["mass"])
    n = len(k) // block
    return k[:n * block].reshape(n, block).mean(-1)


def ensemble_climate(d: dict, burn_in: int, max_lag: int) -> dict:
    """What the statistics and the figure need of one ensemble (an exact store or rollouts), over frames burn_in …
    end: C(τ) of φ_Q and φ_ρ, the Q marginal as its quantile function at the levels (k + ½)/QUANTILES (for W1)
    and as a density on BINS (for the figure), the polaron fraction over the window and per frame, the lattice
    kinetic energy, the 10 % quantile of ρ_ii, the lattice's excess power and the worst energy and trace drifts.
    A few hundred kB however long the runs, so the exact ensembles of long chains can be kept (`save_climate`)."""
    T, q = d["Q"].shape[1], d["Q"][:, burn_in:]
    C = order_autocorrelation(d, burn_in, T, max_lag)
    E, trace = energy_per_site(d), d["n"].sum(-1)
    finite = bool(np.isfinite(d["Q"]).all() and np.isfinite(d["n"]).all())
    return {"L": d["Q"].shape[-1], "runs": d["Q"].shape[0], "frames": T, "burn_in": burn_in, "max_lag": max_lag,
            "dt": d["dt"], "finite": finite, "C_phi_Q": C["phi_Q"], "C_phi_rho": C["phi_rho"],
            "Q_quantiles": np.quantile(q, (np.arange(QUANTILES) + 0.5) / QUANTILES) if finite else
            np.full(QUANTILES, np.nan), "Q_std": float(q.std()),
            "Q_density": np.histogram(q, BINS, density=True)[0] if finite else np.full(len(BINS) - 1, np.nan),
            "polaron_fraction": float((np.abs(q) > 1).mean()),
            "polaron_history": (np.abs(d["Q"]) > 1).mean(axis=(0, 2)),
            "kinetic": float((d["P"][:, burn_in:].astype(np.float64) ** 2).mean() / (2 * d["params"]["mass"])),
            "kinetic_history": kinetic_history(d, max(1, T // 100)),
            "occupation_q10": float(np.quantile(d["n"][:, burn_in:], 0.1)) if finite else float("nan"),
            "lattice_excess_power": lattice_excess_power(d, burn_in, T),
            "energy_drift": float(np.abs(E - E[:, :1]).max()), "energy_start_end": [float(E[:, 0].mean()),
                                                                                     float(E[:, -1].mean())],
            "trace_drift": float(np.abs(trace - trace[:, :1]).max()), "conserve": d["conserve"]}


def save_climate(path: str, c: dict) -> None:
    np.savez_compressed(path, **{k: np.asarray(v) for k, v in c.items()})


def load_climate(path: str, frames: int | None, burn_in: int, max_lag: int) -> dict:
    """The climate of an exact store or rollout store (read here) or of a file of `save_climate`; frames: the
    truth's length (a store is cut to it; a saved climate must have been taken over the same frames)."""
    if not path.endswith(".npz"):
        return ensemble_climate(read(path, frames), burn_in, max_lag)
    with np.load(path) as f:
        c = {k: f[k].item() if f[k].ndim == 0 else f[k] for k in f.files}
    for key, value in (("frames", frames), ("burn_in", burn_in), ("max_lag", max_lag)):
        if value is not None and c[key] != value:
            raise SystemExit(f"{path}: climate taken with {key} {c[key]}, here {value}; rerun it from its store")
    return c


def climate(c: dict, truth: dict) -> dict:
    """The statistics of the module docstring for the ensemble climate `c` against the truth's."""
    if c["frames"] < truth["frames"]:
        raise SystemExit(f"rollouts of {c['frames'] - 1} steps are shorter than the truth's {truth['frames'] - 1}")
    level = truth["polaron_fraction"] / 2
    t = np.arange(truth["frames"]) * truth["dt"]
    return {"runs": int(c["runs"]), "steps": int(truth["frames"]) - 1, "finite": bool(c["finite"]),
            "autocorr_maxdiff": {k: float(np.abs(c[f"C_{k}"] - truth[f"C_{k}"]).max()) for k in ("phi_Q", "phi_rho")},
            "wasserstein_Q_over_std": float(np.abs(c["Q_quantiles"] - truth["Q_quantiles"]).mean() / truth["Q_std"]),
            "polaron_fraction": c["polaron_fraction"], "polaron_fraction_exact": truth["polaron_fraction"],
            "nucleation_time": metrics.nucleation_time(c["polaron_history"], t, level),
            "nucleation_time_exact": metrics.nucleation_time(truth["polaron_history"], t, level),
            "lattice_kinetic_per_site": c["kinetic"], "lattice_kinetic_per_site_exact": truth["kinetic"],
            "occupation_q10": c["occupation_q10"], "occupation_q10_exact": truth["occupation_q10"],
            "lattice_excess_power_per_site": c["lattice_excess_power"],
            "energy_drift_per_site": c["energy_drift"], "energy_per_site_start_end": list(c["energy_start_end"]),
            "trace_drift": c["trace_drift"], "C": {k: c[f"C_{k}"].tolist() for k in ("phi_Q", "phi_rho")}}


def figure(path: str, title: str, truth: dict, rollouts: dict) -> None:
    """C(τ) of φ_Q and the Q marginal over steps burn_in … end, and the lattice kinetic energy per site against
    time from step 0: the truth and each rollout (ensemble climates)."""
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(14, 3.8))
    dt, block = truth["dt"], max(1, int(truth["frames"]) // 100)
    tau = np.arange(len(truth["C_phi_Q"])) * dt
    for name, c in {"exact": truth, **rollouts}.items():
        style = dict(color="black", lw=2.5, alpha=0.5) if name == "exact" else dict(lw=1.2)
        left.plot(tau, c["C_phi_Q"], label=name, **style)
        middle.stairs(c["Q_density"], BINS, label=name, **style)
        k = c["kinetic_history"]
        right.plot((np.arange(len(k)) + 0.5) * block * dt, k, **style)
    left.set(xlabel="τ", ylabel="C(τ) of φ_Q", title="autocorrelation of the CDW order")
    middle.set(xlabel="Q_i", ylabel="density", title="marginal of Q")
    right.axvline(truth["burn_in"] * dt, color="grey", lw=0.8, ls=":")
    right.set(xlabel="t", ylabel="⟨P²⟩/2m per site", title="lattice kinetic energy", ylim=(0, None))
    left.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--truth", required=True, help="exact store of the held-out quenches (as long as the rollouts), "
                    "or its climate (.npz, --keep-climates)")
    ap.add_argument("--reference", help="an independent exact store of the same size and recipe (the floor), or "
                    "its climate")
    ap.add_argument("--rollout", action="append", default=[], metavar="NAME=PATH",
                    help="a rollout store or its climate")
    ap.add_argument("--burn-in", type=int, default=1000, help="statistics use steps >= this")
    ap.add_argument("--max-lag", type=int, default=250)
    ap.add_argument("--tag", required=True, help="name of the output file: deep_long_chains_<tag>.json")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--keep-climates", metavar="DIR", help="also write the climate of every store read to "
                    "DIR/<store name>.npz (a few hundred kB), to score against later without the store")
    ap.add_argument("--device-note", default="2-core CPU, 1 thread per job")
    ap.add_argument("--plot", nargs="*", default=[], metavar="NAME", help="rollouts drawn in the figure (a handful)")
    args = ap.parse_args()

    def load(path: str, frames: int | None) -> dict:
        c = load_climate(path, frames, args.burn_in, args.max_lag)
        if args.keep_climates and not path.endswith(".npz"):
            os.makedirs(args.keep_climates, exist_ok=True)
            save_climate(os.path.join(args.keep_climates, os.path.basename(path).removesuffix(".h5") + ".npz"), c)
        return c

    truth = load(args.truth, None)
    T = int(truth["frames"])
    rows, plotted = {}, {}
    if args.reference:
        rows["exact, independent ensemble"] = dict(climate(load(args.reference, T), truth),
                                                   store=os.path.relpath(args.reference))
    for item in args.rollout:
        name, path = item.split("=", 1)
        c = load(path, T)
        rows[name] = dict(climate(c, truth), store=os.path.relpath(path), conserve=str(c["conserve"]))
        if name in args.plot:
            plotted[name] = c
    print(f"{'':34s} {'C phi_Q':>8s} {'C phi_rho':>9s} {'W1/std':>7s} {'polaron':>8s} {'(exact)':>8s} {'E drift':>8s}"
          f" {'P2/2m':>6s} {'(exact)':>7s} {'n q10':>6s} {'(exact)':>7s} {'lattice excess power':>20s} {'t_nucl':>6s}"
          f" {'(exact)':>7s}")
    for name, r in rows.items():
        c = r["autocorr_maxdiff"]
        print(f"{name:34s} {c['phi_Q']:8.3f} {c['phi_rho']:9.3f} {r['wasserstein_Q_over_std']:7.3f} "
              f"{r['polaron_fraction']:8.3f} {r['polaron_fraction_exact']:8.3f} {r['energy_drift_per_site']:8.3g} "
              f"{r['lattice_kinetic_per_site']:6.3f} {r['lattice_kinetic_per_site_exact']:7.3f} "
              f"{r['occupation_q10']:6.3f} {r['occupation_q10_exact']:7.3f} {r['lattice_excess_power_per_site']:20.2e} "
              f"{r['nucleation_time'] or float('nan'):6.2f} {r['nucleation_time_exact'] or float('nan'):7.2f}"
              + ("" if r["finite"] else "  (not finite)"))
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, f"deep_long_chains_{args.tag}.json"), "w") as f:
        json.dump({"truth": os.path.relpath(args.truth), "L": int(truth["L"]), "steps": T - 1,
                   "burn_in": args.burn_in, "max_lag": args.max_lag, "device": args.device_note,
                   "C_exact": {k: truth[f"C_{k}"].tolist() for k in ("phi_Q", "phi_rho")}, "rows": rows}, f, indent=1)
    figure(os.path.join(args.out_dir, f"deep_long_chains_{args.tag}.png"),
           f"deep quench, L = {int(truth['L'])}, {int(truth['runs'])} runs, steps {args.burn_in} … {T - 1}",
           truth, plotted)


if __name__ == "__main__":
    main()
