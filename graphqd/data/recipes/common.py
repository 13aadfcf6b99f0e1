"""Pieces every recipe shares: per-run seeds, the snapshot count, the device check."""
from __future__ import annotations

import numpy as np
import torch

from graphqd.errors import ConfigError, GraphqdError


def run_seed(seed: int, run: int, *more: int) -> int:
    """Seed of run `run` (and of any further keys, e.g. a time chunk) of a dataset:
    independent of batching, sharding, interruptions and device."""
    return int(np.random.SeedSequence([seed, run, *more]).generate_state(1)[0])


def snapshot_count(t_final: float, dt: float, key: str = "integrator") -> int:
    """Number of snapshots after t = 0; t_final must be a whole number of dt."""
    n = round(t_final / dt)
    if n < 1 or abs(n * dt - t_final) > 1e-9 * max(1.0, t_final):
        raise ConfigError(f"config key '{key}.t_final' ({t_final}) must be a positive whole multiple of "
                          f"'{key}.dt' ({dt})")
    return n


def resolve_device(name: str | None) -> torch.device:
    """The torch device named on the command line: cpu, cuda or cuda:K (default: cpu)."""
    name = name or "cpu"
    if name != "cpu" and not name.startswith("cuda"):
        raise GraphqdError(f"--device {name!r} is not allowed; use cpu or cuda")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise GraphqdError(f"--device {name} was asked for, but no CUDA device is available here; use --device cpu")
    return torch.device(name)


def storage_dtypes(name: str) -> tuple[np.dtype, np.dtype]:
    """(real, complex) numpy dtypes of `storage.dtype`."""
    return (np.float32, np.complex64) if name == "float32" else (np.float64, np.complex128)
