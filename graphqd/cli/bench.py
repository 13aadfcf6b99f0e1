"""`graphqd bench {holstein,wave,negf,wave-emulator,surrogate}`: measure, print a table, write JSON.

`holstein`, `wave` and `negf` time the ground-truth simulators; `wave-emulator` the wave
emulators beside them; `surrogate` the learning side of a system: the reference Holstein
model, or the trained model of `--checkpoint`, dispatched on the checkpoint's system
(`graphqd.runtime.systems`, role `bench`).
"""
from __future__ import annotations

import importlib

from graphqd.bench.common import write_json
from graphqd.data.recipes.common import resolve_device
from graphqd.runtime import checkpoint as ckpt
from graphqd.runtime import systems
from graphqd.runtime.surrogate import checkpoint_system

BENCHES = {"holstein": "graphqd.bench.holstein", "wave": "graphqd.bench.wave", "negf": "graphqd.bench.negf",
           "wave-emulator": "graphqd.bench.wave_emulator"}
SURROGATE_DEFAULT = "holstein"  # the system whose reference model `bench surrogate` times without --checkpoint


def add_parser(subparsers):
    p = subparsers.add_parser("bench", help="benchmarks: print a table and write JSON",
                              description="Benchmarks against baselines measured in the same run.")
    sub = p.add_subparsers(dest="bench", metavar="BENCH")
    sub.required = True
    for name in (*BENCHES, "surrogate"):
        q = sub.add_parser(name, help=f"benchmark {name}")
        q.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
        q.add_argument("--out", default=None, help=f"JSON file (default: bench_{name}.json)")
        q.add_argument("--quick", action="store_true", help="a small, fast version (for tests and smoke runs)")
        if name == "surrogate":
            for system in systems.SYSTEMS.values():  # each system's benchmark adds its own options
                if system.bench is not None:
                    system.load("bench").add_arguments(q)
        else:
            importlib.import_module(BENCHES[name]).add_arguments(q)
        if name in ("surrogate", "wave-emulator"):
            q.add_argument("--checkpoint", default=None, help="time this trained model (run directory or file) "
                           "instead of the reference model" + ("; its system chooses the benchmark"
                                                               if name == "surrogate" else ""))
    return p


def run(args) -> int:
    if args.bench == "surrogate":
        if args.checkpoint:
            checkpoint = ckpt.load(args.checkpoint)
            name = checkpoint_system(checkpoint.dataset, checkpoint.config)
            source = f"'{args.checkpoint}' is a {name} checkpoint"
        else:
            name, source = SURROGATE_DEFAULT, ""
        module = systems.get(name, f"the system of checkpoint '{args.checkpoint}'").load("bench", source)
    else:
        module = importlib.import_module(BENCHES[args.bench])
    args.device = resolve_device(args.device)
    payload = module.run(args)
    out = args.out or f"bench_{args.bench}.json"
    import torch
    write_json(out, {"bench": args.bench, "device": str(args.device), "threads": torch.get_num_threads(),
                     "quick": args.quick, **payload})
    print(f"wrote {out}")
    return 0
