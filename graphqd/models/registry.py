"""The model registry: config names → surrogate classes.

A registered class is an `nn.Module` that advances a state by one model step::

    @register("local_increment")
    class LocalIncrement(nn.Module):
        system = "holstein"                       # which WindowDataset feeds it
        SCHEMA = {"width": Field("int", 32), ...} # its keys of the config's `model` section
        def __init__(self, config: dict, normalization: Normalization): ...
        @classmethod
        def graph_spec(cls, config) -> HolsteinGraphSpec: ...   # graphs its samples must carry
        def forward(self, batch, state: dict) -> dict: ...

`forward` takes the graphs of a PyG batch and the state {key: (nodes, ...)} and returns
the next state under the same keys; a model with a differentiator (PARC) also returns
its estimate of the time derivative as "{key}_rate", which the trainer compares with
the exact derivative labels. The `model` section of a config is `name` plus the class's
SCHEMA; `normalization` carries the training-split statistics and the model step dt.
"""
from __future__ import annotations

import importlib

from graphqd.config import Field, validate
from graphqd.errors import ConfigError

# modules whose import registers models
MODEL_MODULES = ("graphqd.models.local_increment", "graphqd.models.parc_graph",
                 "graphqd.models.parc_cnn", "graphqd.models.recurrent_cnn", "graphqd.models.wave_emulator",
                 "graphqd.models.force_field")

_REGISTRY: dict[str, type] = {}


def register(name: str):
    """Class decorator: make a model constructible from configs as `model.name: <name>`."""
    def decorate(cls):
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"model name {name!r} is registered twice")
        _REGISTRY[name] = cls
        cls.registry_name = name
        return cls
    return decorate


def _load_all() -> None:
    for module in MODEL_MODULES:
        importlib.import_module(module)


def available() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def model_class(name: str) -> type:
    _load_all()
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ConfigError(f"config key 'model.name' must be one of {', '.join(available())}, got {name!r}")
    return _REGISTRY[name]


def model_schema(section: dict) -> dict:
    """Schema of a `model` section: its `name` chooses the class whose SCHEMA applies."""
    if not isinstance(section, dict):
        raise ConfigError(f"config section 'model' must be a mapping with a key 'name', got {section!r}")
    if "name" not in section:
        raise ConfigError(f"config key 'model.name' is missing; it must be one of {', '.join(available())}")
    cls = model_class(section["name"])
    return {"name": Field("str", choices=available()), **cls.SCHEMA}


def validate_model_section(section: dict) -> dict:
    return validate(section, model_schema(section), "model.")


def build_model(section: dict, normalization):
    """An instance of the registered class of a `model` section (defaults filled in, so a checkpoint
    written before a key existed builds the model it was trained as)."""
    section = validate_model_section(section)
    cls = model_class(section["name"])
    return cls({k: v for k, v in section.items() if k != "name"}, normalization)
