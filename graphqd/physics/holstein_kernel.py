"""The compiled RK4 of the Holstein Ehrenfest equations (`holstein_rk4.c`), for runs on the CPU.

The torch integrator pays a fixed cost per tensor operation (about a microsecond each, some
forty per RK4 step), which dominates on the small lattices of training data: one L = 8 run
spends almost all its time there. The C loop has no such cost, so `holstein.simulate` uses it
for CPU tensors whenever a C compiler is present (``kernel="auto"``); the torch code stays the
reference (the tests hold the two to round-off) and the path for GPUs.

The source is compiled once per machine with ``$CC`` (default ``cc``) into
``$XDG_CACHE_HOME/graphqd`` (default ``~/.cache/graphqd``), under a name that hashes the source
and flags, written atomically so concurrent processes may race. A missing compiler or an
unwritable cache leaves `library()` None, and ``kernel="auto"`` falls back to torch. ctypes
releases the GIL, so a batch is shared over ``torch.get_num_threads()`` threads.

Shapes:
    y (B, 2n + 2n²) float64 | per run: Q (n), P (n), ρ (n, n) as (re, im) pairs, row-major
    steps (B,) int64 | RK4 steps of each run
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

SOURCE = Path(__file__).with_name("holstein_rk4.c")
FLAGS = ("-O2", "-ffp-contract=off", "-shared", "-fPIC", "-std=c99")


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "graphqd"


@functools.lru_cache(maxsize=None)
def library() -> ctypes.CDLL | None:
    """The compiled kernel, compiling it on first use; None where no C compiler or cache is usable."""
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        return None
    source = SOURCE.read_bytes()
    key = hashlib.sha256(source + " ".join((compiler,) + FLAGS).encode()).hexdigest()[:16]
    path = cache_dir() / f"holstein_rk4-{key}.so"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=path.parent) as work:
                built = Path(work) / path.name
                subprocess.run([compiler, *FLAGS, str(SOURCE), "-o", str(built)], check=True,
                               capture_output=True, timeout=120)
                os.replace(built, path)
        lib = ctypes.CDLL(str(path))
    except (OSError, subprocess.SubprocessError):
        return None
    lib.holstein_rk4.restype = ctypes.c_int
    lib.holstein_rk4.argtypes = [ctypes.c_int64] * 3 + [ctypes.c_void_p] * 2 + [ctypes.c_double] * 5 + \
        [ctypes.c_void_p] * 2
    return lib


def advance(y: torch.Tensor, neighbour: torch.Tensor, weight: torch.Tensor, hopping: float, g: float,
            stiffness: float, mass: float, h: float, steps: torch.Tensor) -> None:
    """Advance each row of y by its steps[b] RK4 steps of length h, in place (see Shapes).

    Args:
        neighbour: (n, z) neighbour table of the lattice (`graphqd.physics.lattice`).
        weight: (n, z) bond weights (0 on an open edge).
    """
    lib = library()
    if lib is None:
        raise RuntimeError("the compiled Holstein kernel is not available")
    n, z = neighbour.shape
    neighbour = neighbour.to(torch.int64).contiguous()
    weight = weight.to(torch.float64).contiguous()
    steps = steps.to(torch.int64).contiguous()
    assert y.dtype == torch.float64 and y.is_contiguous() and y.shape[-1] == 2 * n + 2 * n * n

    def run(rows: slice) -> None:
        status = lib.holstein_rk4(rows.stop - rows.start, n, z, neighbour.data_ptr(), weight.data_ptr(),
                                  hopping, g, stiffness, mass, h, steps[rows].data_ptr(), y[rows].data_ptr())
        if status != 0:
            raise MemoryError("the compiled Holstein kernel could not allocate its work buffers")

    batch = y.shape[0]
    parts = max(1, min(torch.get_num_threads(), batch))
    bounds = [batch * k // parts for k in range(parts + 1)]
    rows = [slice(a, b) for a, b in zip(bounds, bounds[1:])]
    if parts == 1:
        run(rows[0])
    else:
        with ThreadPoolExecutor(parts) as pool:
            list(pool.map(run, rows))
