"""Checksums for everything effcode caches: computed steps, sweep points, checkpoints, run artifacts.

Each kind carries its sha256 inside the file it protects, so one atomic write covers both:

* a cached step (``.npz``) holds a ``__record__`` entry: JSON with the checksum of its arrays
  (names, dtypes, shapes and bytes), its own cache key (the file's name) and how it was computed
  (code hash, version, commit, seconds);
* a sweep point (``.json``) holds the checksum of its ``point`` and ``result``, and the point and
  code hash that are its key;
* a checkpoint starts with a one-line header giving the checksum of the torch bytes after it;
* a run folder's result files are listed with their checksums in its manifest ``checksums.json``,
  written last when they are published (:mod:`effcode.storage.publish`).

A reader that finds a file unreadable, or its content not matching its checksum (truncated, bit
flips, replaced by another file), or holding another key than the one asked for (a cache file
copied over another step's), raises :class:`~effcode.errors.CorruptFileError` naming the path;
the cache then warns in one line and recomputes.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from pathlib import Path
from typing import Mapping

import numpy as np

from ..errors import CorruptFileError, IntegrityWarning
from .atomic import json_default, read_json, read_npz, write_bytes, write_json, write_npz

RECORD_KEY = "__record__"
CHECKPOINT_MAGIC = b"effcode-checkpoint sha256="


def arrays_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """sha256 of named arrays: each name, dtype, shape and C-ordered bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def json_digest(obj) -> str:
    """sha256 of a JSON-able object written canonically (keys sorted, no spaces)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def file_digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def warn_corrupt(error: CorruptFileError, action: str) -> None:
    """One-line warning that a cached file was unusable, and what happens instead."""
    warnings.warn(f"{error}; {action}", IntegrityWarning, stacklevel=3)


# -- cached steps -----------------------------------------------------------------------------
def write_checked_npz(path, record: Mapping, **arrays) -> Path:
    """Save ``arrays`` with ``record`` and the arrays' checksum, atomically."""
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    if RECORD_KEY in arrays:
        raise ValueError(f"array name {RECORD_KEY!r} is reserved")
    full = {**record, "sha256": arrays_digest(arrays)}
    return write_npz(path, **arrays, **{RECORD_KEY: np.array(json.dumps(full, sort_keys=True))})


def read_checked_npz(path, *, key: str | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and record of a file written by :func:`write_checked_npz`, after checking them; with
    ``key``, the record's ``key`` entry must equal it (a file copied over another's holds another key)."""
    arrays = read_npz(path)
    if RECORD_KEY not in arrays:
        raise CorruptFileError(f"cache file {path} has no checksum record (not written by effcode's cache)")
    try:
        record = json.loads(str(arrays.pop(RECORD_KEY)))
    except json.JSONDecodeError:
        raise CorruptFileError(f"cache file {path} has an unreadable checksum record") from None
    if record.get("sha256") != arrays_digest(arrays):
        raise CorruptFileError(f"cache file {path} does not match its checksum (changed or corrupt)")
    if key is not None and record.get("key") != key:
        raise CorruptFileError(f"cache file {path} holds the result of {record.get('key') or 'an unnamed step'}, "
                               f"not of {key} (copied over it?)")
    return arrays, record


# -- sweep points -----------------------------------------------------------------------------
def write_checked_json(path, payload: Mapping, *, checked: tuple[str, ...]) -> dict:
    """Write ``payload`` with a ``sha256`` of its entries named in ``checked``; returns what a reader
    gets back (numpy numbers made plain, keys in the file's sorted order)."""
    plain = json.loads(json.dumps(dict(payload), default=json_default, sort_keys=True))
    plain["sha256"] = json_digest({k: plain[k] for k in checked})
    write_json(path, plain)
    return plain


def read_checked_json(path, *, checked: tuple[str, ...]) -> dict:
    """A file written by :func:`write_checked_json`, after checking its checksum."""
    data = read_json(path)
    if not isinstance(data, dict) or any(k not in data for k in checked) or "sha256" not in data:
        raise CorruptFileError(f"cache file {path} lacks its checksum or entries {', '.join(checked)}")
    if data["sha256"] != json_digest({k: data[k] for k in checked}):
        raise CorruptFileError(f"cache file {path} does not match its checksum (changed or corrupt)")
    return data


# -- checkpoints ------------------------------------------------------------------------------
def write_checked_bytes(path, payload: bytes) -> Path:
    """``payload`` behind a one-line header holding its sha256, atomically."""
    header = CHECKPOINT_MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n"
    return write_bytes(path, header + payload)


def read_checked_bytes(path) -> bytes:
    """The payload of a file written by :func:`write_checked_bytes`, after checking it."""
    data = Path(path).read_bytes()
    header, newline, payload = data.partition(b"\n")
    if not newline or not header.startswith(CHECKPOINT_MAGIC):
        raise CorruptFileError(f"checkpoint {path} has no effcode checksum header")
    if header[len(CHECKPOINT_MAGIC):].decode(errors="replace") != hashlib.sha256(payload).hexdigest():
        raise CorruptFileError(f"checkpoint {path} does not match its checksum (truncated or corrupt)")
    return payload


def torch_state_bytes(state) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


# -- run artifacts ----------------------------------------------------------------------------
MANIFEST = "checksums.json"


def verify_artifacts(folder) -> None:
    """Check every file listed in ``folder``'s manifest; a changed or corrupt one raises
    :class:`CorruptFileError` naming it.  Missing files are left to their readers (a committed
    results folder leaves the large arrays out), and a folder without a manifest (written before
    effcode kept one) is accepted as it is."""
    folder = Path(folder)
    for name, digest in sorted(_manifest(folder).items()):
        path = folder / name
        if path.exists() and file_digest(path) != digest:
            raise CorruptFileError(f"{path} does not match the checksum its run recorded (changed or corrupt "
                                   "since); rerun the experiment to repair it (its cached steps are reused)")


def _manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.exists():
        return {}
    manifest = read_json(path)
    if not isinstance(manifest, dict):
        raise CorruptFileError(f"{path} is not a checksum manifest")
    return manifest
