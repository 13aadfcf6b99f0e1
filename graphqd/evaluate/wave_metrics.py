"""`graphqd evaluate` for wave emulators: the metrics of Yao et al., Front. Mater. 9:1060744
(2023), per frame and per case, on a store of test cases (e.g. the 37-case panel).

Every run is seeded with 4 true frames and emulated `steps` (400) frames (`wave_rollout.emulate`);
per frame: MAE as the published code computes it (mean over points of (|ΔRe ψ| + |ΔIm ψ|)/2,
`mae`), the complex-modulus MAE of the paper's Eq. 9 (`mae_modulus`), the normalised
correlation C = |Σ ψ̂* ψ| / (‖ψ̂‖‖ψ‖) and the norm ∫|ψ̂|²dx. Per case: plain means over the
frames, and the norm error |∫|ψ̂|² − ∫|ψ|²| at the last frame. Groups: "barrier" (every case
with a potential: the paper's Table 1 averages these), "free" and "all", each the plain mean
over its cases, with per-frame curves.
"""
from __future__ import annotations

import os

import numpy as np
import torch

from graphqd.data.store import open_store
from graphqd.errors import GraphqdError
from graphqd.evaluate import metrics
from graphqd.evaluate.wave_rollout import SEED_FRAMES, emulate
from graphqd.runtime.surrogate import Surrogate

STEPS = 400
PER_FRAME = ("mae", "mae_modulus", "correlation", "norm")


def evaluate(surrogate: Surrogate, data: str, steps: int | None = None, max_runs: int | None = None,
             one_step_samples: int = 0, valid_threshold: float | None = None, batch_size: int | None = None,
             device: torch.device | str = "cpu", conserve: tuple = ()) -> dict:
    """Metrics of the module docstring over the first `max_runs` runs of `data` (default all).
    `one_step_samples`, `valid_threshold` and `batch_size` are Holstein options and are ignored."""
    if conserve:
        raise GraphqdError(f"--conserve {conserve[0]} is a Holstein option; wave emulators take "
                           f"'norm_preserving: true' in their model config")
    steps = STEPS if steps is None else steps
    with open_store(data, "wave") as handle:
        total = int(handle["psi"].shape[0])
        runs = list(range(total if max_runs is None else min(max_runs, total)))
        k = surrogate.config["data"]["step"]
        truth = handle["psi"][runs[0]:runs[-1] + 1, SEED_FRAMES * k:(SEED_FRAMES + steps) * k:k]
        kinds = [str(v) for v in handle["kind"].asstr()[runs[0]:runs[-1] + 1]]
        names = [str(v) for v in handle["name"].asstr()[runs[0]:runs[-1] + 1]]
        dx = float(handle["x"][1] - handle["x"][0])
    predicted = emulate(surrogate, data, runs, steps, 0, SEED_FRAMES, device)
    if truth.shape[1] < steps:
        raise GraphqdError(f"--steps {steps} is not allowed: '{data}' holds {truth.shape[1]} frames after the "
                           f"{SEED_FRAMES} seed frames")
    curves = {"mae": metrics.mae_components(predicted, truth), "mae_modulus": metrics.mae(predicted, truth),
              "correlation": metrics.normalized_correlation(predicted, truth),
              "norm": (np.abs(predicted) ** 2).sum(-1) * dx}                        # each (runs, steps)
    norm_truth = (np.abs(truth) ** 2).sum(-1) * dx
    norm_error = np.abs(curves["norm"][:, -1] - norm_truth[:, -1])
    cases = [{"name": name, "kind": kind, **{m: float(curves[m][i].mean()) for m in PER_FRAME},
              "norm_final": float(curves["norm"][i, -1]), "norm_error_final": float(norm_error[i])}
             for i, (name, kind) in enumerate(zip(names, kinds))]
    groups = {"barrier": [i for i, kind in enumerate(kinds) if kind != "free"],
              "free": [i for i, kind in enumerate(kinds) if kind == "free"], "all": list(range(len(runs)))}
    summary = {}
    for group, members in groups.items():
        if not members:
            continue
        summary[group] = {"cases": len(members), **{m: float(curves[m][members].mean()) for m in PER_FRAME},
                          "norm_error_final": float(norm_error[members].mean()),
                          "per_frame": {m: curves[m][members].mean(0).tolist() for m in PER_FRAME}}
    return {"groups": summary, "cases": cases, "steps": steps, "seed_frames": SEED_FRAMES, "dt": surrogate.dt,
            "model": surrogate.config["model"]["name"], "parameter_count": surrogate.parameter_count,
            "checkpoint": os.path.abspath(surrogate.path), "checkpoint_step": surrogate.step,
            "data": os.path.abspath(data), "runs": len(runs)}


def summary(result: dict) -> str:
    """One line of `graphqd evaluate`'s result: each group's means."""
    parts = [f"{name} ({g['cases']} cases): MAE {g['mae']:.4g}, C {g['correlation']:.4f}, "
             f"|norm error| at frame {result['steps']} {g['norm_error_final']:.3g}"
             for name, g in result["groups"].items()]
    return "; ".join(parts)
