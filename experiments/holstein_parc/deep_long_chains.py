"""Issue 18, the deep quench on long chains: the climate of free-running surrogate rollouts against an exact
ensemble at the same L, from stores with ρ on a band (or dense).

The deep quench (g 0 → 2) is chaotic, so, as in experiment 7, the rollouts are compared statistically over
steps --burn-in … end, pooled over runs:

* max |ΔC(τ)|, τ ≤ --max-lag, of the CDW order parameters φ_Q = (1/L) Σ (−1)^i Q_i and
  φ_ρ = (1/L) Σ (−1)^i ρ_ii (acceptance ≤ 0.1);
* the Wasserstein-1 distance of the Q marginal over std(Q) (≤ 0.1), W1 = ∫ |F(Q) − F_exact(Q)| dQ from the CDFs
  on bins of 1e-3, and the polaron fraction |Q_i| > 1 (within 0.03 of exact);
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

Each ensemble is reduced to its climate (`ensemble_climate`), about 100 kB however long the runs, and the climates
of shards of an ensemble add up to the whole's (`merge`). --keep-climates DIR writes them; any store argument can
then be given as its climate (.npz), or as comma-separated parts, so the exact ensembles of long chains, hours of
exact dynamics each, are run once and a shard at a time.

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

Q_EDGES = np.linspace(-10, 10, 20_001)   # the Q marginal's histogram (W1 from its CDF, within 1e-3 of exact)
N_EDGES = np.linspace(-0.5, 1.5, 20_001)  # the occupations' (their 10 % quantile)
BINS = np.linspace(-6, 6, 121)           # of the Q marginal drawn: Q_EDGES' bins -6 ... 6 in groups of 100
Q_DRAWN = slice(4_000, 16_000)


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


def kinetic_history(d: dict) -> np.ndarray:
    """⟨P²⟩/2m per site against time (T,), averaged over runs and sites."""
    return (d["P"].astype(np.float64) ** 2).mean(axis=(0, 2)) / (2 * d["params"]["mass"])


def _histogram(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of x in the bins of the uniform `edges`, with the values below and above them in the first and last
    bin (and NaN in neither)."""
    return np.histogram(np.clip(x, edges[0], edges[-1]), edges)[0]


def ensemble_climate(d: dict, burn_in: int, max_lag: int) -> dict:
    """The sums over runs that the statistics and the figure need of one ensemble (an exact store, rollouts, or
    any part of either), over frames burn_in … end: for C(τ) of φ_Q and φ_ρ the pooled sums of x, x² and
    x_t x_{t+τ}; the Q marginal and the occupations ρ_ii as histograms on fine bins (Q_EDGES, N_EDGES); the
    polaron count over the window and per frame, ⟨P²⟩/2m per frame, the lattice's excess power; the worst energy
    and trace drifts. About 100 kB however long the runs; the climates of parts of an ensemble add up
    (`merge`) to the climate of the whole, so the runs of an ensemble can be simulated and rolled out a shard at a
    time and kept (`save_climate`)."""
    T, L, runs = d["Q"].shape[1], d["Q"].shape[-1], d["Q"].shape[0]
    sign = (-1.0) ** np.arange(L)
    c = {"L": L, "runs": runs, "frames": T, "burn_in": burn_in, "max_lag": max_lag, "dt": d["dt"],
         "conserve": d["conserve"], "finite": bool(np.isfinite(d["Q"]).all() and np.isfinite(d["n"]).all())}
    lags = np.arange(min(max_lag, T - burn_in - 1) + 1)
    for name, key in (("phi_Q", "Q"), ("phi_rho", "n")):
        x = (d[key][:, burn_in:].astype(np.float64) * sign).mean(-1)
        c[f"{name}_sums"] = np.array([x.size, x.sum(), (x ** 2).sum()])
        c[f"{name}_lag_sums"] = np.array([(x[:, :x.shape[1] - tau] * x[:, tau:]).sum() for tau in lags])
        c[f"{name}_lag_counts"] = runs * (x.shape[1] - lags)
    q = d["Q"][:, burn_in:].astype(np.float64)
    c["Q_sums"] = np.array([q.size, q.sum(), (q ** 2).sum()])
    c["Q_counts"] = _histogram(q, Q_EDGES)
    c["n_counts"] = _histogram(d["n"][:, burn_in:], N_EDGES)
    c["polarons"] = np.array([q.size, (np.abs(q) > 1).sum()])
    c["polaron_history_sum"] = (np.abs(d["Q"]) > 1).mean(axis=2).sum(0).astype(np.float32)   # per frame: float32
    c["kinetic_history_sum"] = (kinetic_history(d) * runs).astype(np.float32)               # keeps the files small
    c["lattice_excess_power_sum"] = lattice_excess_power(d, burn_in, T) * runs
    E, trace = energy_per_site(d), d["n"].sum(-1)
    c["energy_drift"], c["trace_drift"] = float(np.abs(E - E[:, :1]).max()), float(np.abs(trace - trace[:, :1]).max())
    c["energy_start_end_sum"] = np.array([E[:, 0].sum(), E[:, -1].sum()])
    return c


