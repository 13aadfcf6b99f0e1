"""`graphqd bench wave`: seconds per curriculum run of the 1D Schrödinger ground truth.

For each method (fd3/spectral Laplacian × split/exact propagator) the batched torch
simulator is timed on a subset of the curriculum (500 snapshots of Δt = 0.1, t = 50) and
compared, in the same run, with a plain per-run numpy/scipy loop of the same method
written below. Times extrapolate to the 2646-run curriculum:

- split: cost is linear in runs and internal steps, so a few snapshots are timed and
  scaled to 500;
- exact: one eigen-decomposition per distinct potential (14 in the curriculum) plus one
  propagation per run; both parts are timed and recombined for 14 potentials and 2646 runs.
  The per-run reference decomposes H again for every run, as a plain loop does.
"""
from __future__ import annotations

import argparse

import numpy as np
import scipy.linalg
import torch

from graphqd.bench.common import best_time, device_description, format_table, synchronize
from graphqd.physics import schrodinger, wave_panel

SNAPSHOTS, DT, INTERNAL_DT = 500, 0.1, 0.0005
METHODS = ("fd3/split", "spectral/split", "fd3/exact", "spectral/exact")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--methods", default=",".join(METHODS),
                        help=f"comma-separated laplacian/propagator pairs out of {', '.join(METHODS)}")
    parser.add_argument("--runs", type=int, default=None,
                        help="curriculum runs in the timed batch (default 28, 4 with --quick)")
    parser.add_argument("--heights", type=int, default=None,
                        help="distinct barrier heights among the timed runs (default 2, 1 with --quick)")
    parser.add_argument("--split-snapshots", type=int, default=None,
                        help="snapshots timed for split methods, scaled to 500 (default 10, 1 with --quick)")
    parser.add_argument("--reference", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the plain per-run numpy/scipy loop of each method")
    parser.add_argument("--reference-runs", type=int, default=None,
                        help="runs timed with the per-run loop (default 2, 1 with --quick)")


# ---------------------------------------------------------------------------------------
# plain per-run references (numpy / scipy), one run at a time

def reference_split(psi0: np.ndarray, V: np.ndarray, dx: float, laplacian: str, tau: float, steps: int,
                    n_steps: int) -> np.ndarray:
    """One run of the Strang split method (V/2, kinetic, V/2) in numpy; returns (n_steps + 1, X)."""
    n = psi0.shape[0]
    psi = psi0.astype(complex).copy()
    half_v = np.exp(-0.5j * tau * V)
    frames = [psi.copy()]
    if laplacian == "fd3":
        def pairs(state, first, duration):
            # exact exponential of the bond block (1/2dx²)[[1,-1],[-1,1]] on (i, i+1)
            phase = np.exp(-1j * duration / dx**2)
            rolled = np.roll(state, -first).reshape(-1, 2)
            mean, half_diff = 0.5 * (rolled[:, 0] + rolled[:, 1]), 0.5 * (rolled[:, 0] - rolled[:, 1]) * phase
            return np.roll(np.stack([mean + half_diff, mean - half_diff], axis=1).reshape(n), first)

        def kinetic(state):
            return pairs(pairs(pairs(state, 0, tau / 2), 1, tau), 0, tau / 2)
    else:
        phase_k = np.exp(-0.5j * tau * (2 * np.pi * np.fft.fftfreq(n, d=dx)) ** 2)

        def kinetic(state):
            return np.fft.ifft(phase_k * np.fft.fft(state))
    for _ in range(n_steps):
        for _ in range(steps):
            psi = half_v * kinetic(half_v * psi)
        frames.append(psi.copy())
    return np.stack(frames)


def reference_exact(psi0: np.ndarray, V: np.ndarray, dx: float, laplacian: str, dt: float,
                    n_steps: int) -> np.ndarray:
    """One run of exact propagation: scipy eigh of its own H, then one matrix product."""
    n = psi0.shape[0]
    if laplacian == "fd3":
        kinetic = (np.eye(n) - 0.5 * np.roll(np.eye(n), 1, axis=0) - 0.5 * np.roll(np.eye(n), -1, axis=0)) / dx**2
    else:
        k = 2 * np.pi * np.fft.fftfreq(n, d=dx)
        column = np.fft.ifft(0.5 * k**2).real
        kinetic = column[(np.arange(n)[:, None] - np.arange(n)[None, :]) % n]
    energies, basis = scipy.linalg.eigh(kinetic + np.diag(V))
    coefficients = basis.T @ psi0
    phases = np.exp(-1j * np.outer(energies, dt * np.arange(n_steps + 1)))
    return (basis @ (phases * coefficients[:, None])).T


# ---------------------------------------------------------------------------------------

def _options(args) -> dict:
    quick = bool(getattr(args, "quick", False))
    pick = lambda value, full, short: value if value is not None else (short if quick else full)  # noqa: E731
    methods = [m.strip() for m in str(getattr(args, "methods", ",".join(METHODS))).split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        from graphqd.errors import ConfigError
        raise ConfigError(f"unknown method {unknown[0]!r} for --methods; choose from {', '.join(METHODS)}.")
    return {"quick": quick, "methods": methods,
            "runs": pick(getattr(args, "runs", None), 28, 4),
            "heights": pick(getattr(args, "heights", None), 2, 1),
            "split_snapshots": pick(getattr(args, "split_snapshots", None), 10, 1),
            "reference": bool(getattr(args, "reference", True)),
            "reference_runs": pick(getattr(args, "reference_runs", None), 2, 1),
            "repeats": 1 if quick else 2}


def _timed_runs(full: wave_panel.Curriculum, runs: int, heights: int) -> torch.Tensor:
    """A fixed spread of the curriculum: ``runs`` random packets over ``heights`` random barrier heights.

    Like the real workload, many runs share each potential (189 per height in the curriculum).
    """
    generator = torch.Generator().manual_seed(0)
    n_heights = len(wave_panel.CURRICULUM_HEIGHTS)
    chosen_heights = torch.randperm(n_heights, generator=generator)[:max(1, min(heights, runs, n_heights))]
    packets = torch.randperm(len(full) // n_heights, generator=generator)[:runs]
    return packets * n_heights + chosen_heights[torch.arange(runs) % chosen_heights.numel()]


def run(args) -> dict:
    options = _options(args)
    device = torch.device(getattr(args, "device", None) or ("cuda" if torch.cuda.is_available() else "cpu"))
    x = schrodinger.grid(device=device)
    dx = schrodinger.spacing(x)
    full = wave_panel.curriculum()
    n_potentials_full = len(set(full.barrier_height.tolist()))
    subset = full.select(_timed_runs(full, options["runs"], options["heights"]))
    psi0, V = subset.packets(x), subset.potentials(x)
    n_potentials = torch.unique(V, dim=0).shape[0]
    n_ref = min(options["reference_runs"], options["runs"])
    psi0_np, V_np = psi0[:n_ref].cpu().numpy(), V[:n_ref].cpu().numpy()
    steps = schrodinger.internal_steps(DT, INTERNAL_DT)

    rows = []
    for method in options["methods"]:
        laplacian, propagator = method.split("/")
        snapshots = SNAPSHOTS if propagator == "exact" else options["split_snapshots"]
        result = {}

        def batched():
            result["psi"] = schrodinger.simulate(psi0, V, x, DT, snapshots, laplacian, propagator, INTERNAL_DT)

        if propagator == "split":   # first-call costs (thread pools, allocator) out of the timing
            schrodinger.simulate(psi0[:1], V[:1], x, DT, 1, laplacian, propagator, INTERNAL_DT)
        seconds = best_time(batched, device, repeats=options["repeats"])
        row = {"method": method, "runs": options["runs"], "timed_snapshots": snapshots}
        if propagator == "exact":
            # the two parts, timed on their own: one decomposition, all timed runs propagated with it
            eigen = {}

            def decompose():
                eigen["E"], eigen["U"] = schrodinger.eigensystem(x, V[0], laplacian)

            eigen_seconds = best_time(decompose, device, repeats=options["repeats"])
            propagate_seconds = best_time(
                lambda: schrodinger.propagate_eigen(psi0, eigen["E"], eigen["U"], DT, SNAPSHOTS), device,
                repeats=options["repeats"]) / options["runs"]
            curriculum_seconds = n_potentials_full * eigen_seconds + len(full) * propagate_seconds
            row.update(batched_s_per_run_timed=seconds / options["runs"], eigh_s_per_potential=eigen_seconds,
                       propagate_s_per_run=propagate_seconds)
        else:
            curriculum_seconds = seconds * (SNAPSHOTS / snapshots) * len(full) / options["runs"]
        row.update(s_per_run=curriculum_seconds / len(full), curriculum_min=curriculum_seconds / 60)

        if options["reference"]:
            ref_snapshots = SNAPSHOTS if propagator == "exact" else min(snapshots, 2)
            reference = {}

            def per_run_loop():
                reference["psi"] = np.stack([
                    reference_exact(psi0_np[i], V_np[i], dx, laplacian, DT, ref_snapshots) if propagator == "exact"
                    else reference_split(psi0_np[i], V_np[i], dx, laplacian, DT / steps, steps, ref_snapshots)
                    for i in range(n_ref)])

            ref_seconds = best_time(per_run_loop, "cpu", repeats=1) * (SNAPSHOTS / ref_snapshots) / n_ref
            ours = result["psi"][:n_ref, :ref_snapshots + 1].cpu().numpy()
            row.update(reference_s_per_run=ref_seconds, reference_curriculum_min=ref_seconds * len(full) / 60,
                       speedup=ref_seconds / row["s_per_run"],
                       max_abs_diff=float(np.abs(ours - reference["psi"]).max()))
        rows.append(row)
        synchronize(device)

    columns = ["method", "s_per_run", "curriculum_min", "reference_s_per_run", "reference_curriculum_min",
               "speedup", "max_abs_diff"]
    print(f"wave ground truth on {device_description(device)}: {options['runs']} curriculum runs timed "
          f"({n_potentials} barrier heights), extrapolated to {len(full)} runs x {SNAPSHOTS} snapshots "
          f"(dt={DT}, internal_dt={INTERNAL_DT})")
    print(format_table(rows, [c for c in columns if any(c in r for r in rows)]))
    exact_minutes = [r["curriculum_min"] for r in rows if r["method"].endswith("exact")]
    return {"system": "wave", "device": str(device), "device_description": device_description(device),
            "threads": torch.get_num_threads(), "quick": options["quick"], "timed_runs": options["runs"],
            "timed_potentials": n_potentials, "curriculum_runs": len(full),
            "curriculum_potentials": n_potentials_full, "snapshots": SNAPSHOTS, "dt": DT,
            "internal_dt": INTERNAL_DT, "reference_runs": n_ref if options["reference"] else 0,
            "methods": rows,
            "exact_under_10_min": bool(exact_minutes) and min(exact_minutes) < 10.0,
            "note": "split methods timed on timed_snapshots and scaled linearly to 500; exact = "
                    "14 eigendecompositions + 2646 propagations, each part timed"}
