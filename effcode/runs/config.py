"""Experiment configs: declared keys (type, range, units, meaning), defaults, quick overrides, and
``--set key=value`` parsing, every value checked before anything runs."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

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


def parse_value(text: str) -> Any:
    """Parse a command-line value with YAML rules: ``3`` -> int, ``[l1,l0]`` -> list, ``cuda`` -> str,
    ``{l1: 3}`` -> dict; ``1e-3`` is a float (YAML alone reads it as text).

    Parameters
    ----------
    text : str
        The value as typed.
    """
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"could not parse value {text!r}: {exc.problem}") from None
    return _numbers(value, text)


def parse_assignments(items: Iterable[str]) -> dict:
    """``["a=1", "b=[x,y]"]`` -> ``{"a": 1, "b": ["x", "y"]}``.

    Parameters
    ----------
    items : iterable of str
        Assignments ``key=value``.
    """
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = parse_value(value)
    return out


#: units of a key that is no physical quantity: a number of things, a pure number (ratio, fraction,
#: weight of a dimensionless loss), a seed or other identifying number, a name or address, an on/off switch
UNITLESS = ("count", "dimensionless", "label", "name", "flag")


@dataclass(frozen=True)
class Key:
    """The declaration of one config key: its type, the values it allows, its units and its meaning.

    ``kind`` is ``int``, ``float``, ``str`` or ``bool`` for one value; ``list`` for a list of ``item``
    values (what an experiment sweeps over: a list shorter than ``min_items`` is refused, so an empty
    sweep never runs); ``dict`` for names mapped to ``item`` values (merged into the default entry by
    entry). Numbers (and a list's elements, a dict's values) must lie in ``[low, high]`` (a bound of
    None is open; ``low_open``, ``high_open``: strictly above ``low``, below ``high``); strings (a
    list's elements, a dict's names) must be one of ``choices`` (a tuple, or a function giving the
    names registered now). Any value may also have to pass ``check(value, where)``, a function raising
    :class:`InputError` with what was expected (its docstring, shown by ``effcode list -v``, says what
    it allows). ``none_means``: None is allowed and means this. ``units`` is never empty: a physical
    unit ("pixels", "cycles/pixel", "degrees", ...) or one of :data:`UNITLESS`. ``kind`` None (only
    for a declaration inferred from a default of None) allows anything.
    """

    kind: type | None
    units: str
    description: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple | Callable[[], Iterable[str]] | None = None
    check: Callable[[Any, str], None] | None = None
    item: type | None = None
    none_means: str = ""
    min_items: int = 1

    @property
    def type_name(self) -> str:
        """``int``, ``list[float]``, ``dict[str, float]``, ``int or None``, ..."""
        name = self.kind.__name__ if self.kind else "any"
        if self.kind is list:
            name = f"list[{self.item.__name__ if self.item else 'any'}]"
        elif self.kind is dict:
            name = f"dict[str, {self.item.__name__ if self.item else 'any'}]"
        return f"{name} or None" if self.none_means else name

    @property
    def range_text(self) -> str:
        """The allowed values in words: ``in [0, 1]``, ``>= 1``, ``each > 0``, ``one of a, b``, ``any``."""
        parts = []
        prefixes: dict[type | None, str] = {list: "each ", dict: "values "}
        each = prefixes.get(self.kind, "")
        if self.low is not None or self.high is not None:
            parts.append(each + self._bounds())
        if self.choices is not None:
            names = "names " if self.kind is dict else each
            parts.append(f"{names}one of {', '.join(map(str, self._choices()))}")
        if self.check is not None and self.check.__doc__:
            parts.append(" ".join(self.check.__doc__.split()))
        if self.kind is list and self.min_items != 1:
            parts.append(f"at least {self.min_items} values" if self.min_items else "may be empty")
        if self.none_means:
            parts.append(f"None: {self.none_means}")
        return "; ".join(parts) or "any"

    def _choices(self) -> list:
        return list((self.choices() if callable(self.choices) else self.choices) or ())

    def validate(self, value, where: str):
        """``value`` checked against this declaration (an int given for a float becomes a float);
        anything else raises a one-line :class:`InputError` that starts with ``where``."""
        if value is None:
            if self.none_means or self.kind is None:
                return None
            raise InputError(f"{where} expects {self.type_name}, got None")
        if self.kind is list:
            if not isinstance(value, (list, tuple)):
                raise InputError(f"{where} expects {self.type_name}, got {value!r} ({type(value).__name__})")
            if len(value) < self.min_items:
                raise InputError(f"{where} needs at least {self.min_items} value(s) (an empty sweep runs nothing), "
                                 f"got {list(value)!r}")
            return [self._one(self.item, v, f"{where} element {i}") for i, v in enumerate(value)]
        if self.kind is dict:
            if not isinstance(value, dict):
                raise InputError(f"{where} expects {self.type_name}, got {value!r} ({type(value).__name__})")
            return {self._name(name, f"{where} entry name"): self._one(self.item, entry, f"{where} entry {name!r}")
                    for name, entry in value.items()}
        return self._one(self.kind, value, where)

    def _one(self, kind, value, where: str):
        if kind is not None and not _is_a(kind, value):
            raise InputError(f"{where} expects {kind.__name__}, got {value!r} ({type(value).__name__})")
        if kind is float:
            value = float(value)
            if not math.isfinite(value):
                raise InputError(f"{where} must be a finite number, got {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self._in_range(value, where)
        if isinstance(value, str):
            self._name(value, where)
        if self.check is not None:
            self.check(value, where)
        return value

    def _bounds(self) -> str:
        """The numeric range in words: ``>= 1``, ``> 0``, ``< 1``, ``in [0, 1]``, ``in (0, 1)``."""
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        if self.low is None:
            return f"{'<' if self.high_open else '<='} {self.high:g}"
        return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"

    def _in_range(self, value, where: str) -> None:
        below = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        above = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if below or above:
            raise InputError(f"{where} must be {self._bounds()}, got {value!r}")

    def _name(self, value, where: str):
        if self.choices is not None and value not in self._choices():
            raise InputError(f"{where} must be one of {', '.join(map(str, self._choices()))}; got {value!r}")
        return value


def _is_a(kind: type, value) -> bool:
    """Whether ``value`` is of ``kind``; bools are no numbers, ints are floats."""
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def key_like(default) -> Key:
    """A declaration inferred from a default value (its type; a list's or dict's element type when
    they all share one), for configs without declared keys."""
    if isinstance(default, (list, tuple)):
        kinds = {type(v) for v in default}
        return Key(list, "", "", item=kinds.pop() if len(kinds) == 1 else None, min_items=0)
    if isinstance(default, dict):
        kinds = {type(v) for v in default.values()}
        return Key(dict, "", "", item=kinds.pop() if len(kinds) == 1 else None)
    return Key(None if default is None else type(default), "", "")


def merge_config(defaults: dict, overrides: dict, *, where: str = "config", keys: dict | None = None) -> dict:
    """``defaults`` updated by ``overrides``; unknown keys and wrong types or values raise :class:`InputError`.

    Each override is checked against its declaration in ``keys`` (a :class:`Key` per name), or, for a
    name without one, against the type of its default. A dict value is merged into the default key by
    key (``base_lam={l1: 3}`` changes only l1); list elements are checked one by one.

    Parameters
    ----------
    defaults : dict
        The default configuration.
    overrides : dict
        The values to change.
    where : str, default "config"
        Where the overrides came from, the start of every error message.
    keys : dict or None, default None
        A :class:`Key` declaration per name (None: check types against the defaults only).
    """
    config = dict(defaults)
    for key, value in overrides.items():
        if key not in defaults:
            known = ", ".join(sorted(defaults))
            raise InputError(f"unknown {where} key {key!r}; known keys: {known}")
        if isinstance(value, dict) and isinstance(config[key], dict):
            value = {**config[key], **value}
        spec = (keys or {}).get(key) or key_like(defaults[key])
        config[key] = spec.validate(value, f"{where} key {key!r}")
    return config


def check_config(config: dict, keys: dict, *, where: str = "config") -> dict:
    """``config`` with every value checked against its declaration in ``keys`` (all must be declared)."""
    missing = sorted(set(config) - set(keys))
    if missing:
        raise InputError(f"{where} has undeclared key(s) {', '.join(missing)}")
    return {key: keys[key].validate(value, f"{where} key {key!r}") for key, value in config.items()}


# The names below are read when a value is checked, not when this module is imported: the command line
# checks a config without importing torch, and a user's own objective, registered before the run, is allowed.
def objective_names() -> list[str]:
    """The registered objectives' names."""
    from ..objectives import OBJECTIVES

    return OBJECTIVES.names()


