"""Lattice graphs built once per (kind, size, radius, periodic) and moved to each device once.

Models call :func:`cached_graph` in ``forward`` with the input's device: the first call
builds the graph on the CPU and copies it to that device; later calls return the same
objects. Cached graphs are shared — never modify their tensors in place.
"""
from __future__ import annotations

import functools
import inspect

import torch

from graphqd.errors import GraphqdError
from graphqd.graphs.band_graph import band_graph
from graphqd.graphs.site_graph import normalize_periodic, site_graph
from graphqd.graphs.window_graph import window_graph

BUILDERS = {"site": site_graph, "band": band_graph, "window": window_graph}
CACHE_SIZE = 64  # distinct graphs kept per device; a training run uses a handful


def cached_graph(kind: str, *args, device: torch.device | str | None = None, **kwargs):
    """The graph ``BUILDERS[kind](*args, **kwargs)``, cached, on ``device`` (CPU by default).

    Example: ``cached_graph("band", L=1024, band_radius=6, periodic=True, kernel_radius=1,
    device=x.device)``.
    """
    if kind not in BUILDERS:
        raise GraphqdError(f"unknown graph kind {kind!r}; choose one of {sorted(BUILDERS)}.")
    return _on_device(kind, _canonical_arguments(kind, args, kwargs), _device_key(device))


def clear_graph_cache() -> None:
    """Forget every cached graph (e.g. to release GPU memory)."""
    _on_device.cache_clear()


def _canonical_arguments(kind: str, args: tuple, kwargs: dict) -> tuple:
    """Hashable, normalised arguments, so that ``site_graph(8, 1)`` and ``site_graph((8,), 1.0,
    periodic=True)`` share one cache entry."""
    try:
        bound = inspect.signature(BUILDERS[kind]).bind(*args, **kwargs)
    except TypeError as error:
        raise GraphqdError(f"bad arguments for a {kind} graph: {error}.") from None
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    if kind == "site":
        shape = arguments["shape"]
        arguments["shape"] = (int(shape),) if isinstance(shape, int) else tuple(int(n) for n in shape)
        arguments["periodic"] = normalize_periodic(arguments["periodic"], len(arguments["shape"]))
        arguments["cutoff"] = float(arguments["cutoff"])
    else:
        arguments = {name: (bool(value) if name == "periodic" else value) for name, value in arguments.items()}
    return tuple(sorted(arguments.items()))


def _device_key(device) -> str:
    device = torch.device("cpu" if device is None else device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return str(device)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _on_device(kind: str, arguments: tuple, device: str):
    if device != "cpu":
        return _on_device(kind, arguments, "cpu").to(device)
    return BUILDERS[kind](**dict(arguments))
