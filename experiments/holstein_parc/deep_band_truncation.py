"""Issue 18, the deep quench on long chains: what cutting ρ to a band costs the exact dynamics itself (the
shallow quench's floor is band_truncation.py).

The Ehrenfest equations of the store (Eqs. (2)–(4) of arXiv 2412.06631; RK4 with the store's Δt and substeps)
are integrated from the t = 0 state of every run of a truth store, with ρ_ij set to 0 beyond the ring distance
r after every step of Δt:

    ρ_ij ← ρ_ij · [d(i, j) ≤ r],    d(i, j) = min(|i − j|, L − |i − j|).

This is what a surrogate whose ρ lives on the band of radius r does if it learns the exact rules and no closure
for the entries it drops (a learned closure can do better). The cut leaves ρ_ii and the bonds, all the energy
reads, alone, so the energy is still conserved, but ρ is no longer pure. r < 0 keeps all of ρ
(the exact dynamics again, a check against the store). With --conserve, the projections of
`graphqd rollout --conserve` act after every cut as they do on a surrogate's steps: what they do to dynamics
that need no correction. With --band-equations the cut acts at every evaluation of the right-hand side
instead, by integrating the banded equations of `graphqd.physics.holstein_band` (ρ held on the band alone,
O(L·r) per step): the dynamics a band surrogate that learned the exact rules would run. Each r gives a store in
the layout of
`graphqd rollout --rho band` (Q, P and ρ on the band of radius 1: the occupations and bonds the climate reads),
scored by deep_long_chains.py like any rollout.

Usage (from the repository root; run_long_chains.sh deepcut drives it):
    python experiments/holstein_parc/deep_band_truncation.py --truth data/deep_pilot10k_L256.h5 --radius 4 \
        --steps 10000 --out runs/holstein_parc/band_cut/r4.h5
"""
from __future__ import annotations

import argparse
import os
import time

import h5py
import numpy as np
import torch

from graphqd import keys as K
from graphqd.data.density_band import BAND, RADIUS_ATTR, to_band
from graphqd.data.holstein import params_of_store
from graphqd.graphs.holstein import HolsteinGraphSpec, band_to_dense, dense_to_band
from graphqd.physics import holstein, holstein_band
from graphqd.runtime.conservation import INVARIANTS, invariant_projection

from band_truncation import band_mask  # this folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--truth", required=True, help="exact Holstein store (periodic chain, quench from the "
                                                       "ground state) whose t = 0 states start the runs")
    parser.add_argument("--radius", type=int, required=True, help="band radius r of the cut (< 0: no cut)")
    parser.add_argument("--steps", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=None, help="the first RUNS runs (default: all)")
    parser.add_argument("--conserve", action="append", default=[], choices=INVARIANTS,
                        help="project after every cut as `graphqd rollout --conserve` does (needs --radius >= 1)")
    parser.add_argument("--band-equations", action="store_true",
                        help="integrate the banded equations (graphqd.physics.holstein_band), cut at every evaluation")
    parser.add_argument("--substeps", type=int, default=None,
                        help="RK4 steps per step of Δt (default: the store's; fewer are cheaper and less accurate)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.conserve and args.radius < 1:
        parser.error("--conserve needs the band of a cut, --radius >= 1")
    if args.band_equations and (args.conserve or args.radius < 1):
        parser.error("--band-equations takes a radius >= 1 and no --conserve")
    torch.set_num_threads(1)
    with h5py.File(args.truth, "r") as f:
        runs = f["Q"].shape[0] if args.runs is None else args.runs
        Q0 = torch.as_tensor(f["Q"][:runs, 0], dtype=torch.float64)
        P0 = torch.as_tensor(f["P"][:runs, 0], dtype=torch.float64)
        attrs = dict(f.attrs)
        params = params_of_store(f)
    if str(attrs["boundary"]) != "periodic" or str(attrs["initial_rho"]) != "ground":
        raise SystemExit(f"{args.truth}: needs a periodic chain quenched from the ground state")
    L, dt, substeps = Q0.shape[-1], float(attrs["dt"]), args.substeps or int(attrs["substeps"])
    h_initial = holstein.hamiltonian(Q0, params.with_g(float(attrs["g_initial"])))
    mask = band_mask(L, args.radius) if args.radius >= 0 else torch.ones(L, L, dtype=torch.bool)
    rho = holstein.fermi_sea(h_initial, L / 2).to(torch.complex128) * mask
    state = holstein.State(Q0, P0, rho)
    project = None
    if args.conserve:
        spec = HolsteinGraphSpec(band_radius=args.radius)

        def as_band_state(s: holstein.State) -> dict:
            return {K.Q: s.Q.reshape(-1), K.P: s.P.reshape(-1),
                    K.RHO: dense_to_band(s.rho, L, True, spec).reshape(-1, 2)}

        def projected(s: holstein.State) -> holstein.State:
            out = constraint(as_band_state(s))
            return holstein.State(out[K.Q].reshape(runs, L), out[K.P].reshape(runs, L),
                                  band_to_dense(out[K.RHO].reshape(runs, -1, 2), L, True, spec))

        constraint = invariant_projection(args.conserve, params, spec)(as_band_state(state))
        project = projected
    Q, P = np.zeros((runs, args.steps + 1, L), np.float32), np.zeros((runs, args.steps + 1, L), np.float32)
    band = np.zeros((runs, args.steps + 1, L, 3), np.complex64)
    began = time.perf_counter()
    if args.band_equations:
        rows = holstein_band.band_rows(state.rho, args.radius, params)
    for step in range(args.steps + 1):
        if step and args.band_equations:
            advanced = holstein_band.simulate(state.Q, state.P, rows, params, dt, 1, substeps)
            state, rows = holstein.State(advanced.Q[:, -1], advanced.P[:, -1], None), advanced.rho[:, -1]
        elif step:
            state = holstein.advance(state, params, dt / substeps, substeps)
            state = holstein.State(state.Q, state.P, state.rho * mask)
            if project is not None:
                state = project(state)
        Q[:, step], P[:, step] = state.Q.numpy(), state.P.numpy()
        band[:, step] = rows[..., args.radius - 1:args.radius + 2].numpy() if args.band_equations else \
            to_band(state.rho.numpy(), 1, True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    partial = args.out + ".partial"
    with h5py.File(partial, "w") as f:
        f["Q"], f["P"], f[BAND] = Q, P, band
        for key in ("hopping", "omega", "stiffness", "mass", "g_initial", "g_final", "boundary", "lattice_shape",
                    "dt"):
            f.attrs[key] = attrs[key]
        f.attrs[RADIUS_ATTR] = 1
        f.attrs["conserve"] = (f"band equations r = {args.radius}" if args.band_equations else
                               f"band cut r = {args.radius}" if args.radius >= 0 else "none (exact)") \
            + "".join(f", {c}" for c in args.conserve)
        f.attrs["wall_s"] = time.perf_counter() - began
        f.attrs["substeps"] = substeps
    os.replace(partial, args.out)
    print(f"wrote {runs} runs of {args.steps} steps with rho cut to radius {args.radius} to {args.out} "
          f"({time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
