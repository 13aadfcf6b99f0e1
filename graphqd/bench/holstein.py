"""`graphqd bench holstein`: the batched Ehrenfest simulator against a scipy loop, the compiled
RK4 against the torch one on the workloads of the published C++ comparison, and the cost per
step versus lattice size (banded commutator, O(L²), against dense O(L³), and the equations with ρ on a band,
O(L·r))."""
from __future__ import annotations

import math
import time

import numpy as np
import torch
from scipy.integrate import solve_ivp

from graphqd.bench.common import best_time, device_description, format_table, synchronize
from graphqd.physics import holstein, holstein_band, holstein_kernel

DEEP_INITIAL = holstein.HolsteinParams(L=8, g=0.0)
# (runs, L, t_final) of experiments/holstein_ground_truth/compare_published.py: shallow quenches g 0.5 -> 0.8
WORKLOADS = ((64, 8, 200.0), (1, 8, 200.0), (1, 32, 200.0), (1, 128, 50.0))


def add_arguments(parser) -> None:
    parser.add_argument("--batch", type=int, default=256, help="trajectories in the batched run (default 256)")
    parser.add_argument("--t-final", type=float, default=200.0, help="simulated time per trajectory (default 200)")
    parser.add_argument("--scipy-runs", type=int, default=3, help="trajectories in the scipy loop (default 3)")
    parser.add_argument("--sizes", default="64,128,256,512,1024", help="chain lengths of the scaling table")
    parser.add_argument("--band-radius", type=int, default=12,
                        help="band of the banded equations in the scaling table (default 12, the smallest that keeps "
                             "the deep quench's climate at L = 256)")


def _pack(state: holstein.State) -> np.ndarray:
    rho = state.rho.cpu().numpy()
    return np.concatenate([state.Q.cpu().numpy(), state.P.cpu().numpy(), rho.real.ravel(), rho.imag.ravel()])


def _unpack(y: np.ndarray, n: int) -> holstein.State:
    rho = y[2 * n:2 * n + n * n].reshape(n, n) + 1j * y[2 * n + n * n:].reshape(n, n)
    return holstein.State(torch.from_numpy(y[:n]), torch.from_numpy(y[n:2 * n]), torch.from_numpy(rho))


def scipy_trajectory(state: holstein.State, params: holstein.HolsteinParams, t_eval: np.ndarray,
                     tol: float) -> np.ndarray:
    """One trajectory by scipy's DOP853 on the same right-hand side; returns Q (T, n)."""
    n = params.n_sites
    sol = solve_ivp(lambda t, y: _pack(holstein.rhs(_unpack(y, n), params)), (0.0, t_eval[-1]), _pack(state),
                    method="DOP853", rtol=tol, atol=tol, t_eval=t_eval)
    return sol.y[:n].T


