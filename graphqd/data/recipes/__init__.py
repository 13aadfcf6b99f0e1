"""Dataset recipes: for each system, the config schema of `graphqd simulate` and the
generator that runs the ground truth into the HDF5 store.

A recipe module defines `SCHEMA` (see graphqd.config) and
`generate(config, out, device, shard) -> None`.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from graphqd.errors import ConfigError

SYSTEMS = ("holstein", "wave", "negf")


def recipe(system: object) -> ModuleType:
    """The recipe module of `system`, with a clear error for an unknown name."""
    if system not in SYSTEMS:
        raise ConfigError(f"config key 'system' must be one of {', '.join(SYSTEMS)}, got {system!r}")
    return importlib.import_module(f"graphqd.data.recipes.{system}")
