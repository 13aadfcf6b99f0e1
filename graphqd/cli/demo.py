"""`graphqd demo`: a small end-to-end run on the CPU (a few minutes).

Simulates small shallow- and deep-quench Holstein datasets, exports a trajectory to ASE
and plots Q(t), φ_Q(t) and |ρ| snapshots; trains a small graph surrogate on the L = 8
deep quench, rolls it out on an L = 64 chain against the exact solver and evaluates it;
rolls the pretrained graph PARC of the shallow quench out to t = 32 on an L = 256 chain against the
exact solver, and that of the deep quench to t = 80 on an L = 256 chain through its band-local constraints;
propagates a few wave packets through barriers and plots |ψ(x, t)|²; rolls the pretrained
wave emulator out 400 steps on the step-pyramid potential of the test panel against its exact
solution; runs a biased CDW
under NEGF forces and plots its domain wall, then a 120 × 30 lattice under the pretrained
force field. Everything goes under --out (default demo_output/).
"""
from __future__ import annotations

import os

import numpy as np
import torch

from graphqd import config as cfg
from graphqd.bench.common import write_json
from graphqd.data.recipes import holstein as holstein_recipe
from graphqd.data.recipes import negf as negf_recipe
from graphqd.data.recipes import wave as wave_recipe
from graphqd.evaluate.holstein_plots import plot_quench, plot_rollout
from graphqd.evaluate.negf_plots import plot_domain_wall
from graphqd.evaluate.wave_plots import plot_density
from graphqd.io.ase_export import export

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PRETRAINED = os.path.join(ROOT, "experiments", "holstein_parc", "pretrained", "shallow_chains16_graph.pt")
PRETRAINED_LATTICE = 256  # the chain the pretrained shallow- and deep-quench models are rolled out on
PRETRAINED_DEEP = os.path.join(ROOT, "experiments", "holstein_parc", "pretrained", "deep_chains_climate_graph.pt")
# the band-local constraints the deep model was trained through, the lattice moved only where that is well conditioned
DEEP_CONSERVE = ("purity-band", "energy-band-conditioned")
PRETRAINED_WAVE = os.path.join(ROOT, "experiments", "wave_emulator", "pretrained", "kernel.pt")
PRETRAINED_FORCE = os.path.join(ROOT, "experiments", "negf_forcefield", "pretrained", "forcefield_graph.pt")
FORCE_FIELD_LATTICE = (120, 30)  # Lx, Ly: 3,600 sites, three times the largest exact run of the experiments
NEGF_DEMO_BIAS = 2.5  # left electrode gated: a metallic layer nucleates there and a domain wall sweeps across
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
    p.add_argument("--train-steps", type=int, default=600, help="optimiser steps of the surrogate (default 600)")
    p.add_argument("--pretrained", default=PRETRAINED, help="pretrained shallow-quench model rolled out against "
                   "the exact solver (default: the repository's graph PARC)")
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


