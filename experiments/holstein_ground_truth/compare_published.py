"""graphqd's Holstein ground truth beside the published C++ simulator of Ning, Yang, Chern (arXiv 2412.06631).

The published code (`qdyn`, in data/data_src of https://github.com/apning/holstein-parc; C++17 with
Armadillo, LAPACK, BLAS and ARPACK, e.g. Debian's `libarmadillo-dev`) integrates

    dQ/dt = K0 P',  dP'/dt = -K0 Q + eta G (D_ii - 1/2),  dD/dt = -i[H, D],  H = -t hop - G diag(Q)

with RK4 at 0.01, K0 = 0.3, eta = 0.8, t = 1: ours with Omega = K0, K = K0/eta, m = 1/(eta K0) and
P = m K0 P'. This script builds `qdyn` from a local copy of that source, then

1. agreement: one published shallow quench (L = 8, t = 200) integrated by both codes from the same state;
2. speed: the same workloads (shallow quenches with noise 1e-4, every snapshot at 0.08 written to a
   file: qdyn its text files, graphqd an HDF5 file; initial state included), single-threaded, with
   graphqd's compiled RK4 (the default on the CPU) and its torch RK4.

Usage (from the repository root):
    git clone https://github.com/apning/holstein-parc /tmp/holstein-parc
    .venv/bin/python experiments/holstein_ground_truth/compare_published.py --source /tmp/holstein-parc
Writes results/compare_published.{json,csv} (--quick: t shortened 20x, for a check of the script).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch

from graphqd.physics import holstein

K0, ETA = 0.3, 0.8
DT, SAVE_INTERVAL = 0.01, 8  # RK4 step and steps per snapshot of both codes (snapshots every 0.08)
WORKLOADS = ((64, 8, 200.0), (1, 8, 200.0), (1, 32, 200.0), (1, 128, 50.0))  # (runs, L, t_final)
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def params(L: int, g: float) -> holstein.HolsteinParams:
    return holstein.HolsteinParams(L=L, hopping=1.0, omega=K0, stiffness=K0 / ETA, g=g)


def build(source: Path, work: Path) -> Path:
    src = source / "data" / "data_src" if (source / "data" / "data_src").is_dir() else source
    if not (src / "qhs.cpp").is_file():
        raise SystemExit(f"{source} holds neither data/data_src/qhs.cpp nor qhs.cpp of apning/holstein-parc")
    shutil.copytree(src, work / "src")
    subprocess.run(["make", "qdyn"], cwd=work / "src", check=True, capture_output=True)
    return work / "src" / "qdyn"


def run_qdyn(qdyn: Path, out: Path, sim_num: int, L: int, t_final: float, noise: float,
             g: tuple[float, float] = (0.5, 0.8)) -> None:
    saved = round(t_final / (DT * SAVE_INTERVAL))
    # directory sim_num phase save_interval save_mid_interval L dt pre_steps saved_steps g_i g_f noise
    #   zero_displacement zero_momentum onsite_V eta init_Q
    args = [out, sim_num, 0, SAVE_INTERVAL, 0, L, DT, 0, saved, *g, noise, 0, 1, 0.0, ETA, 0.250104]
    subprocess.run([str(qdyn)] + [str(a) for a in args], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, **SINGLE_THREAD})


def read_qdyn(path: Path, L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Q (T, L), P' (T, L), D (T, L, L) of a data_sim_*.dat file: per record, ###### then L² lines
    'Re Im' of D, ###### then L lines of Q, ###### then L lines of P'."""
    blocks = path.read_text().split("######\n")[1:]
    D = np.array([np.loadtxt(b.splitlines()).view(complex).reshape(L, L) for b in blocks[0::3]])
    Q = np.array([np.loadtxt(b.splitlines()) for b in blocks[1::3]])
    P = np.array([np.loadtxt(b.splitlines()) for b in blocks[2::3]])
    return Q, P, D


