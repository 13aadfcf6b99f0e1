"""Issue 6, experiment 8 (scaling) at REDUCED CPU SCALE: surrogates trained at L = 8 on larger chains.

Three stages, driven by run_scaling.sh (run from the repository root):

    time    wall time per model step of trained surrogates (no grad, float32, one chain) and the
            exact solver's wall time per snapshot (holstein.simulate, float64, dt 0.08, 8 RK4
            substeps) at each L, all with ONE CPU thread; writes a JSON of raw timings.
    errors  rollout RMSE_Q/P/rho against the exact simulator, read from the stores that
            `graphqd rollout --lattice L` writes (X.h5 and X_exact.h5); writes a JSON.
    report  merges the two into <out-dir>/scaling.csv, scaling.json and scaling.png.

    .venv/bin/python experiments/holstein_parc/scaling.py time --model graph=runs/holstein_parc/shallow_small_graph \
        --model cnn=runs/holstein_parc/shallow_small_cnn --data data/shallow_test.h5 --lattices 8 32 64 256 1024 \
        --out runs/holstein_parc/scaling/timing.json
    .venv/bin/python experiments/holstein_parc/scaling.py errors --rollout graph:32=runs/.../graph_L32.h5 ... \
        --steps 100 400 --out runs/holstein_parc/scaling/errors.json
    .venv/bin/python experiments/holstein_parc/scaling.py report --timing ... --errors ... --out-dir experiments/holstein_parc/results

Metrics (paper, arXiv 2412.06631, graphqd/evaluate/metrics.py): RMSE_Q = sqrt(sum_i dQ_i^2 / L), likewise P,
RMSE_rho = sqrt(sum_ij |d rho_ij|^2 / L^2) over the WHOLE matrix. Graph PARC only carries the band
d(i, j) <= band_radius (the rollout store holds zeros outside it), so its whole-matrix RMSE_rho includes
the exact rho's entries outside the band; `rmse_rho_band` (the training metric, holstein_error) is reported
beside it, and `rmse_rho_outside` is the floor that truncation alone sets (the exact rho outside the band).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import time

import h5py
import numpy as np
import torch

PER_STEP_CUTOFF_S = 20.0  # skip a model at this L (and larger) when one step takes longer than this


def _threads():
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _device_info() -> dict:
    return {"device": "cpu", "cpu": _cpu_name(), "logical_cpus": os.cpu_count(), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(),
            "note": "shared 2-core VM; another engineer's jobs may run on the other core"}


def _named(items: list[str], sep: str = "=") -> list[tuple[str, str]]:
    out = []
    for item in items:
        name, _, value = item.partition(sep)
        if not value:
            raise SystemExit(f"expected NAME{sep}VALUE, got {item!r}")
        out.append((name, value))
    return out


def _recipe(data: str, L: int):
    """The data's recipe with the chain length changed (as `graphqd rollout --lattice` does)."""
    import yaml

    from graphqd import config as cfg
    from graphqd.data.recipes import holstein as recipe
    with h5py.File(data, "r") as handle:
        config = cfg.validate(yaml.safe_load(str(handle.attrs["config"])), recipe.SCHEMA)
    config["lattice"]["L"] = L
    return config


def _initial_state(data: str, L: int):
    from graphqd.data.recipes import holstein as recipe
    config = _recipe(data, L)
    t0 = time.perf_counter()
    state = recipe.initial_states(config, range(1), torch.device("cpu"))
    prep = time.perf_counter() - t0
    _, final = recipe.params_of(config)
    return state, final, prep, config


def _timed(fn, min_reps: int, min_seconds: float, max_reps: int) -> tuple[float, int]:
    """Mean seconds per call of fn (after one untimed warm-up call done by the caller)."""
    reps, t0 = 0, time.perf_counter()
    while reps < max_reps and (reps < min_reps or time.perf_counter() - t0 < min_seconds):
        fn()
        reps += 1
    return (time.perf_counter() - t0) / reps, reps


