"""`graphqd simulate SYSTEM --config X.yaml --out PATH.h5`: ground truth into the HDF5 store."""
from __future__ import annotations

import argparse

from graphqd import config as cfg
from graphqd.data.recipes.common import resolve_device
from graphqd.errors import ConfigError
from graphqd.runtime import systems
from graphqd.runtime.surrogate import load_surrogate


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("simulate", help="run a ground-truth simulator into an HDF5 store",
                              description="Run a dataset recipe (datasets/*.yaml) with the exact simulator. "
                              "Rerunning an interrupted command with the same arguments resumes it.")
    p.add_argument("system", choices=systems.names())
    p.add_argument("--config", required=True, help="dataset recipe (YAML)")
    p.add_argument("--out", required=True, help="output store (.h5)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set quench.g_final=1.5 (repeatable)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--shard", default=None, metavar="I/N",
                   help="simulate only shard I of N (0-based); join shards with `graphqd merge`")
    return p


def resolve(system: str, path: str, overrides: list[str]) -> dict:
    """Load, override and validate a recipe of `system`."""
    raw = cfg.load(path, overrides)
    if raw.get("system", system) != system:
        raise ConfigError(f"config key 'system' is {raw.get('system')!r} in '{path}', but the command says {system!r}")
    raw["system"] = system
    return cfg.validate(raw, systems.get(system).load("recipe").SCHEMA)


def run(args) -> int:
    config = resolve(args.system, args.config, args.overrides)
    device = resolve_device(args.device)
    learned = {}
    if config.get("force", {}).get("checkpoint"):
        from graphqd.runtime.force_field import learned_force_field
        checkpoint = load_surrogate(config["force"]["checkpoint"], device, args.system)
        learned["learned"] = lambda params: learned_force_field(checkpoint, params, device)
    systems.get(args.system).load("recipe").generate(config, args.out, device, args.shard, **learned)
    print(f"wrote {args.out}")
    return 0
