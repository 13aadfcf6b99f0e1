"""Shared by the experiment scripts of issue 6 (what a run was trained with, the device) and by the
sweeps of experiments 3-6: train one graph PARC per sweep point from a
base config with overrides, score its rollouts on a held-out store, write CSV, PNG and JSON.

A point whose run directory already holds a finished checkpoint is not retrained; an
interrupted one is resumed. Every point trains with the same optimiser steps and batch size
(equal compute).
"""
from __future__ import annotations

import copy
import csv
import json
import os
import platform
import time

import torch
import yaml

from graphqd.bench.common import write_json
from graphqd.evaluate.holstein_metrics import window_rmse
from graphqd.runtime import checkpoint as ckpt
from graphqd.runtime.surrogate import load_surrogate
from graphqd.train import train


def scale_note(run: str, step: int | None = None) -> str:
    """What the checkpoint of `run` was trained with (the reduced scale of these CPU runs); `step`: the step of
    the checkpoint a rollout used, where it was not the run's latest."""
    state = ckpt.load(run)
    model = state.config["model"]
    return (f"REDUCED CPU SCALE: {model['name']} width {model['width']}, splitting "
            f"{model.get('splitting', 'simultaneous')}, {state.step if step is None else step} optimiser steps, "
            f"{len(state.dataset.get('splits', {}).get('train', []))} training trajectories"
            + (f", fine-tuned from {state.config['train']['init_from']}" if state.config["train"].get("init_from") else ""))


def device_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU ({platform.processor() or platform.machine()}), {torch.get_num_threads()} thread(s), torch {torch.__version__}"


def merged(base: dict, overrides: dict) -> dict:
    """`base` with dotted-key overrides ({"model.width": 16, ...})."""
    config = copy.deepcopy(base)
    for dotted, value in overrides.items():
        *path, last = dotted.split(".")
        section = config
        for name in path:
            section = section.setdefault(name, {})
        section[last] = value
    return config


def train_point(base_path: str, overrides: dict, run_dir: str) -> tuple[str, float]:
    """Train (or resume, or reuse) one sweep point; returns its run directory and training seconds."""
    with open(base_path) as fh:
        config = merged(yaml.safe_load(fh), {**overrides, "log.run_dir": run_dir, "log.progress": False,
                                             "log.figures": False})
    done = ckpt.list_checkpoints(run_dir)
    seconds_file = os.path.join(run_dir, "train_seconds.json")
    if done and ckpt.load(run_dir).step >= config["train"]["steps"] and os.path.isfile(seconds_file):
        with open(seconds_file) as fh:
            return run_dir, json.load(fh)["seconds"]
    began = time.perf_counter()
    train(config, resume=run_dir if done else None)
    seconds = time.perf_counter() - began
    with open(seconds_file, "w") as fh:
        json.dump({"seconds": seconds}, fh)
    return run_dir, seconds


def score(run_dir: str, test: str, steps: int, starts: list[int], runs: int) -> dict:
    """Rollout RMSE per step, averaged over the `starts` (stored snapshots) of the first `runs` test
    trajectories (graphqd.evaluate.holstein_metrics.window_rmse)."""
    surrogate = load_surrogate(run_dir)
    curves = window_rmse(surrogate, test, steps, starts, runs)
    return {"dt": surrogate.dt, "parameters": surrogate.parameter_count, "curves": curves}


def write_results(out_dir: str, name: str, rows: list[dict], columns: list[str], extra: dict) -> None:
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f"{name}.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    write_json(os.path.join(out_dir, f"{name}.json"), {"device": device_name(), **extra, "points": rows})


def plot_sweep(out: str, curves: dict, dt: float, x_label: str, rows: list[dict], x_key: str, horizons: list[int],
               title: str) -> None:
    """Left: RMSE_total/σ against the prediction window per sweep point; right: at fixed windows vs the point."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    for label, curve in curves.items():
        left.semilogy(dt * np.arange(1, len(curve) + 1), curve, label=f"{x_label} = {label}")
    left.set(xlabel="prediction window (time)", ylabel="RMSE_total / σ_climate", title=title)
    left.legend(fontsize=8)
    for h in horizons:
        right.loglog([r[x_key] for r in rows], [r[f"rmse_h{h}"] for r in rows], "o-", label=f"{h} steps")
    right.set(xlabel=x_key, ylabel="RMSE_total / σ_climate")
    right.legend(fontsize=8)
    fig.suptitle(f"graph PARC (Strang), equal compute per point; {device_name()}", fontsize=9)
    fig.savefig(out, dpi=110)


def deep_sweep_parser(doc: str, here: str):
    """Arguments shared by the deep-quench sweeps (data_sweep.py, width_sweep.py)."""
    import argparse
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--base", default=os.path.join(here, "sweep_base.yaml"))
    parser.add_argument("--data", required=True, help="store of deep quenches the training runs are drawn from")
    parser.add_argument("--test", required=True, help="held-out store, long enough for --starts + --steps")
    parser.add_argument("--val", type=int, default=8, help="validation trajectories")
    parser.add_argument("--steps", type=int, default=250, help="prediction window scored, in model steps")
    parser.add_argument("--starts", type=int, nargs="+", default=list(range(1000, 9000, 1000)))
    parser.add_argument("--runs", type=int, default=8, help="test trajectories")
    parser.add_argument("--out-dir", default=os.path.join(here, "results"))
    return parser


def run_deep_sweep(args, points: list[tuple], x_key: str, plot_key: str, name: str, experiment: str) -> None:
    """Train and score each (x value, overrides, run_dir) point; RMSE_total/σ at 1, 10, 50 and --steps steps."""
    horizons = [1, 10, 50, args.steps]
    rows, curves, dt = [], {}, None
    for x, overrides, run_dir in points:
        run_dir, seconds = train_point(args.base, {"data.path": args.data, **overrides}, run_dir)
        result = score(run_dir, args.test, args.steps, args.starts, args.runs)
        sigma, dt = result["curves"]["climate_scale"], result["dt"]
        curve = [v / sigma for v in result["curves"]["total"]]
        curves[x] = curve
        rows.append({x_key: x, "parameters": result["parameters"], "train_seconds": round(seconds, 1),
                     "climate_scale": sigma, **{f"rmse_h{h}": curve[h - 1] for h in horizons}})
        print(rows[-1], flush=True)
    columns = [x_key, "parameters", "train_seconds", "climate_scale"] + [f"rmse_h{h}" for h in horizons]
    write_results(args.out_dir, name, rows, columns,
                  {"experiment": experiment, "train_data": args.data, "test_data": args.test, "test_runs": args.runs,
                   "starts": args.starts, "base_config": os.path.relpath(args.base),
                   "curves_over_sigma": {str(k): v for k, v in curves.items()}})
    plot_sweep(os.path.join(args.out_dir, f"{name}.png"), curves, dt, x_key, rows, plot_key, horizons,
               "deep quench: held-out states on the attractor")


def split_fractions(total: int, train: int, val: int) -> list[float]:
    """data.split taking `train` and `val` of `total` trajectories (the rest is left out)."""
    if train + val > total:
        raise SystemExit(f"the store holds {total} trajectories, fewer than {train} + {val}")
    return [train / total, val / total, (total - train - val) / total]
