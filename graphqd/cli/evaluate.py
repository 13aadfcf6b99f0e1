"""`graphqd evaluate --checkpoint RUN_DIR|FILE --data PATH.h5 --out metrics.json`.

Dispatched on the system of the data (`graphqd.runtime.systems`, role `metrics`); the
checkpoint must hold a surrogate of that system.
"""
from __future__ import annotations

from graphqd.bench.common import write_json
from graphqd.data.recipes.common import resolve_device
from graphqd.runtime import conservation
from graphqd.runtime import systems
from graphqd.runtime.surrogate import load_surrogate


def add_parser(subparsers):
    p = subparsers.add_parser("evaluate", help="one-step and rollout metrics of a surrogate against a store",
                              description="Metrics of a trained surrogate on a store: one-step RMSE_Q, RMSE_P, "
                                          "RMSE_rho and total, rollout RMSE per step from t = 0, valid time, "
                                          "autocorrelation of the CDW order parameters, Wasserstein-1 of Q, "
                                          "energy and trace drift. Written as JSON.")
    p.add_argument("--checkpoint", required=True, help="run directory (its latest checkpoint) or checkpoint file")
    p.add_argument("--data", required=True, help="store to evaluate on (e.g. a held-out test file)")
    p.add_argument("--out", required=True, help="metrics JSON file")
    p.add_argument("--steps", type=int, default=None, help="rollout steps (default: all the data holds)")
    p.add_argument("--runs", type=int, default=None, help="use the first N trajectories (default: all)")
    p.add_argument("--one-step-samples", type=int, default=2000, help="(run, time) samples of the one-step RMSE")
    p.add_argument("--valid-threshold", type=float, default=0.5,
                   help="valid time ends when rollout RMSE exceeds this × the climate scale (default 0.5)")
    p.add_argument("--conserve", action="append", default=[], metavar="INVARIANT",
                   help="project the rollouts onto an invariant of the exact dynamics, per chain (repeatable): "
                        + conservation.HELP)
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    return p


def run(args) -> int:
    system = systems.of_store(args.data)
    metrics = system.load("metrics", f"'{args.data}' is a {system.name} store")
    device = resolve_device(args.device)
    surrogate = load_surrogate(args.checkpoint, device, system.name)
    result = metrics.evaluate(surrogate, args.data, args.steps, args.runs, args.one_step_samples, args.valid_threshold,
                              device=device, conserve=tuple(args.conserve))
    write_json(args.out, result)
    print(f"{metrics.summary(result)}; wrote {args.out}")
    return 0