def cmd_time(args) -> None:
    _threads()
    from graphqd import keys as K
    from graphqd.graphs.holstein import dense_to_band, graph_batch
    from graphqd.runtime.surrogate import load_surrogate
    from graphqd.physics import holstein

    models = [(name, load_surrogate(path, "cpu"), path) for name, path in _named(args.model)]
    result = {"stage": "time", **_device_info(), "data": args.data, "lattices": args.lattices,
              "cutoff_s_per_step": args.cutoff, "models": {}, "exact": {}, "initial_state_s": {}}
    for name, surrogate, path in models:
        result["models"][name] = {"checkpoint": path, "registry_name": surrogate.config["model"]["name"],
                                  "parameters": surrogate.parameter_count, "dt": surrogate.dt, "per_L": {}}
    skipped = {name: None for name, _, _ in models}
    exact_skipped = None
    for L in args.lattices:
        state, params, prep, _ = _initial_state(args.data, L)
        result["initial_state_s"][str(L)] = prep
        print(f"L {L}: initial state (self-consistent CDW ground state) {prep:.2f} s", flush=True)
        for name, surrogate, _ in models:
            entry = result["models"][name]["per_L"]
            if skipped[name] is not None:
                entry[str(L)] = {"skipped": f"one step at L = {skipped[name]} took longer than {args.cutoff:g} s"}
                print(f"  {name}: skipped ({entry[str(L)]['skipped']})", flush=True)
                continue
            model = surrogate.model
            spec = model.graph_spec({k: v for k, v in surrogate.config["model"].items() if k != "name"})
            t0 = time.perf_counter()
            batch = graph_batch(L, True, spec, 1)
            build = time.perf_counter() - t0
            s = {K.Q: state.Q.reshape(-1).float(), K.P: state.P.reshape(-1).float(),
                 K.RHO: dense_to_band(state.rho, L, True, spec).reshape(-1, 2).float()}
            with torch.no_grad():
                t0 = time.perf_counter()
                out = model(batch, s)
                first = time.perf_counter() - t0
                s = {k: out[k] for k in s}  # time steps from a state the model produced itself
                if first > args.cutoff:
                    per, reps = first, 1
                else:
                    per, reps = _timed(lambda: model(batch, s), args.min_reps, args.min_seconds, args.max_reps)
            entry[str(L)] = {"s_per_step": per, "reps": reps, "first_step_s": first, "graph_build_s": build,
                             "rho_entries": int(batch[K.BAND_SITES].size(0))}
            print(f"  {name}: {per * 1e3:.2f} ms/step ({reps} reps; first {first * 1e3:.1f} ms, graph build "
                  f"{build:.2f} s, {entry[str(L)]['rho_entries']} rho entries)", flush=True)
            if per > args.cutoff:
                skipped[name] = L
                entry[str(L)]["over_cutoff"] = True
        if exact_skipped is not None:
            result["exact"][str(L)] = {"skipped": f"one snapshot at L = {exact_skipped} took longer than "
                                                  f"{args.cutoff:g} s"}
            continue
        # exact solver: one snapshot = `substeps` RK4 steps of dt/substeps, float64/complex128, as in the data
        dt, substeps = float(args.dt), int(args.substeps)
        t0 = time.perf_counter()
        traj = holstein.simulate(state, params, dt, 1, substeps)
        first = time.perf_counter() - t0
        start = holstein.State(traj.Q[..., -1, :], traj.P[..., -1, :], traj.rho[..., -1, :, :])
        snaps = 1 if first > args.min_seconds else max(1, min(args.max_reps, int(np.ceil(args.min_seconds / first))))
        if first > args.cutoff:
            per, snaps = first, 1
        else:
            t0 = time.perf_counter()
            holstein.simulate(start, params, dt, snaps, substeps)
            per = (time.perf_counter() - t0) / snaps
        result["exact"][str(L)] = {"s_per_snapshot": per, "snapshots": snaps, "first_snapshot_s": first,
                                   "dt": dt, "substeps": substeps}
        print(f"  exact: {per * 1e3:.2f} ms/snapshot ({snaps} snapshots, dt {dt:g}, {substeps} RK4 substeps)",
              flush=True)
        if per > args.cutoff:
            exact_skipped = L
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {args.out}")


