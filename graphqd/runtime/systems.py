"""The system registry: what graphqd knows of each physical system (DESIGN.md §3), in one place.

Every system names, by role, the module (or ``module:attribute``) that serves it:

=========  ========  =================================================================  =======================
role       layer     what it is                                                         used by
=========  ========  =================================================================  =======================
recipe     data      module with ``SCHEMA`` and ``generate(config, out, device, shard)``  ``graphqd simulate``
dataset    data      the `WindowDataset` subclass its surrogates train on                ``graphqd train``
rollout    evaluate  module with ``write_rollouts(surrogate, data, out, steps, ...)``    ``graphqd rollout``
                     and ``summary(result) -> str``
metrics    evaluate  module with ``evaluate(surrogate, data, ...)`` and ``summary``     ``graphqd evaluate``
plots      evaluate  a function ``plot(store, k, png)``: the figure of run k of a store  ``graphqd export``
bench      bench     module with ``add_arguments(parser)`` and ``run(args) -> dict``    ``graphqd bench surrogate``
=========  ========  =================================================================  =======================

Paths are imported on first use, so this module imports none of the modules it names (those
of `evaluate` and `bench` sit above it), and each caller asks only for roles of its own layer
or below (the trainer for ``dataset``,
the command line for the rest). A system without a surrogate yet leaves ``dataset``,
``rollout`` and ``metrics`` empty; asking for them is a one-line error naming the system.
Adding a system is one `System(...)` line below plus its own files.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from graphqd.data.mixture import StoreMixture
from graphqd.data.store import open_store, run_count
from graphqd.errors import ConfigError, GraphqdError
from graphqd.models.registry import model_class

ROLES = {"recipe": "dataset recipe", "dataset": "surrogate", "rollout": "surrogate rollouts",
         "metrics": "surrogate metrics", "plots": "plots", "bench": "surrogate benchmark"}


@dataclass(frozen=True)
class System:
    """One physical system and the dotted paths of what serves each role (None: not available)."""

    name: str
    recipe: str
    dataset: str | None = None
    rollout: str | None = None
    metrics: str | None = None
    plots: str | None = None
    bench: str | None = None

    def load(self, role: str, source: str = ""):
        """The module or attribute serving `role`. Where this system has none, the error says so,
        after `source` (what the system was read from, e.g. "'x.h5' is a wave store")."""
        path = getattr(self, role)
        if path is None:
            serving = ", ".join(s.name for s in SYSTEMS.values() if getattr(s, role) is not None)
            where = f"{source}, and the" if source else "the"
            raise GraphqdError(f"{where} {self.name} system has no {ROLES[role]} yet (available for: {serving})")
        module, _, attribute = path.partition(":")
        loaded = importlib.import_module(module)
        return getattr(loaded, attribute) if attribute else loaded


SYSTEMS = {system.name: system for system in (
    System("holstein", recipe="graphqd.data.recipes.holstein", dataset="graphqd.data.holstein:HolsteinWindows",
           rollout="graphqd.evaluate.holstein_rollout", metrics="graphqd.evaluate.holstein_metrics",
           plots="graphqd.evaluate.holstein_plots:plot_quench", bench="graphqd.bench.holstein_surrogate"),
    System("wave", recipe="graphqd.data.recipes.wave", dataset="graphqd.data.wave:WaveWindows",
           rollout="graphqd.evaluate.wave_rollout", metrics="graphqd.evaluate.wave_metrics",
           plots="graphqd.evaluate.wave_plots:plot_density", bench="graphqd.bench.wave_emulator"),
    System("negf", recipe="graphqd.data.recipes.negf", dataset="graphqd.data.negf:ForceSamples",
           metrics="graphqd.evaluate.negf_metrics", bench="graphqd.bench.force_field",
           plots="graphqd.evaluate.negf_plots:plot_domain_wall"),
)}


def names() -> list[str]:
    return list(SYSTEMS)


def get(name: object, what: str = "config key 'system'") -> System:
    """The registered system `name`; an unknown name is an error naming `what` it was read from."""
    if name not in SYSTEMS:
        raise ConfigError(f"{what} must be one of {', '.join(SYSTEMS)}, got {name!r}")
    return SYSTEMS[name]


def of_store(path: str) -> System:
    """The system recorded in the store at `path` (its root attribute `system`)."""
    with open_store(path, require_complete=False) as handle:
        name = str(handle.attrs["system"])
    return get(name, f"the system of '{path}'")


def store_paths(config: dict) -> list[str]:
    """The stores a training config reads: data.path, then data.extra_paths."""
    return [config["data"]["path"], *config["data"].get("extra_paths", [])]


def run_counts(config: dict) -> list[int]:
    """Trajectories in each of the config's stores (`store_paths`)."""
    counts = []
    for path in store_paths(config):
        with open_store(path) as handle:
            counts.append(run_count(handle))
    return counts


def dataset_class(config: dict) -> type:
    """The `WindowDataset` class of data.path's system, which must be the system of the model
    of training config `config` and of every store in data.extra_paths."""
    name = config["model"]["name"]
    for key, path in zip(["data.path", *["data.extra_paths"] * len(config["data"].get("extra_paths", []))],
                         store_paths(config)):
        system = of_store(path)
        dataset = system.load("dataset", f"'{path}' is a {system.name} store")
        if system.name != model_class(name).system:
            raise ConfigError(f"config key 'model.name' is {name!r}, a {model_class(name).system} model, but "
                              f"{key} '{path}' holds {system.name} data")
    return dataset


def dataset_for(config: dict, runs, horizon: int, rates: bool = True, start_stride: int | None = None):
    """The samples of data.path that the model of training config `config` reads: trajectories
    `runs`, windows of `horizon` model steps of data.step snapshots, every `start_stride`-th start
    (default data.start_stride), with derivative labels when `rates`."""
    model, data = config["model"], config["data"]
    spec = model_class(model["name"]).graph_spec({k: v for k, v in model.items() if k != "name"})
    stride = data["start_stride"] if start_stride is None else start_stride
    cls = dataset_class(config)
    if not data.get("extra_paths"):
        return cls(data["path"], runs, data["step"], horizon, spec, stride, rates)
    members, shares, kept, first = [], [], [], 0
    for k, (path, count) in enumerate(zip(store_paths(config), run_counts(config))):
        share = [int(r) for r in runs if first <= int(r) < first + count]
        if share:
            members.append(cls(path, [r - first for r in share], data["step"], horizon, spec, stride, rates))
            shares.append(share)
            kept.append(k)
        first += count
    weights = data.get("store_weights")
    return StoreMixture(members, shares, [weights[k] for k in kept] if weights else None)
