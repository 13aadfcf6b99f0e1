"""`graphqd rollout --checkpoint RUN_DIR|FILE --data PATH.h5 --steps N [--lattice L] --out PATH.h5`.

Dispatched on the system of the data (`graphqd.runtime.systems`, role `rollout`); the
checkpoint must hold a surrogate of that system. With `--potential V.npy --packet X0 S0 E0`
instead of `--data`, a wave emulator runs on a potential of the user's beside its exact solution.
"""
from __future__ import annotations

import argparse
import inspect
import os
import sys

from graphqd.bench.common import write_json
from graphqd.data.recipes.common import resolve_device
from graphqd.errors import GraphqdError
from graphqd.runtime import conservation
from graphqd.runtime import systems
from graphqd.runtime.surrogate import load_surrogate


def add_parser(subparsers):
    p = subparsers.add_parser("rollout", help="autoregressive surrogate rollouts, written in the store layout",
                              description="Roll a trained surrogate out from stored states (or, with --lattice "
                                          "different from the data's, from fresh initial states of that size made "
                                          "with the data's recipe; the exact trajectory is written beside it as "
                                          "*_exact.h5).")
    p.add_argument("--checkpoint", required=True, help="run directory (its latest checkpoint) or checkpoint file")
    p.add_argument("--data", default=None, help="store whose states (or recipe) start the rollouts")
    p.add_argument("--potential", default=None, metavar="V.npy",
                   help="wave emulators, instead of --data: V at every grid point (.npy); the packet of --packet "
                        "is simulated exactly beside the rollout (*_exact.h5), with *_metrics.json and a figure")
    p.add_argument("--packet", type=float, nargs=3, default=(10.0, 2.0, 5.0), metavar=("X0", "S0", "E0"),
                   help="with --potential: packet centre, width and energy (default 10 2 5)")
    p.add_argument("--steps", type=int, required=True, help="model steps to roll out")
    p.add_argument("--lattice", type=int, default=None, help="chain length (default: the data's)")
    p.add_argument("--runs", type=int, default=None, help="number of trajectories (default: all of the data's)")
    p.add_argument("--start", type=int, default=0, help="stored snapshot to start from (data's lattice only)")
    p.add_argument("--exact", action=argparse.BooleanOptionalAction, default=True,
                   help="with --lattice: simulate the exact trajectory beside the rollout (default: yes)")
    p.add_argument("--conserve", action="append", default=[], metavar="INVARIANT",
                   help="project every step back onto an invariant of the exact dynamics, per chain (Holstein; "
                        "repeatable): " + conservation.HELP)
    p.add_argument("--rho", choices=["dense", "band"], default=None,
                   help="Holstein: store rho as L x L matrices (dense, the default) or only the model's band (band: "
                        "rho_band, about L / (2r + 1) times smaller; also for the exact trajectory beside it)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--out", required=True, help="output store (HDF5)")
    return p


def run(args) -> int:
    if (args.data is None) == (args.potential is None):
        raise GraphqdError("rollout needs one of --data PATH.h5 or --potential V.npy")
    if args.potential is not None:
        return on_potential(args)
    system = systems.of_store(args.data)
    writer = system.load("rollout", f"'{args.data}' is a {system.name} store")
    device = resolve_device(args.device)
    surrogate = load_surrogate(args.checkpoint, device, system.name)
    options = {}
    if args.rho is not None:
        if "rho" not in inspect.signature(writer.write_rollouts).parameters:
            raise GraphqdError(f"--rho is an option of Holstein rollouts; '{args.data}' is a {system.name} store")
        options["rho"] = args.rho
    summary = writer.write_rollouts(surrogate, args.data, args.out, args.steps, args.lattice, args.runs, args.start,
                                    args.exact, device, tuple(args.conserve), **options)
    print(writer.summary(summary))
    return 0


def on_potential(args) -> int:
    device = resolve_device(args.device)
    surrogate = load_surrogate(args.checkpoint, device)
    writer = systems.get(surrogate.system).load("rollout", f"'{args.checkpoint}' is a {surrogate.system} checkpoint")
    if not hasattr(writer, "write_on_potential"):
        raise GraphqdError(f"--potential is for wave emulators; '{args.checkpoint}' holds a {surrogate.system} "
                           f"surrogate (give --data)")
    summary = writer.write_on_potential(surrogate, args.potential, tuple(args.packet), args.out, args.steps, device)
    if summary["warning"]:
        print(f"graphqd rollout: warning: {summary['warning']}", file=sys.stderr)
    metrics_path = os.path.splitext(args.out)[0] + "_metrics.json"
    write_json(metrics_path, summary["metrics"])
    group = next(iter(summary["metrics"]["groups"].values()))
    print(f"{writer.summary(summary)}; exact solution in {summary['exact']}; MAE {group['mae']:.4g}, "
          f"C {group['correlation']:.4f}; metrics in {metrics_path}, figure {summary['figure']}")
    return 0