def merge(parts: list[dict]) -> dict:
    """The climate of the union of the runs of `parts` (climates of one recipe: same L, frames and window)."""
    c = dict(parts[0])
    for other in parts[1:]:
        for key in ("L", "frames", "burn_in", "max_lag", "dt"):
            if other[key] != c[key]:
                raise SystemExit(f"climates of different ensembles ({key} {c[key]} and {other[key]}) cannot be merged")
        for key, value in other.items():
            if key in ("energy_drift", "trace_drift"):
                c[key] = max(c[key], value)
            elif key == "finite":
                c[key] = c[key] and value
            elif key == "conserve" and value != c[key]:
                raise SystemExit(f"climates of rollouts with --conserve {c[key]} and {value} cannot be merged")
            elif key == "runs" or key.endswith(("_sums", "_sum", "_counts")) or key == "polarons":
                c[key] = c[key] + value
    return c


def statistics(c: dict) -> dict:
    """The ensemble's statistics from its climate: C(τ) = (⟨x_t x_{t+τ}⟩ − ⟨x⟩²)/(⟨x²⟩ − ⟨x⟩²) of φ_Q and φ_ρ
    (`metrics.autocorrelation` pooled over runs), the Q marginal's CDF on Q_EDGES and std, the polaron fraction
    over the window and per frame, ⟨P²⟩/2m, the 10 % quantile of ρ_ii, and the means over runs."""
    out, runs = {}, c["runs"]
    for name in ("phi_Q", "phi_rho"):
        n, s1, s2 = c[f"{name}_sums"]
        mean, var = s1 / n, s2 / n - (s1 / n) ** 2
        out[f"C_{name}"] = (c[f"{name}_lag_sums"] / c[f"{name}_lag_counts"] - mean ** 2) / var
    n, s1, s2 = c["Q_sums"]
    out["Q_std"] = float(np.sqrt(s2 / n - (s1 / n) ** 2))
    out["Q_cdf"] = np.cumsum(c["Q_counts"]) / c["Q_counts"].sum()
    coarse = c["Q_counts"][Q_DRAWN].reshape(len(BINS) - 1, -1).sum(-1)
    out["Q_density"] = coarse / (c["Q_counts"].sum() * (BINS[1] - BINS[0]))
    out["polaron_fraction"] = float(c["polarons"][1] / c["polarons"][0])
    out["polaron_history"] = c["polaron_history_sum"] / runs
    out["kinetic_history"] = c["kinetic_history_sum"] / runs
    out["kinetic"] = float(out["kinetic_history"][c["burn_in"]:].mean())
    cdf = np.cumsum(c["n_counts"]) / c["n_counts"].sum()
    out["occupation_q10"] = float(np.interp(0.1, cdf, N_EDGES[1:]))
    out["lattice_excess_power"] = float(c["lattice_excess_power_sum"] / runs)
    out["energy_start_end"] = (c["energy_start_end_sum"] / runs).tolist()
    return out


def save_climate(path: str, c: dict) -> None:
    np.savez_compressed(path, **{k: np.asarray(v) for k, v in c.items()})


def load_climate(paths: str, frames: int | None, burn_in: int, max_lag: int, keep: str | None = None) -> dict:
    """The climate of the runs of the comma-separated `paths`, each an exact or rollout store (read here, cut to
    `frames`, the truth's length, and written to `keep`/<store name>.npz when `keep` is given) or a file of
    `save_climate` (which must have been taken over the same frames and window)."""
    parts = []
    for path in paths.split(","):
        if not os.path.exists(path):
            raise SystemExit(f"{path} does not exist")
        if path.endswith(".npz"):
            with np.load(path) as f:
                c = {k: f[k].item() if f[k].ndim == 0 else f[k] for k in f.files}
            for key, value in (("frames", frames), ("burn_in", burn_in), ("max_lag", max_lag)):
                if value is not None and c[key] != value:
                    raise SystemExit(f"{path}: climate taken with {key} {c[key]}, here {value}; "
                                     "take it again from its store")
        else:
            d = read(path, frames)
            if d["Q"].shape[1] < burn_in + 2:
                raise SystemExit(f"{path}: {d['Q'].shape[1]} frames leave nothing after --burn-in {burn_in}")
            c = ensemble_climate(d, burn_in, max_lag)
            if keep:
                os.makedirs(keep, exist_ok=True)
                save_climate(os.path.join(keep, os.path.basename(path).removesuffix(".h5") + ".npz"), c)
        parts.append(c)
    return merge(parts)


