"""How much of ρ must a local model carry? The exact Ehrenfest dynamics of the shallow quench with ρ
cut to the band d(i, j) ≤ r after every model step (Δt = 0.08): the Q error this truncation alone
causes, relative to A(L) = max_t |φ_Q| of the exact run, for several band radii r.

    python experiments/holstein_parc/band_truncation.py --lattices 64 256 512 --radii 4 8 16 32 64 \
        --steps 400 --out experiments/holstein_parc/results/long_chains/band_truncation.json

A model of band radius r that learned the exact local rules perfectly, with no closure for the
entries it drops, makes at least this error: the floor of that band radius. With --band-equations the
cut acts at every evaluation of the right-hand side instead (the equations on the band alone,
`graphqd.physics.holstein_band`, O(L·r) per step), which is what such a model can at best do.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import torch

from graphqd.physics import holstein, holstein_band


def band_mask(L: int, radius: int) -> torch.Tensor:
    i = torch.arange(L)
    d = (i[:, None] - i[None, :]).abs()
    return torch.minimum(d, L - d) <= radius


def clean_quench(L: int, g_initial: float = 0.5,
                 g_final: float = 0.8) -> tuple[holstein.State, holstein.HolsteinParams]:
    """The ground state at g_initial (a batch of one) and the parameters of the dynamics at g_final."""
    params = holstein.HolsteinParams(L=L, omega=0.4, stiffness=0.4, g=g_final)
    state = holstein.ground_state(params.with_g(g_initial))
    return holstein.State(state.Q[None], state.P[None], state.rho[None]), params


def run(start: tuple[holstein.State, holstein.HolsteinParams], radius: int | None, steps: int,
        band_equations: bool = False, substeps: int = 8) -> torch.Tensor:
    """Q and φ_Q(t) at steps 0 … `steps` of the clean quench `start` (from `clean_quench`), ρ cut to the band after
    every step (None: exact), or integrated on the band alone."""
    state, params = start
    L = params.n_sites
    sign = (-1.0) ** torch.arange(L)
    if band_equations and radius is not None:
        rows = holstein_band.band_rows(state.rho, radius, params)
        Q = holstein_band.simulate(state.Q, state.P, rows, params, 0.08, steps, substeps, record_band=0).Q[0]
        return Q, (Q * sign).mean(-1)
    mask = band_mask(L, radius) if radius is not None else None
    Q = [state.Q[0].clone()]
    for _ in range(steps):
        traj = holstein.simulate(state, params, 0.08, 1, 8)
        state = holstein.State(traj.Q[:, -1], traj.P[:, -1], traj.rho[:, -1])
        if mask is not None:
            state = holstein.State(state.Q, state.P, state.rho * mask)
        Q.append(state.Q[0].clone())
    Q = torch.stack(Q).double()
    return Q, (Q * sign).mean(-1)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lattices", type=int, nargs="+", default=[64, 256])
    p.add_argument("--radii", type=int, nargs="+", default=[4, 8, 16, 32])
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--band-equations", action="store_true",
                   help="the equations on the band alone (cut at every evaluation) instead of a cut after every step")
    p.add_argument("--substeps", type=int, nargs="+", default=[8],
                   help="RK4 steps per step of 0.08 of the band equations (one row each; the exact run keeps 8)")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for L in args.lattices:
        began = time.perf_counter()
        start = clean_quench(L)
        Q_exact, phi_exact = run(start, None, args.steps)
        amplitude = float(phi_exact.abs().max())
        for radius in args.radii:
            if 2 * radius + (2 if args.band_equations else 1) > L:
                continue
            for substeps in args.substeps if args.band_equations else [8]:
                Q, phi = run(start, radius, args.steps, band_equations=args.band_equations, substeps=substeps)
                for step in sorted({100, args.steps}):
                    error = float(((Q[step] - Q_exact[step]) ** 2).mean().sqrt())
                    rows.append({"L": L, "band_radius": radius, "substeps": substeps, "step": step, "A": amplitude,
                                 "rmse_Q": error, "rmse_Q_over_A": error / amplitude,
                                 "phi_exact": float(phi_exact[step]), "phi_truncated": float(phi[step])})
                    print(f"L {L:5d} r {radius:3d} substeps {substeps} step {step:4d}: RMSE_Q {error:.4f} = "
                          f"{100 * error / amplitude:6.2f} % of A = {amplitude:.3f} (phi exact "
                          f"{float(phi_exact[step]):+.4f}, cut {float(phi[step]):+.4f})", flush=True)
        print(f"L {L}: {time.perf_counter() - began:.0f} s", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump({"steps": args.steps, "rows": rows, "hardware": "2-core CPU, 1 thread",
                   "cut": "every evaluation (band equations)" if args.band_equations else "after every step"}, fh,
                  indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