def learner_names() -> list[str]:
    """The registered learners' names."""
    from ..learners import LEARNERS

    return LEARNERS.names()


def population_names() -> list[str]:
    """The populations the scorer scores."""
    from ..v1.scorer import POPULATIONS

    return list(POPULATIONS)


def stimulus_names() -> list[str]:
    """The stimulus ensembles of the in-silico physiology."""
    from ..v1.physiology import STIMULI

    return list(STIMULI)


def front_end_names() -> list[str]:
    """The encoding models' front ends."""
    from ..encoding.frontends import FRONT_ENDS

    return list(FRONT_ENDS)


def check_source(value: str, where: str) -> None:
    """a registered image set[:argument], or a folder"""
    from ..data.sources import SOURCES

    if Path(value).expanduser().exists() or value.partition(":")[0] in SOURCES:
        return
    raise InputError(f"{where} must name a registered image set ({', '.join(SOURCES.names())}, with "
                     f"':argument' where it takes one) or an existing folder or .mat file; got {value!r}")


def check_recordings(value: str, where: str) -> None:
    """simulated, a registered dataset[:argument], or an .npz file or folder"""
    from ..encoding.datasets import DATASETS

    if value == "simulated" or Path(value).expanduser().exists() or value.partition(":")[0] in DATASETS:
        return
    raise InputError(f"{where} must be 'simulated', a registered dataset ({', '.join(DATASETS.names())}) or an "
                     f"existing .npz file or folder of recordings; got {value!r}")