def climate(c: dict, truth: dict) -> dict:
    """The statistics of the module docstring for the ensemble climate `c` against the truth's."""
    if c["frames"] < truth["frames"]:
        raise SystemExit(f"rollouts of {c['frames'] - 1} steps are shorter than the truth's {truth['frames'] - 1}")
    s, exact = statistics(c), statistics(truth)
    level = exact["polaron_fraction"] / 2
    t = np.arange(truth["frames"]) * truth["dt"]
    return {"runs": int(c["runs"]), "steps": int(truth["frames"]) - 1, "finite": bool(c["finite"]),
            "autocorr_maxdiff": {k: float(np.abs(s[f"C_{k}"] - exact[f"C_{k}"]).max()) for k in ("phi_Q", "phi_rho")},
            "wasserstein_Q_over_std": float(np.abs(s["Q_cdf"] - exact["Q_cdf"]).sum() * (Q_EDGES[1] - Q_EDGES[0])
                                            / exact["Q_std"]),
            "polaron_fraction": s["polaron_fraction"], "polaron_fraction_exact": exact["polaron_fraction"],
            "nucleation_time": metrics.nucleation_time(s["polaron_history"], t, level),
            "nucleation_time_exact": metrics.nucleation_time(exact["polaron_history"], t, level),
            "lattice_kinetic_per_site": s["kinetic"], "lattice_kinetic_per_site_exact": exact["kinetic"],
            "occupation_q10": s["occupation_q10"], "occupation_q10_exact": exact["occupation_q10"],
            "lattice_excess_power_per_site": s["lattice_excess_power"],
            "energy_drift_per_site": c["energy_drift"], "energy_per_site_start_end": s["energy_start_end"],
            "trace_drift": c["trace_drift"], "C": {k: s[f"C_{k}"].tolist() for k in ("phi_Q", "phi_rho")}}


def figure(path: str, title: str, truth: dict, rollouts: dict) -> None:
    """C(τ) of φ_Q and the Q marginal over steps burn_in … end, and the lattice kinetic energy per site against
    time from step 0 (in blocks of 1 % of the run): the truth and each rollout (ensemble climates)."""
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(14, 3.8))
    dt, block = truth["dt"], max(1, int(truth["frames"]) // 100)
    for name, c in {"exact": truth, **rollouts}.items():
        s = statistics(c)
        style = dict(color="black", lw=2.5, alpha=0.5) if name == "exact" else dict(lw=1.2)
        left.plot(np.arange(len(s["C_phi_Q"])) * dt, s["C_phi_Q"], label=name, **style)
        middle.stairs(s["Q_density"], BINS, label=name, **style)
        k = s["kinetic_history"][:int(truth["frames"])]
        k = k[:len(k) // block * block].reshape(-1, block).mean(-1)
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
    ap.add_argument("--truth", required=True, help="exact store(s) of the held-out quenches (as long as the "
                    "rollouts) or their climates (.npz, --keep-climates), comma-separated: shards of one ensemble")
    ap.add_argument("--reference", help="an independent exact ensemble of the same size and recipe (the floor), as "
                    "--truth")
    ap.add_argument("--rollout", action="append", default=[], metavar="NAME=PATH[,PATH...]",
                    help="rollout store(s) or their climates")
    ap.add_argument("--burn-in", type=int, default=1000, help="statistics use steps >= this")
    ap.add_argument("--max-lag", type=int, default=250)
    ap.add_argument("--tag", help="name of the output file: deep_long_chains_<tag>.json")
    ap.add_argument("--out-dir")
    ap.add_argument("--keep-climates", metavar="DIR", help="also write the climate of every store read to "
                    "DIR/<store name>.npz (about 100 kB), to score against later without the store; with --truth "
                    "alone, only that")
    ap.add_argument("--device-note", default="2-core CPU, 1 thread per job")
    ap.add_argument("--plot", nargs="*", default=[], metavar="NAME", help="rollouts drawn in the figure (a handful)")
    args = ap.parse_args()
    only_keep = args.keep_climates and not (args.reference or args.rollout)
    if not only_keep and not (args.tag and args.out_dir):
        ap.error("--tag and --out-dir are needed to score (only --keep-climates with --truth alone writes no score)")

    def load(paths: str, frames: int | None) -> dict:
        return load_climate(paths, frames, args.burn_in, args.max_lag, args.keep_climates)

    truth = load(args.truth, None)
    if only_keep:
        return
    T = int(truth["frames"])
    rows, plotted = {}, {}
    if args.reference:
        rows["exact, independent ensemble"] = dict(climate(load(args.reference, T), truth), store=args.reference)
    for item in args.rollout:
        name, path = item.split("=", 1)
        c = load(path, T)
        rows[name] = dict(climate(c, truth), store=path, conserve=str(c["conserve"]))
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
        json.dump({"truth": args.truth, "L": int(truth["L"]), "steps": T - 1, "burn_in": args.burn_in,
                   "max_lag": args.max_lag, "device": args.device_note,
                   "C_exact": {k: statistics(truth)[f"C_{k}"].tolist() for k in ("phi_Q", "phi_rho")},
                   "rows": rows}, f, indent=1)
    figure(os.path.join(args.out_dir, f"deep_long_chains_{args.tag}.png"),
           f"deep quench, L = {int(truth['L'])}, {int(truth['runs'])} runs, steps {args.burn_in} … {T - 1}",
           truth, plotted)


if __name__ == "__main__":
    main()
