"""`graphqd evaluate` for Holstein surrogates: one-step and rollout errors, climate
statistics and invariants against a store, written as metrics.json.

Keys: rmse_Q, rmse_P, rmse_rho, rmse_total (one step of the model, averaged over samples);
rollout_rmse_total (per rollout step from t = 0, averaged over runs); valid_time (mean over
runs of the time before rmse_total exceeds valid_threshold × the climate scale σ, σ the
rmse_total of the truth from its pooled mean state); autocorr_maxdiff {phi_Q, phi_rho}
(max |ΔC(τ)| up to lag min(250, steps/2)); wasserstein_Q (W1 of the Q marginals over the
rollout, also divided by std(Q)); energy_drift and trace_drift (mean over runs of
max_t |E(t) − E(0)|/L and |Tr ρ(t) − Tr ρ(0)|; the truth's in *_truth); hermiticity_error;
parameter_count; data; checkpoint; conserve. ρ errors count the band entries the model predicts.
With `conserve` the rollouts are projected onto those invariants (`graphqd.runtime.conservation`).
"""
from __future__ import annotations

import os

import numpy as np
import torch
from torch_geometric.data import Batch

from graphqd import keys as K
from graphqd.data.holstein import HolsteinWindows
from graphqd.errors import GraphqdError
from graphqd.evaluate import metrics
from graphqd.graphs.holstein import band_to_dense
from graphqd.physics import holstein
from graphqd.runtime.conservation import INVARIANTS, invariant_projection
from graphqd.runtime.rollout import rollout
from graphqd.runtime.surrogate import Surrogate, surrogate_samples

MAX_LAG = 250


def _batches(dataset, pairs, horizon, size, device):
    for begin in range(0, len(pairs), size):
        chunk = pairs[begin:begin + size]
        yield Batch.from_data_list([dataset.window(r, s, horizon, rates=False) for r, s in chunk]).to(device)


