"""Issue 6, experiments 2 and 7: deep quench g 0 -> 2.0 (L = 8), surrogate rollouts and the statistical
climate against the exact ensemble, and the Lyapunov exponent of the ground truth.

Reads the exact stores written by ``graphqd simulate`` and the rollout stores written by
``graphqd rollout`` (Q, P (runs, T, L), rho (runs, T, L, L), t (T,)). Each model's run directory must hold

* ``rollout_test.h5``    free-running rollout of the held-out test runs from t = 0 (the climate rollout,
                         e.g. 10,000 steps; the test truth must be at least as long);
* ``rollout_mid.h5``     rollout of the held-out runs from stored snapshot --mid-start (developed chaos);
* ``rollout_random.h5``  rollout of the "arbitrary nonequilibrium" runs from t = 0;
* ``metrics_test.json``, ``metrics_random.json``  ``graphqd evaluate`` outputs (one-step RMSE, valid time, ...).

Writes to --out-dir

* ``deep_quench.csv``          mean RMSE_Q, RMSE_P, RMSE_rho, total (DESIGN §6) vs rollout step, per model, for
                               the held-out runs from t = 0 ("test"), from --mid-start ("mid") and the random
                               states ("random"); every step to 400, then every 10th to 2500, then every 50th;
* ``deep_quench_climate.csv``  C(tau) of phi_Q and phi_rho, truth and models, tau = 0 ... --max-lag;
* ``deep_quench.png``          rollout error vs step, C(tau) truth vs models, marginals of Q, P, rho_ii,
                               Lyapunov separation, energy along the climate rollout;
* ``metrics_deep_<model>.json`` acceptance numbers and everything else reported.

Climate statistics (experiment 7) pool all runs over rollout steps --burn-in ... end (the deep-quench
transient of nucleation is over by t ~ 60); the truth ensemble is the same held-out runs over the same
steps. Lyapunov exponent: --lyap-runs held-out initial states regenerated in float64 from the test store's
recipe, integrated with holstein.simulate to snapshot --mid-start, then a copy displaced by 1e-8 (random
direction in Q) is integrated beside the reference for --lyap-steps snapshots; lambda is the slope of the
run-averaged ln d(t), d = sqrt(|dQ|^2 + |dP|^2 + |drho|_F^2), fitted where 1e-7 < d < 1e-2. The same is
done from t = 0 for reference (DESIGN §3.1: O(1) separation by t ~ 80).

Usage (from the repository root):
    python experiments/holstein_parc/deep_quench.py --test-truth data/deep_test.h5 \
        --random-truth data/deep_random.h5 --model graph=runs/holstein_parc/deep_small_graph \
        --model cnn=runs/holstein_parc/deep_small_cnn --out-dir experiments/holstein_parc/results
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import time

import h5py
import numpy as np
import torch
import yaml

from graphqd.data.recipes import holstein as recipe
from graphqd.evaluate import metrics
from graphqd.physics import holstein
from sweep_common import scale_note

LABELS = {"graph": "graph PARC", "cnn": "CNN PARC", "recurrent_cnn": "recurrent CNN"}
COLOURS = {"graph": "tab:blue", "cnn": "tab:orange", "recurrent_cnn": "tab:green"}
SETS = ("test", "mid", "random")


def load(path: str, steps: int | None = None, start: int = 0) -> dict:
    with h5py.File(path, "r") as f:
        stop = None if steps is None else start + steps + 1
        out = {"Q": f["Q"][:, start:stop].astype(np.float64), "P": f["P"][:, start:stop].astype(np.float64),
               "rho": f["rho"][:, start:stop].astype(np.complex128), "t": f["t"][start:stop].astype(np.float64)}
        out["attrs"] = {k: f.attrs[k] for k in f.attrs}
    return out


def params_of(attrs: dict) -> holstein.HolsteinParams:
    return holstein.HolsteinParams(L=int(attrs["n_sites"]), hopping=float(attrs["hopping"]),
                                   omega=float(attrs["omega"]), stiffness=float(attrs["stiffness"]),
                                   g=float(attrs["g_final"]), boundary=str(attrs["boundary"]))


def rmse(pred: dict, truth: dict) -> dict:
    """Per-run, per-step RMSE (runs, T): Q, P as sqrt(sum/L), rho as sqrt(sum |.|^2 / L^2)."""
    n = min(pred["Q"].shape[1], truth["Q"].shape[1])
    L = truth["Q"].shape[-1]
    out = {k: np.sqrt(((pred[k][:, :n] - truth[k][:, :n]) ** 2).sum(-1) / L) for k in ("Q", "P")}
    out["rho"] = np.sqrt((np.abs(pred["rho"][:, :n] - truth["rho"][:, :n]) ** 2).sum((-1, -2)) / L ** 2)
    out["total"] = out["Q"] + out["P"] + out["rho"]
    return out


def climate_scale(truth: dict) -> float:
    """Like graphqd.evaluate.holstein_metrics.climate_scale: rmse_total of the states from their pooled
    (scalar) mean, averaged over runs and frames."""
    L = truth["Q"].shape[-1]
    part = lambda x, norm: float(np.sqrt((np.abs(x - x.mean()) ** 2).reshape(*x.shape[:2], -1).sum(-1) / norm).mean())
    return part(truth["Q"], L) + part(truth["P"], L) + part(truth["rho"], L * L)


def phis(d: dict) -> tuple[np.ndarray, np.ndarray]:
    sign = (-1.0) ** np.arange(d["Q"].shape[-1])
    return (d["Q"] * sign).mean(-1), (np.real(np.diagonal(d["rho"], axis1=-2, axis2=-1)) * sign).mean(-1)


def invariants(d: dict, params: holstein.HolsteinParams) -> dict:
    L = d["Q"].shape[-1]
    Q, P, rho = (torch.from_numpy(d[k]) for k in ("Q", "P", "rho"))
    E = holstein.energy(holstein.State(Q, P, rho), params).numpy() / L                # (runs, T) per site
    tr = np.real(np.trace(d["rho"], axis1=-2, axis2=-1))
    herm = np.abs(d["rho"] - np.conj(np.swapaxes(d["rho"], -1, -2))).max((-1, -2))
    return {"energy_per_site": E, "energy_drift_per_site": float(np.abs(E - E[:, :1]).max()),
            "energy_drift_per_site_mean_over_runs": float(np.abs(E - E[:, :1]).max(-1).mean()),
            "trace_drift": float(np.abs(tr - tr[:, :1]).max()), "hermiticity_error": float(herm.max()),
            "max_abs_Q": float(np.abs(d["Q"]).max()), "finite": bool(np.isfinite(d["Q"]).all()
                                                                       and np.isfinite(d["rho"]).all())}


def valid_time(curve: np.ndarray, threshold: float, dt: float) -> np.ndarray:
    """curve (runs, T) with T[0] = step 0; time before the total error first exceeds threshold."""
    return metrics.valid_time(curve[:, 1:], threshold, dt)


def fit_window(logd: np.ndarray) -> np.ndarray:
    """Indices from the first time ln d exceeds ln 1e-7 up to (excluding) the first later time it exceeds ln 1e-2."""
    above = np.flatnonzero(logd > np.log(1e-7))
    if above.size == 0:
        return above
    first = above[0]
    top = np.flatnonzero(logd[first:] > np.log(1e-2))
    return np.arange(first, first + (top[0] if top.size else logd.size - first))


def lyapunov(test_store: str, runs: int, start: int, steps: int, seed: int = 0) -> dict:
    with h5py.File(test_store, "r") as f:
        config = yaml.safe_load(str(f.attrs["config"]))
        dt, substeps = float(f.attrs["dt"]), int(f.attrs["substeps"])
        params = params_of({k: f.attrs[k] for k in f.attrs})
    state0 = recipe.initial_states(config, range(runs), torch.device("cpu"))
    rng = np.random.default_rng(seed)

    def displaced(s: holstein.State) -> holstein.State:
        v = rng.normal(size=s.Q.shape)
        v = 1e-8 * v / np.linalg.norm(v, axis=-1, keepdims=True)
        return holstein.State(s.Q + torch.from_numpy(v), s.P.clone(), s.rho.clone())

    t0 = time.perf_counter()
    pre = holstein.simulate(state0, params, dt, start, substeps)
    mid = holstein.State(pre.Q[:, -1], pre.P[:, -1], pre.rho[:, -1])
    batch = holstein.State(*(torch.cat(parts) for parts in zip(state0, displaced(state0), mid, displaced(mid))))
    traj = holstein.simulate(batch, params, dt, steps, substeps)
    wall = time.perf_counter() - t0
    out = {"dt": dt, "runs": runs, "perturbation": 1e-8, "mid_start_snapshot": start, "snapshots": steps,
           "wall_s": wall, "method": "two runs 1e-8 apart (random direction in Q), holstein.simulate float64, "
                                     "slope of run-averaged ln d(t) where 1e-7 < d < 1e-2"}
    t = traj.t.numpy()
    for name, a in (("from_t0", 0), ("from_mid", 2)):
        r, p = slice(a * runs, (a + 1) * runs), slice((a + 1) * runs, (a + 2) * runs)
        d2 = ((traj.Q[p] - traj.Q[r]) ** 2).sum(-1) + ((traj.P[p] - traj.P[r]) ** 2).sum(-1) + \
            (torch.abs(traj.rho[p] - traj.rho[r]) ** 2).sum((-1, -2))
        logd = 0.5 * np.log(d2.numpy())                                                  # (runs, T)
        mean = logd.mean(0)
        idx = fit_window(mean)
        lam = float(np.polyfit(t[idx], mean[idx], 1)[0]) if idx.size >= 2 else float("nan")
        per_run = []
        for k in range(runs):
            w = fit_window(logd[k])
            per_run.append(float(np.polyfit(t[w], logd[k][w], 1)[0]) if w.size >= 2 else float("nan"))
        o1 = np.argmax(np.exp(mean) > 1.0) if (np.exp(mean) > 1.0).any() else -1
        out[name] = {"lambda": lam, "lyapunov_time": 1.0 / lam if lam > 0 else float("inf"),
                     "lambda_per_run": per_run, "fit_t_range": [float(t[idx[0]]), float(t[idx[-1]])] if idx.size else None,
                     "t_separation_O1": float(t[o1]) if o1 >= 0 else None,
                     "mean_log_d": mean.tolist()}
    out["t"] = t.tolist()
    return out


def rows_steps(n: int) -> list[int]:
    return [s for s in range(n) if s <= 400 or (s <= 2500 and s % 10 == 0) or s % 50 == 0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--test-truth", required=True, help="held-out deep-quench store (as long as the climate rollout)")
    ap.add_argument("--random-truth", required=True, help="'arbitrary nonequilibrium' store (holstein_random.yaml)")
    ap.add_argument("--model", action="append", required=True, metavar="NAME=RUN_DIR")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--burn-in", type=int, default=1000, help="climate statistics use rollout steps >= this")
    ap.add_argument("--mid-start", type=int, default=1000, help="snapshot of the mid-trajectory rollouts")
    ap.add_argument("--max-lag", type=int, default=250)
    ap.add_argument("--valid-threshold", type=float, default=0.5, help="x climate scale, as graphqd evaluate")
    ap.add_argument("--lyap-runs", type=int, default=4)
    ap.add_argument("--lyap-steps", type=int, default=2000)
    ap.add_argument("--device-note", default="CPU, 1 thread")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out_dir, exist_ok=True)
    models = dict(m.split("=", 1) for m in args.model)

    # ---------------- truth
    test = load(args.test_truth)
    params = params_of(test["attrs"])
    dt = float(test["attrs"]["dt"])
    rand = load(args.random_truth)
    sigma_test = climate_scale(test)
    truth_inv = invariants(test, params)
    print(f"truth: {test['Q'].shape[0]} runs x {test['Q'].shape[1] - 1} steps; climate scale {sigma_test:.4f}")

    lyap = lyapunov(args.test_truth, args.lyap_runs, args.mid_start, args.lyap_steps)
    lam = lyap["from_mid"]["lambda"]
    print(f"Lyapunov: lambda (from t = {args.mid_start * dt:g}) = {lam:.4f}, from t = 0: "
          f"{lyap['from_t0']['lambda']:.4f}; O(1) separation from t = 0 at t = {lyap['from_t0']['t_separation_O1']}")

    b = args.burn_in
    n_clim = min(h5py.File(os.path.join(run, "rollout_test.h5"), "r")["Q"].shape[1] for run in models.values())
    truth_phi = [p[:, :n_clim] for p in phis(test)]
    truth_C = [metrics.autocorrelation(p[:, b:], args.max_lag) for p in truth_phi]
    truth_rho_ii = np.real(np.diagonal(test["rho"], axis1=-2, axis2=-1))[:, :n_clim]
    # sampling floor of the truth's own statistics: first half of the held-out runs against the second half
    h = test["Q"].shape[0] // 2
    floor = {"autocorr_maxdiff": {k: float(np.abs(metrics.autocorrelation(p[:h, b:], args.max_lag) -
                                                  metrics.autocorrelation(p[h:, b:], args.max_lag)).max())
                                  for k, p in zip(("phi_Q", "phi_rho"), truth_phi)},
             "wasserstein_Q_over_std": metrics.wasserstein1(test["Q"][:h, b:n_clim], test["Q"][h:, b:n_clim])
             / float(test["Q"][:, b:n_clim].std()),
             "note": f"truth runs 0-{h - 1} against runs {h}-{test['Q'].shape[0] - 1}, steps {b}-{n_clim - 1}: "
                     "the sampling noise of the acceptance statistics with this ensemble size"}
    print(f"truth half vs half: {floor}")

    curves, results, C, preds_climate = {}, {}, {}, {}
    for name, run in models.items():
        pred = load(os.path.join(run, "rollout_test.h5"))
        n = pred["Q"].shape[1]
        truth_n = {k: test[k][:, :n] for k in ("Q", "P", "rho")}
        if n <= b + args.max_lag:
            raise SystemExit(f"{name}: rollout of {n - 1} steps is too short for --burn-in {b} and lag {args.max_lag}")
        c_test = rmse(pred, truth_n)
        mid_pred = load(os.path.join(run, "rollout_mid.h5"))
        m = mid_pred["Q"].shape[1]
        mid_truth = {k: test[k][:, args.mid_start:args.mid_start + m] for k in ("Q", "P", "rho")}
        c_mid = rmse(mid_pred, mid_truth)
        sigma_mid = climate_scale(mid_truth)
        rnd_pred = load(os.path.join(run, "rollout_random.h5"))
        c_rand = rmse(rnd_pred, rand)
        sigma_rand = climate_scale({k: rand[k][:, :rnd_pred["Q"].shape[1]] for k in ("Q", "P", "rho")})
        curves[name] = {"test": c_test, "mid": c_mid, "random": c_rand}

        pphi = phis(pred)
        C[name] = [metrics.autocorrelation(p[:, b:], args.max_lag) for p in pphi]
        dC = {k: float(np.abs(C[name][i] - truth_C[i]).max()) for i, k in enumerate(("phi_Q", "phi_rho"))}
        if n != n_clim:
            raise SystemExit(f"{name}: climate rollout of {n - 1} steps, others {n_clim - 1}: use equal lengths")
        tQ, pQ = test["Q"][:, b:n], pred["Q"][:, b:]
        std_Q = float(tQ.std())
        w1 = {"Q": metrics.wasserstein1(pQ, tQ), "P": metrics.wasserstein1(pred["P"][:, b:], test["P"][:, b:n]),
              "rho_ii": metrics.wasserstein1(np.real(np.diagonal(pred["rho"][:, b:], axis1=-2, axis2=-1)),
                                             truth_rho_ii[:, b:n])}
        stds = {"Q": std_Q, "P": float(test["P"][:, b:n].std()), "rho_ii": float(truth_rho_ii[:, b:n].std())}
        inv = invariants(pred, params)
        preds_climate[name] = {"Q": pQ, "P": pred["P"][:, b:],
                               "rho_ii": np.real(np.diagonal(pred["rho"][:, b:], axis1=-2, axis2=-1)),
                               "E": inv.pop("energy_per_site")}
        ev = {}
        for which in ("test", "random"):
            path = os.path.join(run, f"metrics_{which}.json")
            if os.path.exists(path):
                with open(path) as f:
                    ev[which] = json.load(f)
                for key in ("data", "checkpoint"):
                    if isinstance(ev[which].get(key), str):
                        ev[which][key] = os.path.relpath(ev[which][key])
                ev[which].pop("rollout_rmse_total", None)   # per-step curve: in deep_quench.csv
        vt = {"test_from_t0": float(valid_time(c_test["total"], args.valid_threshold * sigma_test, dt).mean()),
              "mid": float(valid_time(c_mid["total"], args.valid_threshold * sigma_mid, dt).mean()),
              "random": float(valid_time(c_rand["total"], args.valid_threshold * sigma_rand, dt).mean())}
        vt_runs = valid_time(c_mid["total"], args.valid_threshold * sigma_mid, dt)
        at = lambda c, s: {k: float(c[k][:, s].mean()) for k in ("Q", "P", "rho", "total")} if s < c["Q"].shape[1] else None
        results[name] = {
            "model": name, "label": LABELS.get(name, name), "run_dir": os.path.relpath(run),
            "scale": scale_note(run, int(pred["attrs"]["surrogate_step"])),
            "device": args.device_note,
            "parameter_count": ev.get("test", {}).get("parameter_count"),
            "acceptance": {
                "autocorr_maxdiff": dC, "autocorr_target": 0.1,
                "autocorr_met": {k: v <= 0.1 for k, v in dC.items()},
                "wasserstein_Q_over_std": w1["Q"] / std_Q, "wasserstein_target": 0.1,
                "wasserstein_met": w1["Q"] / std_Q <= 0.1,
                "rollout_steps": n - 1, "bounded": inv["finite"] and inv["max_abs_Q"] < 10 * truth_inv["max_abs_Q"],
                "energy_drift_per_site": inv["energy_drift_per_site"],
                "trace_drift": inv["trace_drift"], "hermiticity_error": inv["hermiticity_error"]},
            "climate": {"truth_half_vs_half": floor, "burn_in_steps": b, "max_lag": args.max_lag, "runs": int(pred["Q"].shape[0]),
                        "wasserstein": w1, "truth_std": stds,
                        "wasserstein_over_std": {k: w1[k] / stds[k] for k in w1},
                        "mean": {"Q_pred": float(pQ.mean()), "Q_truth": float(tQ.mean()),
                                 "std_Q_pred": float(pQ.std()), "std_Q_truth": std_Q},
                        "invariants": inv,
                        "truth_invariants": {k: v for k, v in truth_inv.items() if k != "energy_per_site"}},
            "lyapunov": {"lambda": lam, "lyapunov_time": 1 / lam,
                         "valid_time": vt, "valid_time_lyapunov_times": {k: v * lam for k, v in vt.items()},
                         "valid_time_mid_per_run": vt_runs.tolist(),
                         "valid_threshold": f"{args.valid_threshold} x climate scale (rmse_total of the truth "
                                            f"from its pooled mean over the same frames)",
                         "climate_scale": {"test": sigma_test, "mid": sigma_mid, "random": sigma_rand}},
            "rollout_rmse": {s: {str(k): at(curves[name][s], k) for k in (1, 10, 100, 400, 1000, 2500)}
                             for s in SETS},
            "one_step_rmse": {w: {k: ev[w].get(k) for k in ("rmse_Q", "rmse_P", "rmse_rho", "rmse_total")
                                  if k in ev[w]} for w in ev},
            "graphqd_evaluate": ev,
        }
        a = results[name]["acceptance"]
        print(f"{name}: max|dC| phi_Q {dC['phi_Q']:.3f} phi_rho {dC['phi_rho']:.3f}; W1(Q)/std {a['wasserstein_Q_over_std']:.3f}; "
              f"E drift {inv['energy_drift_per_site']:.3g}; trace {inv['trace_drift']:.2g}; herm {inv['hermiticity_error']:.2g}; "
              f"valid time {vt} -> {[round(v * lam, 2) for v in vt.values()]} Lyapunov times")

    # ---------------- files
    names = list(models)
    nmax = max(curves[m][s]["Q"].shape[1] for m in names for s in SETS)
    with open(os.path.join(args.out_dir, "deep_quench.csv"), "w", newline="") as f:
        w = csv.writer(f)
        cols = [(s, m, k) for s in SETS for m in names for k in ("Q", "P", "rho", "total")]
        w.writerow(["step", "t_from_start"] + [f"{s}_{m}_rmse_{k}" for s, m, k in cols])
        for step in rows_steps(nmax):
            w.writerow([step, f"{step * dt:.2f}"] + [f"{curves[m][s][k][:, step].mean():.4e}"
                                                     if step < curves[m][s][k].shape[1] else ""
                                                     for s, m, k in cols])
    with open(os.path.join(args.out_dir, "deep_quench_climate.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["lag", "tau"] + [f"C_{v}_{m}" for v in ("phi_Q", "phi_rho") for m in ["truth"] + names])
        for lag in range(args.max_lag + 1):
            w.writerow([lag, f"{lag * dt:.2f}"] + [f"{(truth_C if m == 'truth' else C[m])[i][lag]:.5f}"
                                                   for i in range(2) for m in ["truth"] + names])
    lyap_summary = {k: v for k, v in lyap.items() if k not in ("t", "from_t0", "from_mid")}
    for k in ("from_t0", "from_mid"):
        lyap_summary[k] = {kk: vv for kk, vv in lyap[k].items() if kk != "mean_log_d"}
    for name in names:
        results[name]["lyapunov"]["ground_truth"] = lyap_summary
        with open(os.path.join(args.out_dir, f"metrics_deep_{name}.json"), "w") as f:
            json.dump(results[name], f, indent=1)
    diverged = {m for m, r in results.items() if not r["acceptance"]["bounded"]}
    figure(os.path.join(args.out_dir, "deep_quench.png"), args, test, truth_C, truth_rho_ii, truth_inv, C,
           curves, preds_climate, diverged, lyap, dt, sigma_test)


def figure(path, args, test, truth_C, truth_rho_ii, truth_inv, C, curves, preds, diverged, lyap, dt, sigma):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(curves)
    b = args.burn_in
    fig, axes = plt.subplots(3, 3, figsize=(15, 12.5), constrained_layout=True)
    for ax, s, title in ((axes[0, 0], "test", "held-out runs, from t = 0"),
                         (axes[0, 1], "mid", f"held-out runs, from t = {args.mid_start * dt:g}"),
                         (axes[0, 2], "random", "'arbitrary nonequilibrium' states, from t = 0")):
        for m in names:
            c = curves[m][s]["total"]
            steps = np.arange(c.shape[1])
            ax.semilogy(steps[1:], c[:, 1:].mean(0), color=COLOURS.get(m), label=LABELS.get(m, m))
        if s == "test":
            ax.axhline(args.valid_threshold * sigma, color="k", ls=":", lw=1, label=f"{args.valid_threshold} x climate scale")
            ax.set_xscale("log")
        ax.set_xlabel("rollout step (dt = 0.08)")
        ax.set_title(f"RMSE_total vs step: {title}", fontsize=10)
        ax.legend(fontsize=7)
    lags = np.arange(args.max_lag + 1)
    for ax, i, v in ((axes[1, 0], 0, "phi_Q"), (axes[1, 1], 1, "phi_rho")):
        ax.plot(lags * dt, truth_C[i], "k-", lw=3, alpha=0.4, label="truth")
        for m in names:
            ax.plot(lags * dt, C[m][i], "--", color=COLOURS.get(m),
                    label=f"{LABELS.get(m, m)} (max|dC| {np.abs(C[m][i] - truth_C[i]).max():.2f})")
        ax.set_xlabel("lag tau (time units)")
        ax.set_title(f"C(tau) of {v}, steps >= {b} of the climate rollout", fontsize=10)
        ax.legend(fontsize=7)
    ax = axes[1, 2]
    t = np.array(lyap["t"])
    for k, style in (("from_t0", "-"), ("from_mid", "--")):
        ax.plot(t, np.array(lyap[k]["mean_log_d"]) / np.log(10), style, color="k",
                label=f"{k}: lambda = {lyap[k]['lambda']:.3f}")
    ax.axhspan(-7, -2, color="grey", alpha=0.15, label="fit window")
    ax.set_xlabel("t after the 1e-8 displacement")
    ax.set_ylabel("log10 d(t) (mean over runs)")
    ax.set_title("ground-truth Lyapunov exponent", fontsize=10)
    ax.legend(fontsize=7)
    n = truth_rho_ii.shape[1]
    for ax, key, truth in ((axes[2, 0], "Q", test["Q"][:, b:n]), (axes[2, 1], "P", test["P"][:, b:n]),
                           (axes[2, 2], "rho_ii", truth_rho_ii[:, b:])):
        lo, hi = np.percentile(truth, [0.1, 99.9])
        span = hi - lo
        bins = np.linspace(lo - 0.2 * span, hi + 0.2 * span, 80)
        ax.hist(truth.ravel(), bins=bins, density=True, color="k", alpha=0.3, label="truth")
        for m in names:
            x = preds[m][key]
            if m in diverged:   # its mass at the edges would swamp the panel
                ax.plot([], [], color=COLOURS.get(m), label=f"{LABELS.get(m, m)} (diverged, not shown)")
                continue
            ax.hist(np.clip(x.ravel(), bins[0], bins[-1]), bins=bins, density=True, histtype="step",
                    color=COLOURS.get(m), lw=1.5,
                    label=f"{LABELS.get(m, m)} (W1/std {metrics.wasserstein1(x, truth) / truth.std():.3f})")
        ax.set_title(f"marginal of {key}, steps {b}-{n - 1}", fontsize=10)
        ax.legend(fontsize=7)
    fig.suptitle(f"Deep quench g 0 -> 2.0, L = 8 — REDUCED CPU SCALE (width 32); "
                 f"climate rollouts of {n - 1} steps", fontsize=12)
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
