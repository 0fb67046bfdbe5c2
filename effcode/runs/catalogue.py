"""A catalogue of experiment declarations in JSON, read without importing the experiments.

Importing the experiments imports torch, matplotlib and scikit-learn (about 3 s). The command
line needs only their declarations (:class:`~effcode.runs.declaration.Declaration`) to list them
and to check a config, so it reads them from a catalogue: one JSON file holding every declaration
and the sha256 *digest* of the source files they were read from,

    digest = sha256(name₁, sha256(bytes₁), name₂, sha256(bytes₂), ...)   over the sources in name order.

A catalogue is used only while its digest equals that of the sources now, so an edited
declaration is never read stale: the caller then imports the experiments and writes a fresh
catalogue (:func:`cached_declarations`). Hashing the sources takes about a millisecond.

In JSON a key's declaration keeps its type names, bounds, units and meaning; a ``check``
function is kept as its importable name (``module:function``), and ``choices`` given as a
function (the names registered now) as the list of names it returned when the catalogue was
written. Config values keep their JSON types (a tuple default becomes a list).
"""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path
from typing import Callable, Iterable

from ..errors import InputError
from ..storage.atomic import write_text
from .config import Key
from .declaration import Declaration

#: the types a key's ``kind`` or ``item`` may be, by name
TYPES = {t.__name__: t for t in (int, float, str, bool, list, dict)}
#: the version of the catalogue's layout; a catalogue of another version is not read
FORMAT = 1


def sources_digest(paths: Iterable[Path]) -> str:
    """sha256 (hex) over the names and contents of ``paths``, in name order."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        digest.update(f"{path.name} {hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()


def _function_name(function: Callable) -> str:
    """``module:name`` of a module-level function, checked to import back to the same function."""
    name = f"{function.__module__}:{function.__qualname__}"
    if _import_function(name) is not function:
        raise InputError(f"key check {name} is not a module-level function; a catalogue can keep only those")
    return name


def _import_function(name: str) -> Callable | None:
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute, None)


def key_record(key: Key) -> dict:
    """``key`` as JSON-able values (see the module docstring for ``check`` and ``choices``)."""
    choices = key.choices() if callable(key.choices) else key.choices
    return {"kind": key.kind.__name__ if key.kind else None, "units": key.units, "description": key.description,
            "low": key.low, "high": key.high, "low_open": key.low_open, "high_open": key.high_open,
            "choices": None if choices is None else list(choices),
            "check": None if key.check is None else _function_name(key.check),
            "item": key.item.__name__ if key.item else None, "none_means": key.none_means,
            "min_items": key.min_items}


def key_from_record(record: dict) -> Key:
    """The :class:`Key` a :func:`key_record` describes (its ``check`` imported by name)."""
    return Key(**{**record, "kind": TYPES.get(record["kind"]), "item": TYPES.get(record["item"]),
                  "choices": None if record["choices"] is None else tuple(record["choices"]),
                  "check": None if record["check"] is None else _import_function(record["check"])})


def declaration_record(declaration: Declaration) -> dict:
    """A declaration as JSON-able values."""
    return {"number": declaration.number, "name": declaration.name, "title": declaration.title,
            "description": declaration.description, "defaults": declaration.defaults, "quick": declaration.quick,
            "keys": {name: key_record(key) for name, key in declaration.keys.items()}}


def declaration_from_record(record: dict) -> Declaration:
    return Declaration(**{**record, "keys": {name: key_from_record(k) for name, k in record["keys"].items()}})


def write_catalogue(path, declarations: Iterable[Declaration], *, digest: str) -> Path:
    """Write ``declarations`` and the ``digest`` of their sources to ``path`` (atomically)."""
    record = {"format": FORMAT, "digest": digest, "experiments": [declaration_record(d) for d in declarations]}
    return write_text(path, json.dumps(record, indent=1, ensure_ascii=False) + "\n")


def read_catalogue(path, *, digest: str) -> list[Declaration] | None:
    """The declarations of the catalogue at ``path``, or None when it is absent, unreadable, of another
    layout, or written from sources of another ``digest``."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("format") != FORMAT or record.get("digest") != digest:
        return None
    return [declaration_from_record(r) for r in record["experiments"]]


def cached_declarations(*, sources: Iterable[Path], catalogues: list[Path],
                        build: Callable[[], list[Declaration]]) -> list[Declaration]:
    """The declarations of the first of ``catalogues`` written from ``sources`` as they are now;
    when none is, ``build()`` (which imports the experiments) gives them and they are written to the
    last of ``catalogues`` for the next call (skipped if that folder cannot be written)."""
    digest = sources_digest(sources)
    for path in catalogues:
        declarations = read_catalogue(path, digest=digest)
        if declarations is not None:
            return declarations
    declarations = build()
    try:
        write_catalogue(catalogues[-1], declarations, digest=digest)
    except OSError:
        pass   # a read-only cache folder costs only speed: the next call imports the experiments again
    return declarations