@torch.no_grad()
def evaluate(surrogate: Surrogate, data: str, steps: int | None = None, max_runs: int | None = None,
             one_step_samples: int = 2000, valid_threshold: float = 0.5, batch_size: int = 64,
             device: torch.device | str = "cpu", conserve: tuple = ()) -> dict:
    model = surrogate.model.to(device).eval()
    dataset = surrogate_samples(surrogate, data)
    constraint_for = invariant_projection(conserve, dataset.params, dataset.graphs)
    k, frames = dataset.step, dataset.num_frames
    if frames - 1 < k:
        raise GraphqdError(f"'{data}' has {frames} snapshots per run, fewer than one model step of {k} + 1")
    runs = dataset.runs[:max_runs] if max_runs else dataset.runs
    available = (frames - 1) // k
    steps = available if steps is None else steps
    if not 1 <= steps <= available:
        raise GraphqdError(f"--steps {steps} is not allowed: '{data}' holds at most {available} model steps of "
                           f"{k} snapshots from t = 0")

    # one step from stored states, on an even grid of (run, start) pairs
    starts = list(range(0, frames - k))
    pairs = [(r, s) for r in runs for s in starts]
    if len(pairs) > one_step_samples:
        pairs = [pairs[i] for i in np.linspace(0, len(pairs) - 1, one_step_samples).round().astype(int)]
    sums = {"Q": 0.0, "P": 0.0, "rho": 0.0, "total": 0.0}
    for batch in _batches(dataset, pairs, 1, batch_size, device):
        error = dataset.error(model(batch, dataset.state_at(batch, 0)), dataset.state_at(batch, 1), batch)
        for name in sums:
            sums[name] += float(error[name].sum())
    one_step = {f"rmse_{name}": value / len(pairs) for name, value in sums.items()}

    # rollouts from t = 0
    curves, truth_Q, pred_Q, truth_phi, pred_phi, energy, trace, hermiticity = [], [], [], [], [], [], [], []
    params = dataset.params
    for batch in _batches(dataset, [(r, 0) for r in runs], steps, batch_size, device):
        initial = dataset.state_at(batch, 0)
        states = rollout(model, batch, initial, steps, constraint=constraint_for(initial))
        curves.append(np.stack([dataset.error(states[h], dataset.state_at(batch, h), batch)["total"].cpu().numpy()
                                for h in range(1, steps + 1)], -1))
        n = batch.num_graphs
        L = dataset.L
        for source, q_list, phi_list in ((None, truth_Q, truth_phi), (states, pred_Q, pred_phi)):
            Q = torch.stack([(dataset.state_at(batch, h) if source is None else source[h])[K.Q].reshape(n, L)
                             for h in range(steps + 1)], 1).double()                      # (n, T, L)
            P = torch.stack([(dataset.state_at(batch, h) if source is None else source[h])[K.P].reshape(n, L)
                             for h in range(steps + 1)], 1).double()
            band = torch.stack([(dataset.state_at(batch, h) if source is None else source[h])[K.RHO].reshape(n, -1, 2)
                                for h in range(steps + 1)], 1).double()                   # (n, T, M, 2)
            rho = band_to_dense(band, L, dataset.periodic, dataset.graphs)
            q_list.append(Q.cpu().numpy())
            phi_list.append(np.stack([p.cpu().numpy() for p in holstein.order_parameters(Q, rho, params)], 0))
            energy.append(metrics.invariant_drift(holstein.energy(holstein.State(Q, P, rho), params).cpu()) / L)
            trace.append(metrics.invariant_drift(rho.diagonal(dim1=-2, dim2=-1).sum(-1).real.cpu()))
            if source is not None:
                hermiticity.append(float((rho - rho.mH).abs().max()))
    # energy/trace lists alternate truth, prediction per chunk
    energy_truth, energy_pred = np.concatenate(energy[0::2]), np.concatenate(energy[1::2])
    trace_truth, trace_pred = np.concatenate(trace[0::2]), np.concatenate(trace[1::2])
    curves = np.concatenate(curves)                                                          # (runs, steps)
    truth_Q, pred_Q = np.concatenate(truth_Q), np.concatenate(pred_Q)
    truth_phi, pred_phi = np.concatenate(truth_phi, 1), np.concatenate(pred_phi, 1)        # (2, runs, T)

    sigma = climate_scale(dataset, runs, steps)
    lag = min(MAX_LAG, steps // 2)
    autocorr = {name: float(np.abs(metrics.autocorrelation(pred_phi[i], lag) -
                                   metrics.autocorrelation(truth_phi[i], lag)).max())
                for i, name in enumerate(("phi_Q", "phi_rho"))}
    w1 = metrics.wasserstein1(pred_Q, truth_Q)
    return {
        **one_step,
        "rollout_rmse_total": curves.mean(0).tolist(),
        "valid_time": float(metrics.valid_time(curves, valid_threshold * sigma, dataset.dt).mean()),
        "valid_threshold": valid_threshold, "climate_scale": sigma,
        "autocorr_maxdiff": autocorr, "autocorr_max_lag": lag,
        "wasserstein_Q": w1, "wasserstein_Q_over_std": w1 / max(float(truth_Q.std()), 1e-300),
        "energy_drift": float(energy_pred.mean()), "energy_drift_truth": float(energy_truth.mean()),
        "trace_drift": float(trace_pred.mean()), "trace_drift_truth": float(trace_truth.mean()),
        "hermiticity_error": max(hermiticity) if hermiticity else 0.0,
        "parameter_count": surrogate.parameter_count, "model": surrogate.config["model"]["name"],
        "data": os.path.abspath(data), "checkpoint": os.path.abspath(surrogate.path),
        "checkpoint_step": surrogate.step, "runs": len(runs), "rollout_steps": steps, "dt": dataset.dt,
        "one_step_samples": len(pairs), "lattice": dataset.L, "conserve": [c for c in INVARIANTS if c in conserve],
    }


@torch.no_grad()
def window_rmse(surrogate: Surrogate, data: str, steps: int, starts: list[int], max_runs: int | None = None,
                batch_size: int = 64, device: torch.device | str = "cpu", conserve: tuple = ()) -> dict:
    """Rollout error against the prediction window: RMSE of Q, P, ρ and total after h = 1 … `steps`
    model steps, averaged over rollouts started from every stored snapshot in `starts` of every run
    (states on the attractor, not only t = 0). Returns {"Q": [...], "P": [...], "rho": [...],
    "total": [...], "starts": n}; `climate_scale` σ of the same runs is included to normalise.
    With `conserve`, each rollout keeps the invariants of its own start state."""
    model = surrogate.model.to(device).eval()
    dataset = surrogate_samples(surrogate, data)
    constraint_for = invariant_projection(conserve, dataset.params, dataset.graphs)
    runs = dataset.runs[:max_runs] if max_runs else dataset.runs
    last = dataset.num_frames - 1 - steps * dataset.step
    if last < 0 or any(not 0 <= s <= last for s in starts):
        raise GraphqdError(f"rollout windows of {steps} model steps must start at snapshots 0 … {last} of '{data}', "
                           f"got {list(starts)}")
    sums = {name: np.zeros(steps) for name in ("Q", "P", "rho", "total")}
    pairs = [(r, s) for r in runs for s in starts]
    for batch in _batches(dataset, pairs, steps, batch_size, device):
        initial = dataset.state_at(batch, 0)
        states = rollout(model, batch, initial, steps, constraint=constraint_for(initial))
        for h in range(1, steps + 1):
            error = dataset.error(states[h], dataset.state_at(batch, h), batch)
            for name in sums:
                sums[name][h - 1] += float(error[name].sum())
    result = {name: (value / len(pairs)).tolist() for name, value in sums.items()}
    return {**result, "starts": len(pairs), "dt": dataset.dt,
            "climate_scale": climate_scale(dataset, runs, (dataset.num_frames - 1) // dataset.step)}


def climate_scale(dataset: HolsteinWindows, runs, steps: int) -> float:
    """rmse_total of the stored states from their pooled mean state (the error of predicting
    the climatology), over the rollout frames of `runs`."""
    Q, P, band = [], [], []
    for r in runs:
        s = dataset.window(r, 0, steps, rates=False)
        Q.append(s[K.Q].T), P.append(s[K.P].T), band.append(s[K.RHO].transpose(0, 1))
    Q, P, band = torch.stack(Q).double(), torch.stack(P).double(), torch.stack(band).double()
    L = dataset.L
    rms = lambda x, norm: float(((x - x.mean()) ** 2).reshape(*x.shape[:2], -1).sum(-1).div(norm).sqrt().mean())
    rho_part = float(((band - band.mean((0, 1, 2))) ** 2).sum((-1, -2)).div(L * L).sqrt().mean())
    return rms(Q, L) + rms(P, L) + rho_part


def summary(result: dict) -> str:
    """One line of `graphqd evaluate`'s result."""
    return (f"one-step RMSE total {result['rmse_total']:.4g} (Q {result['rmse_Q']:.3g}, P {result['rmse_P']:.3g}, "
            f"rho {result['rmse_rho']:.3g}); rollout RMSE after {result['rollout_steps']} steps "
            f"{result['rollout_rmse_total'][-1]:.4g}; valid time {result['valid_time']:.3g}")
