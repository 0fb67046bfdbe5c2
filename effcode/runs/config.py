"""Experiment configs: defaults, quick overrides, and ``--set key=value`` parsing with type checks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from ..errors import InputError


def parse_value(text: str):
    """Parse a command-line value with YAML rules: ``3`` -> int, ``[l1,l0]`` -> list, ``cuda`` -> str."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"could not parse value {text!r}: {exc.problem}") from None


def parse_assignments(items) -> dict:
    """``["a=1", "b=[x,y]"]`` -> ``{"a": 1, "b": ["x", "y"]}``."""
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = parse_value(value)
    return out


def _type_ok(default, value) -> bool:
    if default is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


def merge_config(defaults: dict, overrides: dict, *, where: str = "config") -> dict:
    """``defaults`` updated by ``overrides``; unknown keys and wrong types raise :class:`InputError`."""
    config = dict(defaults)
    for key, value in overrides.items():
        if key not in defaults:
            known = ", ".join(sorted(defaults))
            raise InputError(f"unknown {where} key {key!r}; known keys: {known}")
        if not _type_ok(defaults[key], value):
            raise InputError(f"{where} key {key!r} expects {type(defaults[key]).__name__} "
                             f"(like {defaults[key]!r}), got {value!r} ({type(value).__name__})")
        if isinstance(defaults[key], float) and isinstance(value, int):
            value = float(value)
        config[key] = list(value) if isinstance(value, tuple) else value
    return config


def load_config_file(path) -> dict:
    """A YAML or JSON file of key: value pairs."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InputError(f"config file {str(path)!r} is not valid YAML/JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"config file {str(path)!r} must hold a mapping of key: value, got {type(data).__name__}")
    return data


def config_hash(obj) -> str:
    """A stable sha256 of a JSON-able object (keys sorted)."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