def surrogate_demo(out: str, train_steps: int, steps: int = 250) -> None:
    """Train a small graph surrogate on the L = 8 deep quench, roll it out at L = 64, evaluate it."""
    from graphqd.evaluate.holstein_metrics import evaluate
    from graphqd.evaluate.holstein_rollout import exact_path, write_rollouts
    from graphqd.runtime.surrogate import load_surrogate
    from graphqd.train import train

    data, run_dir = os.path.join(out, "holstein_deep.h5"), os.path.join(out, "surrogate_run")
    config = {"model": {"name": "local_increment", "width": 16, "depth": 2, "kernel_radius": 1, "band_radius": 4},
              "data": {"path": data, "split": [0.75, 0.125, 0.125], "batch_size": 32},
              "optim": {"lr": 3.0e-3}, "schedule": {"warmup_steps": 50, "min_lr_ratio": 0.01},
              "train": {"steps": train_steps, "device": "cpu", "rollout_lengths": [1, 2, 4],
                        "curriculum": [0, train_steps // 3, 2 * train_steps // 3], "input_noise": 0.5},
              "log": {"run_dir": run_dir, "val_every": max(1, train_steps // 3),
                      "checkpoint_every": max(1, train_steps // 3), "val_runs": 1}}
    finished = os.path.isdir(os.path.join(run_dir, "checkpoints")) and load_surrogate(run_dir).step >= train_steps
    if not finished:  # a new run, or the resumption of an interrupted one
        train(config, resume=run_dir if os.path.isdir(os.path.join(run_dir, "checkpoints")) else None)
    surrogate = load_surrogate(run_dir)
    rollout = os.path.join(out, "surrogate_rollout_L64.h5")
    for path in (rollout, exact_path(rollout)):
        if os.path.exists(path):
            os.remove(path)  # a rerun rolls the (possibly retrained) model out afresh
    write_rollouts(surrogate, data, rollout, steps=steps, lattice=64, runs=2)
    plot_rollout(exact_path(rollout), rollout, 0, os.path.join(out, "surrogate_rollout_L64.png"))
    metrics = evaluate(surrogate, data, steps=steps)
    write_json(os.path.join(out, "surrogate_metrics.json"), metrics)
    print(f"surrogate: trained {surrogate.step} steps ({run_dir}, TensorBoard: "
          f"tensorboard --logdir {run_dir}); one-step RMSE {metrics['rmse_total']:.3g}, valid time "
          f"{metrics['valid_time']:.3g}; L = 64 rollout vs exact in surrogate_rollout_L64.png")


def roll_pretrained(checkpoint: str, data: str, rollout: str, t_final: float, lattice: int, label: str,
                    **options) -> tuple[int, dict] | None:
    """Roll a committed checkpoint out to `t_final` (in steps of its Δt) on one chain of `lattice` sites made by the
    recipe of `data`, ρ kept on the model's band, with the exact run written beside it (earlier files of both
    replaced); returns (steps, `write_rollouts`' summary), or None with a note where the checkpoint is missing."""
    from graphqd.evaluate.holstein_rollout import exact_path, write_rollouts
    from graphqd.runtime.surrogate import load_surrogate

    if not os.path.isfile(checkpoint):
        print(f"{label}: '{checkpoint}' not found (it ships with the repository); skipped")
        return None
    for path in (rollout, exact_path(rollout)):
        if os.path.exists(path):
            os.remove(path)
    surrogate = load_surrogate(checkpoint)
    steps = max(1, round(t_final / surrogate.dt))
    return steps, write_rollouts(surrogate, data, rollout, steps=steps, lattice=lattice, runs=1, rho="band",
                                 **options)


def pretrained_demo(out: str, checkpoint: str, t_final: float, lattice: int = PRETRAINED_LATTICE) -> None:
    """Roll the pretrained graph PARC of the shallow quench out to `t_final` (in steps of the model's Δt)
    on a chain of `lattice` sites, 32 times the L = 8 chain of the demo's data, from that chain's own CDW
    ground state; plot it against the exact trajectory written beside it and report the Q error at the
    last step relative to the CDW amplitude of the exact run."""
    from graphqd.data.store import open_store
    from graphqd.evaluate.holstein_rollout import exact_path

    rollout = os.path.join(out, "pretrained_rollout.h5")
    done = roll_pretrained(checkpoint, os.path.join(out, "holstein_shallow.h5"), rollout, t_final, lattice,
                           "pretrained graph PARC")
    if done is None:
        return
    steps, summary = done
    plot_rollout(exact_path(rollout), rollout, 0, os.path.join(out, "pretrained_rollout.png"))
    with open_store(exact_path(rollout), "holstein") as h, open_store(rollout, "holstein") as r:
        truth, predicted = h["Q"][0, :steps + 1], r["Q"][0]
    sign = 1 - 2 * (np.arange(truth.shape[1]) % 2)
    amplitude = float(np.abs(truth @ sign).max() / truth.shape[1])  # max |φ_Q| of the exact quench
    error = float(np.sqrt(np.mean((predicted[-1] - truth[-1]) ** 2)))
    write_json(os.path.join(out, "pretrained_metrics.json"),
               {"checkpoint": checkpoint, "L": lattice, "steps": steps, "dt": summary["dt"],
                "cdw_amplitude": amplitude, "rmse_Q_last": error, "rmse_Q_last_over_amplitude": error / amplitude})
    print(f"pretrained graph PARC ({checkpoint}): {steps}-step rollout of the shallow quench at L = {lattice}, "
          f"RMSE_Q at t = {steps * summary['dt']:g} is {100 * error / amplitude:.2g} % of the CDW amplitude; "
          f"plot pretrained_rollout.png")


def deep_pretrained_demo(out: str, checkpoint: str, t_final: float, lattice: int = PRETRAINED_LATTICE) -> None:
    """Roll the pretrained deep-quench graph PARC out to `t_final` on a chain of `lattice` sites (its training
    chains had at most 64) with the band-local constraints, beside the exact quench from the same state; plot
    both (`plot_climate`) and report the polaron fraction and lattice kinetic energy per site of both over the
    second half of the run (the chaotic trajectories decorrelate; these statistics should agree)."""
    from graphqd.evaluate.holstein_plots import plot_climate
    from graphqd.evaluate.holstein_rollout import exact_path
    from graphqd.evaluate.metrics import nucleation_time

    rollout = os.path.join(out, "deep_pretrained_rollout.h5")
    done = roll_pretrained(checkpoint, os.path.join(out, "holstein_deep.h5"), rollout, t_final, lattice,
                           "pretrained deep-quench graph PARC", conserve=DEEP_CONSERVE)
    if done is None:
        return
    steps, summary = done
    series = plot_climate(exact_path(rollout), rollout, 0, os.path.join(out, "deep_pretrained_rollout.png"))
    late = slice(steps // 2, None)
    metrics = {"checkpoint": checkpoint, "L": lattice, "steps": steps, "dt": summary["dt"],
               "conserve": list(DEEP_CONSERVE), "averaged_over_t": [float(series["exact"]["t"][late][0]),
                                                                   float(series["exact"]["t"][-1])]}
    for name in ("polaron_fraction", "kinetic"):
        for who in ("exact", "model"):
            metrics[f"{name}_{who}"] = float(series[who][name][late].mean())
    for who in ("exact", "model"):  # polarons formed: the fraction reaches half the exact late mean
        t = nucleation_time(series[who]["polaron_fraction"], series[who]["t"], metrics["polaron_fraction_exact"] / 2)
        metrics[f"nucleation_time_{who}"] = None if t is None else round(t, 4)
    write_json(os.path.join(out, "deep_pretrained_metrics.json"), metrics)
    first, last = metrics["averaged_over_t"]
    print(f"pretrained deep-quench graph PARC ({checkpoint}): {steps} steps at L = {lattice} with "
          f"{' and '.join(DEEP_CONSERVE)}; over t = {first:g} … {last:g} "
          f"polaron fraction {metrics['polaron_fraction_model']:.3f} (exact {metrics['polaron_fraction_exact']:.3f}), "
          f"lattice kinetic energy per site {metrics['kinetic_model']:.3f} (exact {metrics['kinetic_exact']:.3f}); "
          f"polarons formed at t = {metrics['nucleation_time_model']} (exact {metrics['nucleation_time_exact']}); "
          f"plot deep_pretrained_rollout.png")


def wave_emulator_demo(out: str, checkpoint: str, steps: int = 400) -> None:
    """Roll the pretrained wave emulator out on the panel's step pyramid beside its exact solution."""
    from graphqd.evaluate.wave_rollout import write_on_potential
    from graphqd.physics import schrodinger, wave_panel
    from graphqd.runtime.surrogate import load_surrogate

    if not os.path.isfile(checkpoint):
        print(f"pretrained wave emulator: '{checkpoint}' not found (it ships with the repository); skipped")
        return
    case = next(c for c in wave_panel.test_panel(schrodinger.grid()) if c.name == "steps")
    potential = os.path.join(out, "wave_steps_V.npy")
    np.save(potential, case.V.numpy())
    result = write_on_potential(load_surrogate(checkpoint), potential, (case.X0, case.S0, case.E0),
                                os.path.join(out, "wave_emulator_steps.h5"), steps)
    write_json(os.path.join(out, "wave_emulator_steps_metrics.json"), result["metrics"])
    group = result["metrics"]["groups"]["all"]
    print(f"pretrained wave emulator ({checkpoint}): {steps} steps on the step pyramid, MAE {group['mae']:.3g}, "
          f"C {group['correlation']:.4f} against space-splitting; plot wave_emulator_steps.png")


def negf_demo(out: str) -> None:
    """A short biased 16 × 8 CDW run under exact NEGF forces and its domain-wall plot."""
    config = cfg.validate({"system": "negf", "lattice": {"Lx": 16, "Ly": 8},
                           "leads": {"bias": NEGF_DEMO_BIAS, "gate": "left"},
                           "dynamics": {"t_final": 40.0, "record_every": 5},
                           "storage": {"batch": 1, "chunk_records": 10}}, negf_recipe.SCHEMA)
    store = os.path.join(out, "negf_demo.h5")
    negf_recipe.generate(config, store, torch.device("cpu"))
    velocity = plot_domain_wall(store, 0, os.path.join(out, "negf_domain_wall.png"))
    frames = export(store, 0, os.path.join(out, "negf_demo.extxyz"), every=6)
    walls = ", ".join(f"{v:.3g} from the {side} electrode" for side, v in velocity.items())
    print(f"biased CDW (V = {NEGF_DEMO_BIAS:g}): {store}, plot negf_domain_wall.png (wall velocity {walls} "
          f"columns per unit time), ASE negf_demo.extxyz ({frames} frames)")


def force_field_demo(out: str, checkpoint: str, t_final: float = 40.0) -> None:
    """Brownian dynamics of a 120 × 30 lattice under the pretrained graph force field at V = 2.5,
    and its domain-wall plot: a lattice the exact NEGF force would need hours per run for."""
    if not os.path.isfile(checkpoint):
        print(f"pretrained force field: '{checkpoint}' not found (it ships with the repository); skipped")
        return
    from graphqd.runtime.force_field import learned_force_field
    Lx, Ly = FORCE_FIELD_LATTICE
    config = cfg.validate({"system": "negf", "seed": 7, "lattice": {"Lx": Lx, "Ly": Ly},
                           "leads": {"bias": NEGF_DEMO_BIAS, "gate": "left"}, "initial": {"q_noise": 0.1},
                           "dynamics": {"t_final": t_final, "record_every": 5}, "force": {"checkpoint": checkpoint},
                           "storage": {"batch": 1, "chunk_records": 20}}, negf_recipe.SCHEMA)
    store = os.path.join(out, "negf_learned.h5")
    negf_recipe.generate(config, store, torch.device("cpu"),
                         learned=lambda params: learned_force_field(checkpoint, params))
    velocity = plot_domain_wall(store, 0, os.path.join(out, "negf_learned_domain_wall.png"))
    print(f"learned force field ({checkpoint}): Brownian dynamics of a {Lx} x {Ly} lattice at V = "
          f"{NEGF_DEMO_BIAS:g} to t = {t_final:g}, wall velocity {velocity['left']:.3g} columns per unit time; "
          f"plot negf_learned_domain_wall.png")


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
    if args.threads is None:
        torch.set_num_threads(1)  # small lattices: extra threads only contend
    os.makedirs(args.out, exist_ok=True)
    holstein_demo(args.out, args.trajectories, args.t_final)
    surrogate_demo(args.out, args.train_steps, steps=min(250, round(args.t_final / 0.08) - 1))
    pretrained_demo(args.out, args.pretrained, t_final=min(32.0, args.t_final))
    deep_pretrained_demo(args.out, PRETRAINED_DEEP, t_final=args.t_final)
    wave_demo(args.out)
    wave_emulator_demo(args.out, PRETRAINED_WAVE, steps=min(400, round(args.t_final / 0.1)))
    negf_demo(args.out)
    force_field_demo(args.out, PRETRAINED_FORCE, t_final=min(40.0, args.t_final))
    print(f"demo finished: results in {args.out}/")
    return 0