def _rmse_rows(pred: h5py.File, exact: h5py.File, steps: list[int], band_radius: int | None) -> list[dict]:
    from graphqd.evaluate.metrics import rmse_matrix, rmse_sites
    L = int(np.atleast_1d(pred.attrs["lattice_shape"])[0])
    runs = int(pred["Q"].shape[0])
    i = np.arange(L)
    d = np.abs(i[:, None] - i[None, :])
    d = np.minimum(d, L - d)  # periodic chain distance
    band = d <= (band_radius if band_radius is not None else L)
    rows = []
    for step in steps:
        if step >= pred["Q"].shape[1] or step >= exact["Q"].shape[1]:
            continue
        for run in range(runs):
            Qp, Qe = pred["Q"][run, step], exact["Q"][run, step]
            Pp, Pe = pred["P"][run, step], exact["P"][run, step]
            Rp, Re = pred["rho"][run, step], exact["rho"][run, step]
            finite = bool(np.isfinite(Qp).all() and np.isfinite(Pp).all() and np.isfinite(Rp).all())
            diff_band = np.where(band, Rp - Re, 0)
            rows.append({"step": step, "run": run, "finite": finite,
                         "rmse_Q": float(rmse_sites(Qp, Qe)), "rmse_P": float(rmse_sites(Pp, Pe)),
                         "rmse_rho": float(rmse_matrix(Rp, Re)),
                         "rmse_rho_band": float(np.sqrt((np.abs(diff_band) ** 2).sum() / L ** 2)),
                         "rmse_rho_outside": float(np.sqrt((np.abs(np.where(band, 0, Re)) ** 2).sum() / L ** 2)),
                         "cdw_amplitude": float(np.abs(((-1.0) ** i * Qe).mean()))})
    return rows