def check_n_jobs(value: int, where: str) -> None:
    """-1 (every core) or >= 1"""
    if value == 0 or value < -1:
        raise InputError(f"{where} must be -1 (every core) or >= 1, got {value!r}")


_ADDRESS = re.compile(r"[a-z][a-z0-9+.-]*://\S+|[^\s/:]+:\d+")


def check_scheduler(value: str, where: str) -> None:
    """'' (no scheduler) or an address such as tcp://HOST:8786"""
    if value and not _ADDRESS.fullmatch(value):
        raise InputError(f"{where} must be '' or a dask scheduler address such as tcp://HOST:8786, got {value!r}")


#: keys that several experiments share, declared once; an experiment may declare its own meaning of a
#: name in ``Experiment(keys=...)``, which takes precedence
SHARED_KEYS = {
    "seed": Key(int, "label", "random seed; every random draw of the run derives from it", low=0),
    "source": Key(str, "name", "images the filters are learned from: default, dead_leaves, noisy_photos[:N], "
                  "olshausen, vanhateren:DIR, a folder of images or a .mat file", check=check_source),
    "n_seeds": Key(int, "count", "seeds per setting (seed, seed + 1, ...); results are means with 95% "
                   "t-intervals over them", low=1),
    "image_fraction": Key(float, "dimensionless", "share of the source's images each seed learns from, a random "
                          "subset drawn by the seed (effcode.data.seed_images; 1: every image)", low=0.0, high=1.0,
                          low_open=True),
    "n_filters": Key(int, "count", "filters (dictionary atoms, units) learned", low=1),
    "patch_size": Key(int, "pixels", "side of the square image patches", low=2),
    "patch_sizes": Key(list, "pixels", "patch sides compared, one complete dictionary each", item=int, low=2),
    "lam": Key(float, "dimensionless", "weight λ of the sparsity penalty S(a) against the squared "
               "reconstruction error of unit-variance whitened patches", low=0.0),
    "objective": Key(str, "name", "sparsity penalty S(a), a registered objective",
                     choices=objective_names),
    "objectives": Key(list, "name", "sparsity penalties S(a) compared, registered objectives", item=str,
                      choices=objective_names),
    "n_steps": Key(int, "count", "training steps (dictionary updates, one batch of patches each)", low=1),
    "n_patches": Key(int, "count", "image patches sampled for training", low=1),
    "n_iter": Key(int, "count", "inference iterations per code at 1x overcompleteness (a cap: coordinate descent stops at its tolerance)", low=1),
    "topk_k": Key(int, "count", "active units per patch of the topk penalty (at level 1)", low=1),
    "factors": Key(list, "dimensionless", "overcompleteness factors: atoms = factor x patch pixels", item=float,
                   low=0.0, low_open=True),
    "population": Key(str, "name", "which population is scored: receptive fields measured by reverse correlation "
                      "in stimulus space (measured_rf, as V1 was measured), analysis filters or basis functions",
                      choices=population_names),
    "rf_stimulus": Key(str, "name", "stimulus ensemble of the in-silico physiology that measures receptive fields: "
                       "Hartley gratings (Ringach 2002's method) or white noise",
                       choices=stimulus_names),
    "rf_n_stimuli": Key(int, "count", "stimuli of the in-silico physiology, both polarities counted (the standard "
                        "error of a measured receptive field falls as 1/sqrt of it)", low=2,
                        none_means="the measurement's default: 32768, 4096 for the sparse CNN"),
    "r2_threshold": Key(float, "dimensionless", "Gabor-fit R² a unit needs to enter the nx–ny statistics",
                        low=0.0, high=1.0),
    "interval_level": Key(float, "dimensionless", "coverage of the profile-likelihood intervals of each unit's nx "
                          "and ny that place it in one of Ringach's bins (else it is undetermined)",
                          low=0.0, high=1.0, low_open=True, high_open=True),
    "pixels_per_degree": Key(float, "pixels/degree", "assumed visual scale, converting cycles/pixel to "
                             "cycles/degree for the tuning comparison with V1", low=0.0, low_open=True),
    "n_bootstrap": Key(int, "count", "bootstrap resamples of the scorer's intervals", low=10),
    "n_permutations": Key(int, "count", "draws of the nx–ny permutation test; its smallest p is "
                          "1/(n_permutations + 1)", low=10),
    "backend": Key(str, "name", "where sweep points run: joblib worker processes here, or a dask cluster",
                   choices=("joblib", "dask")),
    "n_jobs": Key(int, "count", "joblib worker processes (-1: every core)", check=check_n_jobs),
    "scheduler": Key(str, "name", "dask scheduler address for backend dask ('': none)", check=check_scheduler),
    "n_plot": Key(int, "count", "stimuli drawn in the scatter plots", low=1),
    "recordings": Key(str, "name", "neural responses the encoding models are fitted to: the simulated population, "
                      "a registered dataset or a user's .npz file or folder", check=check_recordings),
}


def load_config_file(path: str | os.PathLike[str]) -> dict:
    """A YAML or JSON file of key: value pairs.

    Parameters
    ----------
    path : str or os.PathLike
        A YAML or JSON file.
    """
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


def config_hash(obj: Any) -> str:
    """A stable sha256 of a JSON-able object (keys sorted).

    Parameters
    ----------
    obj : object
        A JSON-able object.
    """
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
