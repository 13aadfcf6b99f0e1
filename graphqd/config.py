"""YAML configs with a schema: defaults, `--set dotted.key=value` overrides and validation.

A schema is a nested dict whose leaves are `Field`s. Validation resolves defaults, and an
unknown key, a wrong type or an out-of-range value raises `ConfigError` with one sentence
naming the dotted key and what is allowed — never a silent default.
"""
from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass
from typing import Any, Sequence

import yaml

from graphqd.errors import ConfigError

REQUIRED = object()


@dataclass(frozen=True)
class Field:
    """One config value.

    Args:
        kind: "int", "float", "bool", "str", "lattice" (an int or a pair of ints),
            "floats"/"ints" (a list of numbers; empty only if the default is), "strs" (a list of
            strings, may be empty) or "any".
        default: value used when the key is absent; REQUIRED makes the key mandatory.
        choices: allowed values (for "str", and for each element of "strs").
        minimum, maximum: inclusive bounds; `positive` demands > 0.
    """

    kind: str
    default: Any = REQUIRED
    choices: Sequence[Any] | None = None
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False
    doc: str = ""

    def allowed(self) -> str:
        if self.choices is not None:
            return ("a list of strings, each " if self.kind == "strs" else "") + \
                "one of " + ", ".join(repr(c) for c in self.choices)
        kinds = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string",
                 "lattice": "an integer or a list [Ly, Lx] of integers", "floats": "a list of numbers",
                 "ints": "a list of integers", "strs": "a list of strings",
                 "any": "any value"}
        text = kinds[self.kind]
        bounds = []
        if self.positive:
            bounds.append("> 0")
        if self.minimum is not None:
            bounds.append(f">= {self.minimum}")
        if self.maximum is not None:
            bounds.append(f"<= {self.maximum}")
        return text + (" " + " and ".join(bounds) if bounds else "")

    def check(self, key: str, value: Any) -> Any:
        """Return `value` converted to this field's kind, or raise ConfigError naming `key`."""
        def fail():
            raise ConfigError(f"config key '{key}' must be {self.allowed()}, got {value!r}")
        if self.kind == "any":
            return value
        if self.kind == "bool":
            if not isinstance(value, bool):
                fail()
            return value
        if self.kind == "str":
            if not isinstance(value, str) or (self.choices is not None and value not in self.choices):
                fail()
            return value
        if self.kind == "lattice":
            if isinstance(value, int) and not isinstance(value, bool):
                numbers = [value]
            elif isinstance(value, (list, tuple)) and len(value) == 2 and \
                    all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                numbers = list(value)
            else:
                fail()
            if min(numbers) < (self.minimum if self.minimum is not None else 1):
                fail()
            return numbers[0] if len(numbers) == 1 else numbers
        if self.kind == "strs":
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value) or \
                    (self.choices is not None and not set(value) <= set(self.choices)):
                fail()
            return list(value)
        if self.kind in ("floats", "ints"):
            if not isinstance(value, (list, tuple)) or not (value or self.default == []):
                fail()  # empty only where the default is (an optional list)
            scalar = Field(self.kind[:-1], minimum=self.minimum, maximum=self.maximum, positive=self.positive)
            return [scalar.check(key, v) for v in value]
        if self.kind == "float" and isinstance(value, str):
            try:  # YAML 1.1 (PyYAML) reads 1e-4 and 1e6, without a dot, as strings
                value = float(value)
            except ValueError:
                fail()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail()
        if self.kind == "int":
            if isinstance(value, float) and not value.is_integer():
                fail()
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                fail()
        if (self.positive and not value > 0) or (self.minimum is not None and value < self.minimum) or \
                (self.maximum is not None and value > self.maximum):
            fail()
        if self.choices is not None and value not in self.choices:
            fail()
        return value


def validate(config: dict, schema: dict, prefix: str = "") -> dict:
    """Check `config` against `schema` and return a new dict with defaults filled in."""
    if not isinstance(config, dict):
        raise ConfigError(f"config section '{prefix.rstrip('.') or '<root>'}' must be a mapping, got {config!r}")
    unknown = sorted(set(config) - set(schema))
    if unknown:
        where = f"under '{prefix.rstrip('.')}'" if prefix else "at the top level"
        raise ConfigError(f"unknown config key '{prefix}{unknown[0]}'; allowed keys {where}: {', '.join(schema)}")
    resolved = {}
    for name, spec in schema.items():
        key = prefix + name
        if isinstance(spec, dict):
            resolved[name] = validate(config.get(name, {}), spec, key + ".")
        elif name in config:
            resolved[name] = spec.check(key, config[name])
        elif spec.default is REQUIRED:
            raise ConfigError(f"config key '{key}' is missing; it must be {spec.allowed()}")
        else:
            resolved[name] = copy.deepcopy(spec.default)
    return resolved


def apply_override(config: dict, assignment: str) -> None:
    """Apply one `dotted.key=value` override in place; the value is parsed as YAML."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r} must have the form dotted.key=value")
    key, text = assignment.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise ConfigError(f"--set {assignment!r} has an empty key part; use dotted.key=value")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    node = config
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: '{part}' is a value, not a section")
        node = child
    node[parts[-1]] = value


def read_yaml(path: str) -> dict:
    """Read a YAML mapping from `path`, with a clear error for a missing or malformed file."""
    if not os.path.isfile(path):
        raise ConfigError(f"config file '{path}' does not exist")
    try:
        with open(path) as fh:
            data = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config file '{path}' is not valid YAML{where}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file '{path}' must hold a mapping of keys, not {type(data).__name__}")
    return data


def load(path: str | None, overrides: Sequence[str] = (), base: dict | None = None) -> dict:
    """Read a YAML file (or start from `base`) and apply `--set` overrides; not yet validated."""
    config = read_yaml(path) if path is not None else copy.deepcopy(base or {})
    for assignment in overrides:
        apply_override(config, assignment)
    return config


def dump(config: dict) -> str:
    """The YAML text stored with every output (keys in schema order)."""
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=None)