def graphqd_run(runs: int, L: int, t_final: float, out: Path, kernel: str) -> None:
    state = holstein.noisy_ground_states(params(L, 0.5), 1e-4, list(range(runs)))
    traj = holstein.simulate(state, params(L, 0.8), DT * SAVE_INTERVAL, round(t_final / (DT * SAVE_INTERVAL)),
                             SAVE_INTERVAL, record_dtype=torch.float64, kernel=kernel)
    with h5py.File(out, "w") as f:
        for name in ("t", "Q", "P", "rho"):
            f.create_dataset(name, data=getattr(traj, name).numpy())


def agreement(qdyn: Path, work: Path, t_final: float) -> dict:
    """One published shallow quench (L = 8, g 0.5 -> 0.8, noise 1e-4 on Q and P' from qdyn's own random
    stream), integrated again by graphqd from qdyn's first record (written with 18 digits)."""
    run_qdyn(qdyn, work, 999, 8, t_final, noise=1e-4)
    Q, Pp, D = read_qdyn(work / "data_sim_999.dat", 8)
    p = params(8, 0.8)
    start = holstein.State(*(torch.from_numpy(np.ascontiguousarray(x)) for x in (Q[0], p.mass * K0 * Pp[0], D[0])))
    traj = holstein.simulate(start, p, DT * SAVE_INTERVAL, len(Q) - 1, SAVE_INTERVAL)
    dQ = np.abs(traj.Q.numpy() - Q).max(-1)
    half = traj.t.numpy() <= t_final / 2
    return {"L": 8, "g": [0.5, 0.8], "t_final": t_final, "max_abs_dQ": float(dQ.max()),
            "max_abs_dQ_first_half": float(dQ[half].max()),
            "max_abs_dP": float(np.abs(traj.P.numpy() - p.mass * K0 * Pp).max()),
            "max_abs_drho": float(np.abs(traj.rho.numpy() - D).max()), "max_abs_Q": float(np.abs(Q).max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="a copy of apning/holstein-parc (or its data_src)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--quick", action="store_true", help="t_final / 20")
    args = parser.parse_args()
    torch.set_num_threads(1)
    scale = 20.0 if args.quick else 1.0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        qdyn = build(args.source.resolve(), work)
        match = agreement(qdyn, work, 200.0 / scale)
        print(f"agreement, shallow quench L = 8, t <= {match['t_final']:g}: "
              f"max |dQ| {match['max_abs_dQ']:.1e} "
              f"({match['max_abs_dQ_first_half']:.1e} to t = {match['t_final'] / 2:g}), "
              f"|dP| {match['max_abs_dP']:.1e}, "
              f"|drho| {match['max_abs_drho']:.1e}; max |Q| {match['max_abs_Q']:.2g}")
        for runs, L, t_final in WORKLOADS:
            t_final /= scale
            row = {"runs": runs, "L": L, "t_final": t_final}
            start = time.perf_counter()
            for k in range(runs):
                run_qdyn(qdyn, work, k, L, t_final, noise=1e-4)
            row["published_cpp_s"] = time.perf_counter() - start
            for kernel in ("c", "torch"):
                start = time.perf_counter()
                graphqd_run(runs, L, t_final, work / f"graphqd_{kernel}.h5", kernel)
                row[f"graphqd_{kernel}_s"] = time.perf_counter() - start
            row["cpp_over_graphqd"] = row["published_cpp_s"] / row["graphqd_c_s"]
            rows.append(row)
            print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    machine = f"{platform.machine()} CPU, {os.cpu_count()} cores, 1 thread per code"
    args.out.mkdir(parents=True, exist_ok=True)
    name = "compare_published_quick" if args.quick else "compare_published"
    (args.out / f"{name}.json").write_text(json.dumps({"machine": machine, "agreement": match, "workloads": rows},
                                                      indent=2) + "\n")
    with open(args.out / f"{name}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out / name}.json and .csv ({machine})")


if __name__ == "__main__":
    main()
