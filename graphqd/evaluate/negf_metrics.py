"""`graphqd evaluate` for NEGF force fields: the learned density and force against the exact NEGF
ones on every stored snapshot of a negf store (any lattice size, any bias).

Per run, over all records and sites: RMSE of n, its ratio to std(n) of the run, RMSE of the force
(g · RMSE of n: the rest of F is exact), and the RMSE of n in two regions: the lead columns (the
`LEAD_COLUMNS` columns next to each lead, which the published model leaves out) and the bulk.
Per bias: the mean over its runs; "all": over every run.
"""
from __future__ import annotations

import os

import numpy as np
import torch

from graphqd.data.negf import run_biases, run_chemical_potentials
from graphqd.data.store import open_store
from graphqd.errors import GraphqdError
from graphqd.runtime.surrogate import Surrogate

LEAD_COLUMNS = 6
PER_RUN = ("rmse_n", "relative_rmse_n", "rmse_force", "rmse_n_bulk", "rmse_n_leads")


@torch.no_grad()
def predict(surrogate: Surrogate, Q: np.ndarray, mu_left: float, mu_right: float, batch: int = 64) -> np.ndarray:
    """The learned density of snapshots Q (T, Ly, Lx) at lead potentials (mu_left, mu_right): (T, Ly, Lx)."""
    model = surrogate.model
    dtype, device = next(model.parameters()).dtype, next(model.parameters()).device
    out = []
    for chunk in np.array_split(Q, max(1, -(-len(Q) // batch))):
        values = torch.as_tensor(chunk, dtype=dtype, device=device)
        count = values.size(0)
        n = model.density(values.reshape(-1), torch.full((count,), mu_left, dtype=dtype, device=device),
                          torch.full((count,), mu_right, dtype=dtype, device=device), tuple(chunk.shape[1:]))
        out.append(n.reshape(chunk.shape).double().cpu().numpy())
    return np.concatenate(out)


def run_errors(surrogate: Surrogate, handle, run: int, records: int | None = None, batch: int = 64) -> dict:
    """The per-run metrics of the module docstring for run `run` of an open negf store (its first
    `records` records, default all), with the predicted and exact densities."""
    mu, bias = run_chemical_potentials(handle, [run])[0], float(run_biases(handle, [run])[0])
    Lx, g = int(handle.attrs["Lx"]), float(handle.attrs["g"])
    columns = np.arange(Lx)
    leads = (columns < LEAD_COLUMNS) | (columns >= Lx - LEAD_COLUMNS)
    Q, exact = handle["Q"][run, :records], handle["n"][run, :records].astype(np.float64)
    predicted = predict(surrogate, Q, float(mu[0]), float(mu[1]), batch)
    error = predicted - exact
    rmse = float(np.sqrt((error ** 2).mean()))
    return {"run": run, "bias": bias, "rmse_n": rmse, "relative_rmse_n": rmse / float(exact.std()),
            "rmse_force": g * rmse,
            "rmse_n_bulk": float(np.sqrt((error[..., ~leads] ** 2).mean())) if (~leads).any() else None,
            "rmse_n_leads": float(np.sqrt((error[..., leads] ** 2).mean())), "predicted": predicted, "exact": exact}


def group_by_bias(per_run: list[dict]) -> dict:
    """Means of the per-run metrics over the runs of each bias ("V=…") and over all runs ("all")."""
    groups = {f"V={bias:g}": [r for r in per_run if r["bias"] == bias] for bias in sorted({r["bias"] for r in per_run})}
    groups["all"] = per_run
    return {name: {"runs": len(members), **{m: float(np.mean([r[m] for r in members if r[m] is not None]))
                                             for m in PER_RUN if any(r[m] is not None for r in members)}}
            for name, members in groups.items()}


def evaluate(surrogate: Surrogate, data: str, steps: int | None = None, max_runs: int | None = None,
             one_step_samples: int = 0, valid_threshold: float | None = None, batch_size: int | None = None,
             device: torch.device | str = "cpu", conserve: tuple = ()) -> dict:
    """Metrics of the module docstring over the first `max_runs` runs of `data` (default all).
    `steps` limits the records per run; the Holstein options are ignored."""
    if conserve:
        raise GraphqdError(f"--conserve {conserve[0]} is a Holstein option; a force field has nothing to conserve")
    with open_store(data, "negf") as handle:
        total = int(handle["Q"].shape[0])
        records = int(handle["t"].shape[0]) if steps is None else min(steps + 1, int(handle["t"].shape[0]))
        per_run = [{k: v for k, v in run_errors(surrogate, handle, run, records, batch_size or 64).items()
                    if k not in ("predicted", "exact")}
                   for run in range(total if max_runs is None else min(max_runs, total))]
    return {"groups": group_by_bias(per_run), "runs": per_run, "records": records, "lead_columns": LEAD_COLUMNS,
            "model": surrogate.config["model"]["name"], "parameter_count": surrogate.parameter_count,
            "checkpoint": os.path.abspath(surrogate.path), "checkpoint_step": surrogate.step,
            "data": os.path.abspath(data)}


def summary(result: dict) -> str:
    """One line of `graphqd evaluate`'s result: the RMSE of n over all runs and per bias."""
    everything = result["groups"]["all"]
    parts = [f"all ({everything['runs']} runs): RMSE n {everything['rmse_n']:.4g} "
             f"({100 * everything['relative_rmse_n']:.2f} % of std n), RMSE F {everything['rmse_force']:.4g}"]
    parts += [f"{name} {g['rmse_n']:.3g}" for name, g in result["groups"].items() if name != "all"]
    return "; ".join(parts)