def run(args) -> dict:
    device = args.device
    batch, t_final, scipy_runs = (32, 8.0, 1) if args.quick else (args.batch, args.t_final, args.scipy_runs)
    sizes = [64, 128] if args.quick else [int(v) for v in args.sizes.split(",")]
    dt, substeps = 0.08, 8
    n_steps = round(t_final / dt)
    params = holstein.HolsteinParams(L=8, g=2.0)
    state = holstein.noisy_ground_states(DEEP_INITIAL, 1e-4, list(range(batch)), device)

    synchronize(device)
    start = time.perf_counter()
    traj = holstein.simulate(state, params, dt, n_steps, substeps)
    synchronize(device)
    batched = time.perf_counter() - start

    energy = holstein.energy(holstein.State(traj.Q, traj.P, traj.rho), params)
    trace = traj.rho.diagonal(dim1=-2, dim2=-1).sum(-1)
    invariants = {"energy_drift": float((energy - energy[..., :1]).abs().max()),
                  "trace_drift": float((trace - trace[..., :1]).abs().max()),
                  "hermiticity_error": float((traj.rho - traj.rho.mH).abs().max())}
    t_eval = traj.t.cpu().numpy()
    start = time.perf_counter()
    deviation = 0.0
    for k in range(scipy_runs):
        single = holstein.State(*(s[k].cpu() for s in state))
        q = scipy_trajectory(single, params, t_eval, tol=1e-10)
        check = min(len(t_eval), round(20.0 / dt) + 1)  # compare before chaos amplifies both errors
        deviation = max(deviation, float(np.abs(q[:check] - traj.Q[k, :check].cpu().numpy()).max()))
    scipy_seconds = (time.perf_counter() - start) / scipy_runs

    per_trajectory = batched / batch
    throughput = [{"method": f"graphqd RK4, batch {batch}", "device": device_description(device),
                   "seconds_per_trajectory": per_trajectory, "trajectory_snapshots_per_s": batch * n_steps / batched,
                   "speedup": scipy_seconds / per_trajectory},
                  {"method": "scipy DOP853 loop (rtol=atol=1e-10)", "device": "CPU",
                   "seconds_per_trajectory": scipy_seconds, "trajectory_snapshots_per_s": n_steps / scipy_seconds,
                   "speedup": 1.0}]
    print(f"Deep quench L = 8, t = 0..{t_final:g} ({n_steps} snapshots, {substeps} RK4 substeps each); "
          f"max |ΔQ| between the two methods up to t = 20: {deviation:.2e}")
    print("Invariants over the batched run (max over runs and time): " +
          ", ".join(f"{k} {v:.2e}" for k, v in invariants.items()))
    print(format_table(throughput, ["method", "device", "seconds_per_trajectory", "trajectory_snapshots_per_s",
                                    "speedup"]))

    workloads = workload_table(device, quick=args.quick)
    print("Shallow quenches (RK4 step 0.01, snapshot every 0.08): the torch integrator against the compiled one")
    print(format_table(workloads, ["runs", "L", "t_final", "torch_seconds", "compiled_seconds", "torch_over_compiled"]))

    scaling = []
    for L in sizes:
        p = holstein.HolsteinParams(L=L, g=2.0)
        s = holstein.noisy_ground_states(holstein.HolsteinParams(L=L, g=0.0), 1e-4, [0], device)
        steps = max(2, min(40, 2 ** 22 // L ** 2))
        banded = best_time(lambda: holstein.simulate(s, p, dt, 1, steps), device, repeats=3) / steps
        h = holstein.hamiltonian(s.Q, p).to(torch.complex128)
        dense = best_time(lambda: h @ s.rho - s.rho @ h, device, repeats=3)
        scaling.append({"L": L, "seconds_per_rk4_step": banded, "dense_commutator_seconds": dense,
                        "step_per_L2_ns": 1e9 * banded / L ** 2})
        if 2 * args.band_radius + 2 <= L:  # a band that leaves entries out
            rows = holstein_band.band_rows(s.rho, args.band_radius, p)
            on_band = best_time(lambda: holstein_band.simulate(s.Q, s.P, rows, p, dt, 1, steps), device,
                                repeats=3) / steps
            scaling[-1].update(band_seconds_per_rk4_step=on_band, dense_over_band=banded / on_band)
    for a, b in zip(scaling, scaling[1:]):
        b["exponent_vs_previous"] = math.log(b["seconds_per_rk4_step"] / a["seconds_per_rk4_step"]) / \
            math.log(b["L"] / a["L"])
    def exponent(rows):
        return float(np.polyfit(np.log([r["L"] for r in rows]),
                                np.log([r["seconds_per_rk4_step"] for r in rows]), 1)[0]) if len(rows) > 1 else None
    fits = {"all": exponent(scaling), "L>=256": exponent([r for r in scaling if r["L"] >= 256])}
    print("Least-squares exponent of the cost per step vs L (banded: 2, dense: 3): " +
          ", ".join(f"{k}: {v:.2f}" for k, v in fits.items() if v is not None) +
          " (small L fit in cache; from L = 256 on the step is memory-bound)")
    print("Cost per RK4 step (4 right-hand sides, banded commutator) vs chain length; one dense commutator hρ − ρh "
          f"for comparison, and the RK4 step of the equations with ρ on the band of radius {args.band_radius} "
          "(graphqd.physics.holstein_band, O(L·r), no closure):")
    print(format_table(scaling, ["L", "seconds_per_rk4_step", "step_per_L2_ns", "exponent_vs_previous",
                                 "dense_commutator_seconds", "band_seconds_per_rk4_step", "dense_over_band"]))
    return {"device_name": device_description(device), "batch": batch, "t_final": t_final, "n_steps": n_steps,
            "max_abs_dQ_to_t20": deviation, "invariants": invariants, "throughput": throughput,
            "workloads": workloads, "scaling": scaling, "scaling_exponent": fits}


def shallow_quench(runs: int, L: int, device) -> tuple[holstein.State, holstein.HolsteinParams]:
    """`runs` copies of the CDW ground state at g = 0.5 with Q noise 1e-4, to be evolved at g = 0.8."""
    state = holstein.noisy_ground_states(holstein.HolsteinParams(L=L, g=0.5), 1e-4, list(range(runs)), device)
    return state, holstein.HolsteinParams(L=L, g=0.8)


def workload_table(device, quick: bool = False) -> list[dict]:
    """Wall time of each workload of WORKLOADS with kernel "torch" and (on the CPU) "c"; the ratio is their quotient."""
    kernels = ["torch"] + (["c"] if torch.device(device).type == "cpu" and holstein_kernel.library() else [])
    rows = []
    for runs, L, t_final in WORKLOADS:
        t_final = 4.0 if quick else t_final
        state, params = shallow_quench(runs, L, device)
        row = {"runs": runs, "L": L, "t_final": t_final}
        for kernel in kernels:
            synchronize(device)
            start = time.perf_counter()
            holstein.simulate(state, params, 0.08, round(t_final / 0.08), 8, kernel=kernel)
            synchronize(device)
            row["compiled_seconds" if kernel == "c" else "torch_seconds"] = time.perf_counter() - start
        if "compiled_seconds" in row:
            row["torch_over_compiled"] = row["torch_seconds"] / row["compiled_seconds"]
        rows.append(row)
    return rows
