"""Shared pieces of `graphqd bench`: timing, a printed table and a JSON record.

Machines here are noisy, so every benchmark reports ratios against a baseline measured
in the same run, and absolute times on the device it ran on.
"""
from __future__ import annotations

import json
import math
import os
import platform
import time
from typing import Callable, Sequence

import torch


def synchronize(device: torch.device | str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def best_time(fn: Callable[[], object], device: torch.device | str = "cpu", repeats: int = 3,
              min_seconds: float = 0.0) -> float:
    """Best wall time in seconds of `fn()` over `repeats` calls (after one warm-up call when
    repeats > 1); repeats continue until `min_seconds` of total timing have passed."""
    if repeats > 1:
        fn()
        synchronize(device)
    best, total, count = float("inf"), 0.0, 0
    while count < repeats or total < min_seconds:
        start = time.perf_counter()
        fn()
        synchronize(device)
        elapsed = time.perf_counter() - start
        best, total, count = min(best, elapsed), total + elapsed, count + 1
    return best


def device_description(device: torch.device | str) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def format_table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """Plain-text table: one header line, one line per row, values right-aligned."""
    def fmt(value):
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)
    cells = [[fmt(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _finite(value):
    """NaN and ±inf become null: strict JSON has no such numbers (a diverged rollout makes them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_json(path: str, payload: dict) -> None:
    """Write `payload` plus machine facts to `path` atomically, as strict JSON (NaN → null)."""
    from graphqd import __version__
    record = {"graphqd_version": __version__, "torch_version": torch.__version__,
              "hostname": platform.node(), "time": time.strftime("%Y-%m-%dT%H:%M:%S"), **payload}
    tmp = f"{path}.tmp"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(tmp, "w") as fh:
        json.dump(_finite(record), fh, indent=2, allow_nan=False)
    os.replace(tmp, path)