def cmd_errors(args) -> None:
    from graphqd.evaluate.holstein_rollout import exact_path
    result = {"stage": "errors", "steps": args.steps, "rollouts": []}
    for key, value in _named(args.rollout):
        name, _, L = key.partition(":")
        path, _, truth = value.partition(",")
        truth = truth or exact_path(path)
        with h5py.File(path, "r") as pred, h5py.File(truth, "r") as exact:
            radius = int(pred.attrs["band_radius"]) if "band_radius" in pred.attrs else None
            radius = None if radius is not None and radius >= 1 << 29 else radius
            rows = _rmse_rows(pred, exact, args.steps, radius)
            # amplitude scale as in experiment 1: max |phi_Q| of the exact runs over steps 0 ... max(steps)
            Qe = exact["Q"][:, :max(args.steps) + 1]
            sign = (-1.0) ** np.arange(Qe.shape[-1])
            amplitude = float(np.abs((Qe * sign).mean(-1)).max(-1).mean())
        entry = {"model": name, "L": int(L), "path": path, "exact": truth, "band_radius": radius, "runs": len({r["run"] for r in rows}),
                 "cdw_amplitude_A": amplitude, "rows": rows}
        result["rollouts"].append(entry)
        for step in args.steps:
            sel = [r for r in rows if r["step"] == step]
            if sel:
                print(f"{name} L {L} step {step}: RMSE_Q {np.mean([r['rmse_Q'] for r in sel]):.4f} "
                      f"P {np.mean([r['rmse_P'] for r in sel]):.4f} rho {np.mean([r['rmse_rho'] for r in sel]):.4f} "
                      f"(band {np.mean([r['rmse_rho_band'] for r in sel]):.4f}) over {len(sel)} runs", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {args.out}")


def _fit(L, t):
    L, t = np.asarray(L, float), np.asarray(t, float)
    if len(L) < 2:
        return None
    slope, intercept = np.polyfit(np.log(L), np.log(t), 1)
    return float(slope), float(intercept)


def _crossover(Ls, model_t, exact_t):
    """Smallest measured L with model step time below the exact time per snapshot, and the
    log-log interpolated crossing between the last L where it is slower and that L."""
    pairs = [(L, m, e) for L, m, e in zip(Ls, model_t, exact_t) if m is not None and e is not None]
    first = next((p for p in pairs if p[1] < p[2]), None)
    if first is None:
        return None, None
    k = pairs.index(first)
    if k == 0:
        return first[0], None
    (L0, m0, e0), (L1, m1, e1) = pairs[k - 1], first
    r0, r1 = np.log(m0 / e0), np.log(m1 / e1)
    x = np.log(L0) + (np.log(L1) - np.log(L0)) * r0 / (r0 - r1)
    return first[0], float(np.exp(x))


def _merge_timings(paths: list[str]) -> dict:
    """One timing dict from several `time` outputs (later files add lattices or replace them)."""
    timing = None
    for path in paths:
        with open(path) as f:
            part = json.load(f)
        if timing is None:
            timing = part
            continue
        timing["lattices"] = sorted(set(timing["lattices"]) | set(part["lattices"]))
        timing["exact"].update(part["exact"])
        timing["initial_state_s"].update(part["initial_state_s"])
        for name, info in part["models"].items():
            timing["models"].setdefault(name, info)["per_L"].update(info["per_L"])
    timing["sources"] = paths
    return timing


def cmd_report(args) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timing = _merge_timings(args.timing)
    errors = {"rollouts": []}
    if args.errors and os.path.exists(args.errors):
        with open(args.errors) as f:
            errors = json.load(f)
    Ls = [int(L) for L in timing["lattices"]]
    exact_t = [timing["exact"].get(str(L), {}).get("s_per_snapshot") for L in Ls]
    table, fits = [], {}
    ex_pts = [(L, t) for L, t in zip(Ls, exact_t) if t is not None]
    fits["exact"] = _fit(*zip(*ex_pts)) if len(ex_pts) >= 2 else None
    fits_large = {"exact": _fit(*zip(*[p for p in ex_pts if p[0] >= 64])) if len([p for p in ex_pts if p[0] >= 64]) >= 2
                  else None}
    crossover = {}
    for name, info in timing["models"].items():
        mt = [info["per_L"].get(str(L), {}).get("s_per_step") for L in Ls]
        pts = [(L, t) for L, t in zip(Ls, mt) if t is not None]
        fits[name] = _fit(*zip(*pts)) if len(pts) >= 2 else None
        big = [p for p in pts if p[0] >= 64]
        fits_large[name] = _fit(*zip(*big)) if len(big) >= 2 else None
        first, interp = _crossover(Ls, mt, exact_t)
        crossover[name] = {"first_measured_L_faster_than_exact": first, "interpolated_crossover_L": interp}
    # error summary: mean over runs per (model, L, step)
    err = {}
    for ro in errors["rollouts"]:
        for step in errors["steps"]:
            sel = [r for r in ro["rows"] if r["step"] == step]
            if not sel:
                continue
            err[(ro["model"], ro["L"], step)] = {
                "runs": len(sel), "A": ro["cdw_amplitude_A"], "all_finite": all(r["finite"] for r in sel),
                **{k: float(np.mean([r[k] for r in sel])) for k in
                   ("rmse_Q", "rmse_P", "rmse_rho", "rmse_rho_band", "rmse_rho_outside")}}
    rows = []
    names = list(timing["models"])
    for L, et in zip(Ls, exact_t):
        for name in names + ["exact"]:
            if name == "exact":
                rec = timing["exact"].get(str(L), {})
                t = rec.get("s_per_snapshot")
            else:
                rec = timing["models"][name]["per_L"].get(str(L), {})
                t = rec.get("s_per_step")
            row = {"model": name, "L": L, "s_per_step": t, "skipped": rec.get("skipped", ""),
                   "speedup_vs_exact": (et / t) if (t and et and name != "exact") else None}
            for step in errors.get("steps", []):
                e = err.get((name, L, step))
                for k in ("rmse_Q", "rmse_P", "rmse_rho", "rmse_rho_band"):
                    row[f"{k}_{step}"] = e[k] if e else None
                row[f"rmse_Q_over_A_{step}"] = e["rmse_Q"] / e["A"] if e else None
                row[f"runs_{step}"] = e["runs"] if e else None
            rows.append(row)
    os.makedirs(args.out_dir, exist_ok=True)
    fields = list(rows[0])
    with open(os.path.join(args.out_dir, "scaling.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None else (f"{v:.6g}" if isinstance(v, float) else v)) for k, v in r.items()})
    summary = {k: timing[k] for k in ("device", "cpu", "logical_cpus", "threads", "torch", "python", "note")}
    summary.update({"scale": "REDUCED CPU SCALE: width-32 models trained 3000 steps at L = 8 (experiment 1); "
                             "CPU with 1 thread",
                    "timing": timing, "fits_all_L": {k: (None if v is None else {"exponent": v[0], "log_prefactor": v[1]})
                                                       for k, v in fits.items()},
                    "fits_L_ge_64": {k: (None if v is None else {"exponent": v[0], "log_prefactor": v[1]})
                                     for k, v in fits_large.items()},
                    "crossover": crossover,
                    "errors": [{"model": m, "L": L, "step": s, **v} for (m, L, s), v in sorted(err.items())],
                    "wall_time_s": args.wall_time or None})
    with open(os.path.join(args.out_dir, "scaling.json"), "w") as f:
        json.dump(summary, f, indent=1)

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    ax = axes[0]
    colors = {"graph": "C0", "cnn": "C1", "exact": "k"}
    for name in names + ["exact"]:
        if name == "exact":
            pts = ex_pts
            label = "exact solver (per snapshot)"
        else:
            pts = [(L, timing["models"][name]["per_L"][str(L)]["s_per_step"]) for L in Ls
                   if "s_per_step" in timing["models"][name]["per_L"].get(str(L), {})]
            label = f"{name} PARC"
        if not pts:
            continue
        x, y = np.array(pts, float).T
        fit = fits.get(name)
        big = fits_large.get(name)
        label += f", slope {fit[0]:.2f}" if fit else ""
        label += f" (L≥64: {big[0]:.2f})" if big else ""
        ax.loglog(x, y, "o-", color=colors.get(name), label=label)
        skipped = [L for L in Ls if name != "exact" and "skipped" in timing["models"][name]["per_L"].get(str(L), {})]
        for L in skipped:
            ax.axvline(L, color=colors.get(name), ls=":", lw=0.8)
    ax.set_xlabel("chain length L")
    ax.set_ylabel("wall time per step Δt = 0.08 [s] (1 CPU thread)")
    any_skipped = any("skipped" in rec for info in timing["models"].values() for rec in info["per_L"].values())
    ax.set_title("cost per step (model: one step; exact: one snapshot = 8 RK4 substeps)"
                 + (" — dotted: skipped, > %g s/step" % timing["cutoff_s_per_step"] if any_skipped else
                    " — nothing skipped (cutoff %g s/step)" % timing["cutoff_s_per_step"]), fontsize=8)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    ax = axes[1]
    markers = {100: "o", 400: "s"}
    for name in names:
        for step in errors.get("steps", []):
            pts = sorted((L, v["rmse_Q"] / v["A"]) for (m, L, s), v in err.items() if m == name and s == step)
            if pts:
                x, y = np.array(pts, float).T
                ax.semilogx(x, 100 * y, marker=markers.get(step, "x"), color=colors.get(name),
                            ls="-" if step == max(errors["steps"]) else "--", label=f"{name} PARC, step {step}")
    ax.set_xlabel("chain length L (trained at L = 8)")
    ax.set_ylabel("RMSE_Q / A  [%]  (mean over runs)")
    ax.set_title("shallow quench rollout error vs exact (A = CDW amplitude of φ_Q)", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("Experiment 8 (REDUCED CPU SCALE, width 32, 1 thread): graph vs CNN PARC vs exact Ehrenfest solver",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out_dir, "scaling.png"), dpi=120)
    print(f"wrote {args.out_dir}/scaling.csv, scaling.json, scaling.png")
    for name, fit in fits.items():
        print(f"fit {name}: exponent {fit[0]:.2f} (all L)" if fit else f"fit {name}: -",
              f"; L>=64: {fits_large[name][0]:.2f}" if fits_large.get(name) else "")
    print("crossover", json.dumps(crossover))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="stage", required=True)
    t = sub.add_parser("time", help="wall time per model step and per exact snapshot vs L")
    t.add_argument("--model", action="append", default=[], help="NAME=RUN_DIR (repeatable)")
    t.add_argument("--data", required=True, help="store whose recipe makes the initial states (data/shallow_test.h5)")
    t.add_argument("--lattices", type=int, nargs="+", default=[8, 32, 64, 256, 1024])
    t.add_argument("--dt", type=float, default=0.08)
    t.add_argument("--substeps", type=int, default=8)
    t.add_argument("--cutoff", type=float, default=PER_STEP_CUTOFF_S, help="skip larger L after a step this slow [s]")
    t.add_argument("--min-reps", type=int, default=3)
    t.add_argument("--min-seconds", type=float, default=2.0)
    t.add_argument("--max-reps", type=int, default=200)
    t.add_argument("--out", required=True)
    e = sub.add_parser("errors", help="rollout RMSE vs the exact trajectory from graphqd rollout --lattice stores")
    e.add_argument("--rollout", action="append", default=[], help="NAME:L=ROLLOUT.h5[,EXACT.h5] (default EXACT: the *_exact.h5 beside it)")
    e.add_argument("--steps", type=int, nargs="+", default=[100, 400])
    e.add_argument("--out", required=True)
    r = sub.add_parser("report", help="scaling.csv, scaling.json, scaling.png")
    r.add_argument("--timing", required=True, nargs="+", help="one or more outputs of the time stage")
    r.add_argument("--errors", default=None)
    r.add_argument("--wall-time", type=float, default=None, help="total wall time of the experiment [s], recorded")
    r.add_argument("--out-dir", default="experiments/holstein_parc/results")
    args = p.parse_args(argv)
    {"time": cmd_time, "errors": cmd_errors, "report": cmd_report}[args.stage](args)


if __name__ == "__main__":
    main()
