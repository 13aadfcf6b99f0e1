"""Issue 6, experiment 7: where a surrogate's energy error comes from — its ρ update or its (Q, P) update.

The exact Ehrenfest step conserves E(Q, P, ρ) (`graphqd.runtime.energy_shell`). For stored exact pairs
(u_t, u_t+1) the one-step energy error of a surrogate, E(û_t+1) − E(u_t), is split into

    ρ part:       E(Q_t, P_t, ρ̂_t+1) − E(Q_t, P_t, ρ_t+1)   (the model's ρ against the exact ρ, lattice fixed),
    lattice part: E(Q̂_t+1, P̂_t+1, ρ_t) − E(Q_t+1, P_t+1, ρ_t)   (the model's Q, P against the exact ones),

per site; its mean is the heating bias, its std the noise an energy projection has to absorb. For scale,
"exact_rho_exchange" is the energy the exact ρ update moves between electrons and lattice in one step. This is
what chooses `--conserve energy-rho` (undo the error in ρ) over `--conserve energy` (through Q, P).

Usage (from the repository root):
    python experiments/holstein_parc/energy_errors.py --data data/deep_long.h5 \
        --checkpoint runs/holstein_parc/deep_strang_graph_long2 --checkpoint runs/holstein_parc/deep_strang_cnn_long2 \
        --out experiments/holstein_parc/results/energy_errors.json
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

from graphqd import keys as K
from graphqd.graphs.holstein import dense_to_band, graph_batch
from graphqd.runtime.energy_shell import EnergyShell
from graphqd.runtime.surrogate import load_surrogate, surrogate_samples
from sweep_common import device_name
from deep_quench import params_of


def stats(x: torch.Tensor) -> dict:
    return {"mean": float(x.mean()), "std": float(x.std())}


@torch.no_grad()
def energy_errors(checkpoint: str, data: str, runs: int, first: int, every: int) -> dict:
    surrogate = load_surrogate(checkpoint)
    dataset = surrogate_samples(surrogate, data)
    f, L, spec, periodic = dataset.store.file, dataset.L, dataset.graphs, dataset.periodic
    shell = EnergyShell(params_of(dict(f.attrs)), spec)
    frames = np.arange(first, f["Q"].shape[1] - 1, every)

    def state(frame_offset: int) -> dict:
        pick = frames + frame_offset
        Q = torch.from_numpy(f["Q"][:runs][:, pick]).reshape(-1, L)
        P = torch.from_numpy(f["P"][:runs][:, pick]).reshape(-1, L)
        rho = torch.from_numpy(f["rho"][:runs][:, pick]).reshape(-1, L, L)
        return {K.Q: Q.reshape(-1), K.P: P.reshape(-1), K.RHO: dense_to_band(rho, L, periodic, spec).reshape(-1, 2)}

    now, exact = state(0), state(1)
    out = surrogate.model(graph_batch(L, periodic, spec, now[K.Q].numel() // L), now)
    model = {key: out[key] for key in now}
    per_site = lambda s: shell.energy(s) / L  # noqa: E731
    return {"checkpoint": os.path.relpath(surrogate.path), "samples": now[K.Q].numel() // L,
            "exact_step": stats(per_site(exact) - per_site(now)),
            "exact_rho_exchange": stats(per_site(dict(now, **{K.RHO: exact[K.RHO]})) - per_site(now)),
            "model_step": stats(per_site(model) - per_site(now)),
            "rho_part": stats(per_site(dict(now, **{K.RHO: model[K.RHO]})) - per_site(dict(now, **{K.RHO: exact[K.RHO]}))),
            "lattice_part": stats(per_site(dict(model, **{K.RHO: now[K.RHO]})) - per_site(dict(exact, **{K.RHO: now[K.RHO]})))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="exact store (snapshot spacing = the model step)")
    ap.add_argument("--checkpoint", action="append", required=True)
    ap.add_argument("--runs", type=int, default=32)
    ap.add_argument("--first", type=int, default=1000, help="first snapshot (1000: the domain phase of the deep quench)")
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    results = {"data": os.path.relpath(args.data), "runs": args.runs, "first": args.first, "every": args.every,
               "device": device_name(), "units": "energy per site per model step",
               "models": [energy_errors(c, args.data, args.runs, args.first, args.every) for c in args.checkpoint]}
    for r in results["models"]:
        print(f"{r['checkpoint']}: step error {r['model_step']['mean']:.2e} ± {r['model_step']['std']:.2e}; "
              f"rho part {r['rho_part']['mean']:.2e} ± {r['rho_part']['std']:.2e}; "
              f"lattice part {r['lattice_part']['mean']:.2e} ± {r['lattice_part']['std']:.2e}; "
              f"exact step {r['exact_step']['std']:.1e}, of which the rho update moves ± {r['exact_rho_exchange']['std']:.1e}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
