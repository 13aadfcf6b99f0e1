"""Issue 6, experiment 1: how local a surrogate's force network F_P is, against the exact on-site force.

The exact Ehrenfest force is on-site, dP_i/dt = g(n_i − ½) − K Q_i (DESIGN §3.1): ∂Ṗ_i/∂Q_j = −K δ_ij and
∂Ṗ_i/∂n_j = g δ_ij. For exact stored states of a Holstein store this script evaluates each model's
differentiator F_P(Q, n) (the network N_P of arXiv 2412.06631, Eq. (12)), in physical units, and reports

    rate_rmse:  √⟨(F_P,i − dP_i/dt)²⟩ over sites and states (the labels from `physics.holstein.rhs`);
    response:   ⟨∂F_P,i/∂Q_{i+d}⟩ and ⟨∂F_P,i/∂n_{i+d}⟩ for d = −3 … 3 (autograd, averaged over sites and states).

A model that spreads its response over neighbours has learned a correlation of the training quenches (their
Q and n are nearly collinear) rather than the force, and fails on states off that manifold.

Usage (from the repository root):
    python experiments/holstein_parc/phonon_locality.py --data data/shallow_test.h5 --data data/shallow_train.h5 \
        --checkpoint strang_graph=runs/holstein_parc/shallow_strang_graph_ft \
        --checkpoint strang_cnn=runs/holstein_parc/shallow_strang_cnn_ft --out experiments/holstein_parc/results/phonon_locality.json
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

from graphqd import keys as K
from graphqd.data.holstein import params_of_store
from graphqd.data.store import open_store
from graphqd.graphs.holstein import graph_batch
from graphqd.runtime.surrogate import load_surrogate
from graphqd.physics import holstein
from sweep_common import device_name

REACH = 3


def force_network(surrogate, Q: torch.Tensor, n: torch.Tensor, batch) -> torch.Tensor:
    """F_P(Q, n) of the model in physical units; Q, n (chains · L,)."""
    model, norm = surrogate.model, surrogate.model.normalization
    n_normalized = (n - norm.get(K.RHO, "mean")[0]) / norm.get(K.RHO, "std")[0]
    inputs = torch.stack([norm.normalize(K.Q, Q), n_normalized], -1)
    state = {K.Q: Q, K.P: torch.zeros_like(Q), K.RHO: torch.zeros(batch[K.BAND_SITES].size(0), 2, dtype=Q.dtype)}
    return model.apply_site(model.derivative_P, inputs, model.context(batch, state))[:, 0] * norm.get(K.P, "rate_std")


def locality(checkpoint: str, data: str, runs: int, every: int) -> dict:
    surrogate = load_surrogate(checkpoint)
    spec = type(surrogate.model).graph_spec({k: v for k, v in surrogate.config["model"].items() if k != "name"})
    with open_store(data, "holstein") as f:
        params = params_of_store(f)
        frames = np.arange(0, f["Q"].shape[1], every)
        Q = torch.from_numpy(f["Q"][:runs][:, frames]).double()
        P = torch.from_numpy(f["P"][:runs][:, frames]).double()
        rho = torch.from_numpy(f["rho"][:runs][:, frames]).to(torch.complex128)
    L = Q.shape[-1]
    label = holstein.rhs(holstein.State(Q, P, rho), params)[1].reshape(-1, L)
    Q, n = Q.reshape(-1, L), torch.diagonal(rho, dim1=-2, dim2=-1).real.reshape(-1, L)
    chains = Q.size(0)
    batch = graph_batch(L, params.boundary == "periodic", spec, chains)
    surrogate.model.double()
    Q_in, n_in = Q.reshape(-1).clone().requires_grad_(True), n.reshape(-1).clone().requires_grad_(True)
    force = force_network(surrogate, Q_in, n_in, batch).reshape(chains, L)
    rate_rmse = float((force.detach() - label).pow(2).mean().sqrt())
    # response of every site's force to the sites at offset d: one backward pass per target site i
    response = {"Q": np.zeros(2 * REACH + 1), "n": np.zeros(2 * REACH + 1)}
    for i in range(L):
        dQ, dn = torch.autograd.grad(force[:, i].sum(), (Q_in, n_in), retain_graph=True)
        for name, grad in (("Q", dQ), ("n", dn)):
            grad = grad.reshape(chains, L).mean(0)
            for d in range(-REACH, REACH + 1):
                response[name][d + REACH] += float(grad[(i + d) % L]) / L
    return {"checkpoint": os.path.relpath(surrogate.path), "data": os.path.relpath(data), "states": chains,
            "rate_rmse": rate_rmse, "rate_std_of_labels": float(label.std()),
            "offsets": list(range(-REACH, REACH + 1)),
            "response_Q": response["Q"].round(4).tolist(), "response_n": response["n"].round(4).tolist(),
            "exact_response_Q": [-params.stiffness if d == 0 else 0.0 for d in range(-REACH, REACH + 1)],
            "exact_response_n": [params.g if d == 0 else 0.0 for d in range(-REACH, REACH + 1)]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", action="append", required=True, help="exact Holstein store(s)")
    ap.add_argument("--checkpoint", action="append", required=True, help="NAME=RUN_DIR|FILE")
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--every", type=int, default=25, help="use every k-th stored snapshot")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    results = {"device": device_name(), "runs": args.runs, "every": args.every, "models": {}}
    for entry in args.checkpoint:
        name, path = entry.split("=", 1)
        results["models"][name] = [locality(path, data, args.runs, args.every) for data in args.data]
        for r in results["models"][name]:
            print(f"{name:28s} {r['data']:24s} F_P rate RMSE {r['rate_rmse']:.2e} (labels' std {r['rate_std_of_labels']:.2e}); "
                  f"dF_i/dQ_(i+d) {r['response_Q']}; dF_i/dn_(i+d) {r['response_n']}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
