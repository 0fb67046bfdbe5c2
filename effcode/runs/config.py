"""Experiment configs: defaults, quick overrides, and ``--set key=value`` parsing with type checks."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import yaml

from ..errors import InputError


#: scientific notation without a decimal point ("1e-3"), which YAML 1.1 reads as text
_SCIENTIFIC = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+")


def _numbers(value, text: str):
    """``value`` with every string in scientific notation made a float; a mapping entry written
    without a space after its colon (``{l1:3}``, which YAML reads as the key "l1:3") is refused."""
    if isinstance(value, str) and _SCIENTIFIC.fullmatch(value.strip()):
        return float(value)
    if isinstance(value, list):
        return [_numbers(v, text) for v in value]
    if isinstance(value, dict):
        for key, entry in value.items():
            if entry is None and isinstance(key, str) and ":" in key:
                name, _, number = key.partition(":")
                raise InputError(f"could not parse value {text!r}: write {{{name}: {number}}}, with a space after "
                                 "the colon")
        return {k: _numbers(v, text) for k, v in value.items()}
    return value


def parse_value(text: str):
    """Parse a command-line value with YAML rules: ``3`` -> int, ``[l1,l0]`` -> list, ``cuda`` -> str,
    ``{l1: 3}`` -> dict; ``1e-3`` is a float (YAML alone reads it as text)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"could not parse value {text!r}: {exc.problem}") from None
    return _numbers(value, text)


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


def _typed(default, value, where: str):
    """``value`` checked against ``default``'s type (ints widen to floats); the elements of a list
    against the type of the default's elements, and a dict merged into the default key by key."""
    if not _type_ok(default, value):
        raise InputError(f"{where} expects {type(default).__name__} (like {default!r}), got {value!r} "
                         f"({type(value).__name__})")
    if isinstance(default, float) and isinstance(value, int):
        return float(value)
    if isinstance(default, (list, tuple)):
        kinds = {type(v) for v in default}
        like = default[0] if len(kinds) == 1 and default else None
        return [_typed(like, v, f"{where} element {i}") for i, v in enumerate(value)]
    if isinstance(default, dict):
        merged = dict(default)
        for key, entry in value.items():
            merged[key] = _typed(default.get(key), entry, f"{where} entry {key!r}")
        return merged
    return value


def merge_config(defaults: dict, overrides: dict, *, where: str = "config") -> dict:
    """``defaults`` updated by ``overrides``; unknown keys and wrong types raise :class:`InputError`.

    A dict value is merged into the default key by key (``base_lam={l1: 3}`` changes only l1); list
    elements are checked against the default's element type."""
    config = dict(defaults)
    for key, value in overrides.items():
        if key not in defaults:
            known = ", ".join(sorted(defaults))
            raise InputError(f"unknown {where} key {key!r}; known keys: {known}")
        config[key] = _typed(defaults[key], value, f"{where} key {key!r}")
    return config


#: allowed ranges (inclusive; None: unbounded) of the config keys that several experiments share;
#: checked on every experiment config before anything runs
KEY_RANGES = {
    "seed": (0, None), "n_seeds": (1, None), "n_filters": (1, None), "patch_size": (2, None), "patch_sizes": (2, None),
    "n_steps": (1, None), "n_patches": (1, None), "n_iter": (1, None), "n_bootstrap": (10, None),
    "r2_threshold": (0.0, 1.0), "max_relative_se": (1e-9, None), "pixels_per_degree": (1e-9, None),
    "lam": (0.0, None), "n_jobs": (-1, None), "topk_k": (1, None),
}


def check_ranges(config: dict, *, where: str = "config") -> dict:
    """``config`` unchanged, after checking every number of :data:`KEY_RANGES` it holds (a list's
    elements one by one); out-of-range values raise :class:`InputError`."""
    for key, (low, high) in KEY_RANGES.items():
        value = config.get(key)
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, (int, float)) and not isinstance(v, bool) and (
                    (low is not None and v < low) or (high is not None and v > high)):
                bounds = f">= {low:g}" if high is None else f"in [{low:g}, {high:g}]"
                raise InputError(f"{where} key {key!r} must be {bounds}, got {v!r}")
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
