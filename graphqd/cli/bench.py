"""`graphqd bench {holstein,wave,negf,surrogate}`: measure, print a table, write JSON."""
from __future__ import annotations

import importlib

from graphqd.bench.common import write_json
from graphqd.data.recipes.common import resolve_device
from graphqd.errors import GraphqdError

BENCHES = ("holstein", "wave", "negf", "surrogate")


def add_parser(subparsers):
    p = subparsers.add_parser("bench", help="benchmarks: print a table and write JSON",
                              description="Benchmarks against baselines measured in the same run.")
    sub = p.add_subparsers(dest="bench", metavar="BENCH")
    sub.required = True
    for name in BENCHES:
        q = sub.add_parser(name, help=f"benchmark {name}")
        q.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
        q.add_argument("--out", default=None, help=f"JSON file (default: bench_{name}.json)")
        q.add_argument("--quick", action="store_true", help="a small, fast version (for tests and smoke runs)")
        try:
            importlib.import_module(f"graphqd.bench.{name}").add_arguments(q)
        except ModuleNotFoundError:
            pass  # reported when run
    return p


def run(args) -> int:
    try:
        module = importlib.import_module(f"graphqd.bench.{args.bench}")
    except ModuleNotFoundError:
        raise GraphqdError(f"graphqd bench {args.bench} is not available in this version") from None
    args.device = resolve_device(args.device)
    payload = module.run(args)
    out = args.out or f"bench_{args.bench}.json"
    import torch
    write_json(out, {"bench": args.bench, "device": str(args.device), "threads": torch.get_num_threads(),
                     "quick": args.quick, **payload})
    print(f"wrote {out}")
    return 0
