"""`graphqd demo`: a small end-to-end run on the CPU (a few minutes).

Simulates small shallow- and deep-quench Holstein datasets, exports a trajectory to ASE
and plots Q(t), φ_Q(t) and |ρ| snapshots; propagates a few wave packets through barriers
and plots |ψ(x, t)|²; all under --out (default demo_output/).
"""
from __future__ import annotations

import os

import torch

from graphqd import config as cfg
from graphqd.data.recipes import holstein as holstein_recipe
from graphqd.data.recipes import wave as wave_recipe
from graphqd.evaluate.holstein_plots import plot_quench
from graphqd.evaluate.wave_plots import plot_density
from graphqd.io.ase_export import export

QUENCHES = {
    "shallow": {"quench": {"g_initial": 0.5, "g_final": 0.8, "q_noise": 0.0}},
    "deep": {"quench": {"g_initial": 0.0, "g_final": 2.0, "q_noise": 1.0e-4}},
}


def add_parser(subparsers):
    p = subparsers.add_parser("demo", help="small end-to-end run on the CPU",
                              description=__doc__.split("\n\n")[1])
    p.add_argument("--out", default="demo_output", help="output folder (default demo_output/)")
    p.add_argument("--trajectories", type=int, default=8, help="runs per dataset (default 8)")
    p.add_argument("--t-final", type=float, default=80.0, help="simulated time (default 80)")
    return p


def holstein_demo(out: str, trajectories: int, t_final: float) -> None:
    for name, settings in QUENCHES.items():
        config = cfg.validate({"system": "holstein", "trajectories": trajectories,
                               "integrator": {"t_final": t_final}, **settings}, holstein_recipe.SCHEMA)
        store = os.path.join(out, f"holstein_{name}.h5")
        holstein_recipe.generate(config, store, torch.device("cpu"))
        plot_quench(store, 0, os.path.join(out, f"holstein_{name}.png"))
        frames = export(store, 0, os.path.join(out, f"holstein_{name}.extxyz"), every=5)
        print(f"{name} quench: {store}, plot holstein_{name}.png, ASE holstein_{name}.extxyz ({frames} frames)")


def wave_demo(out: str) -> None:
    """Six curriculum runs (three packets, barrier heights 3 and 10), propagated exactly to t = 20."""
    config = cfg.validate({"system": "wave", "runs": {"set": "curriculum", "start": 1234, "step": 7, "count": 6},
                           "integrator": {"t_final": 20.0, "propagator": "exact"}}, wave_recipe.SCHEMA)
    store = os.path.join(out, "wave_barriers.h5")
    wave_recipe.generate(config, store, torch.device("cpu"))
    plot_density(store, 1, os.path.join(out, "wave_barrier.png"))
    frames = export(store, 1, os.path.join(out, "wave_barrier.extxyz"), every=20)
    print(f"wave packets: {store}, plot wave_barrier.png, ASE wave_barrier.extxyz ({frames} frames)")


def run(args) -> int:
    os.makedirs(args.out, exist_ok=True)
    holstein_demo(args.out, args.trajectories, args.t_final)
    wave_demo(args.out)
    print(f"demo finished: results in {args.out}/")
    return 0
