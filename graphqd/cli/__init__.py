"""The `graphqd` command: one module per verb, each with `add_parser(subparsers)` and `run(args)`.

Errors a user can cause are `GraphqdError`s: printed as one line, without a traceback,
with exit status 2; so is an error HDF5 raises reading a damaged store. An interrupt exits
with status 130 and a hint to resume.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from graphqd import __version__
from graphqd.errors import GraphqdError

VERBS = ("simulate", "merge", "train", "rollout", "evaluate", "export", "bench", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graphqd", description="Graph surrogates for quantum and "
                                     "quantum-classical lattice dynamics: ground truth, training, rollouts.")
    parser.add_argument("--version", action="version", version=f"graphqd {__version__}")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="CPU threads for torch (default: torch's choice; the demo uses 1)")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    subparsers.required = True
    for verb in VERBS:
        module = importlib.import_module(f"graphqd.cli.{verb}")
        sub = module.add_parser(subparsers)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.threads is not None:
            if args.threads < 1:
                raise GraphqdError(f"--threads {args.threads} must be a positive integer")
            import torch
            torch.set_num_threads(args.threads)
        status = args.handler(args)
    except GraphqdError as exc:
        print(f"graphqd {args.verb}: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, KeyError, ValueError, RuntimeError, TypeError) as exc:
        from graphqd.data.store import damaged_store
        damaged = damaged_store(exc)
        if damaged is None:
            raise
        print(f"graphqd {args.verb}: error: {damaged}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"graphqd {args.verb}: interrupted; what was written is kept, rerun the same command to resume",
              file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
