"""Atomic file writes: write to a temporary file in the same folder, then rename.

A reader never sees a half-written file, and a run killed mid-write leaves the
previous version (or nothing) in place.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
from numpy.typing import ArrayLike

from ..errors import CorruptFileError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    An :class:`OSError` without a file name (a full disk, a file size limit: raised by a write) is
    raised again naming ``path``, so that its one-line message says which file could not be written;
    the temporary is removed and ``path`` keeps its previous content.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    """
    path = Path(path)
    with _naming(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    try:
        with _naming(path):
            yield tmp
            if tmp.exists():
                os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Give an :class:`OSError` raised inside without a file name the name ``path``."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None or exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from None


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def json_default(obj):
    """JSON for numpy numbers and arrays, and paths."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=json_default) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """A JSON file; one that cannot be parsed raises :class:`CorruptFileError` naming it.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"{path} is not valid JSON ({type(exc).__name__} at byte "
                               f"{getattr(exc, 'pos', getattr(exc, 'start', '?'))}); corrupt or truncated") from None


def write_npz(path: str | os.PathLike[str], **arrays: ArrayLike) -> Path:
    """Save arrays to ``.npz`` atomically; object arrays are refused (no pickle, ever).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    **arrays
        The arrays to save, by name.
    """
    for name, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise TypeError(f"array {name!r} has dtype object; only numeric/string arrays are saved")
    buf = io.BytesIO()
    named: dict[str, Any] = dict(arrays)
    np.savez_compressed(buf, **named)
    return write_bytes(path, buf.getvalue())


def read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` with ``allow_pickle=False``; a file that is not a readable
    archive of plain arrays (truncated, bit flips, empty, not an npz) raises
    :class:`CorruptFileError` naming it.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            if not hasattr(data, "files"):
                raise ValueError("a single .npy array, not an .npz archive")
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        reason = "not an .npz archive" if "pickle" in str(exc) else type(exc).__name__
        raise CorruptFileError(f"{path} is not a readable .npz archive ({reason}); corrupt or truncated") from None


def write_csv(path: str | os.PathLike[str], table: Mapping[str, "np.ndarray | list"]) -> Path:
    """Write a dict of equal-length columns as CSV.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    table : mapping of str to ndarray or list
        Equal-length columns, by name.
    """
    columns = list(table)
    rows = zip(*(np.asarray(table[c]).tolist() for c in columns))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return write_text(path, buf.getvalue())


def read_csv(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a CSV written by :func:`write_csv` into numeric (or string) columns.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.
    """
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CorruptFileError(f"{path} is not a readable CSV file ({type(exc).__name__})") from None
    if not rows or any(len(row) != len(rows[0]) for row in rows):
        raise CorruptFileError(f"{path} is not a complete CSV table (empty, or rows of unequal length)")
    header, body = rows[0], rows[1:]
    out = {}
    for i, name in enumerate(header):
        col = [r[i] for r in body]
        try:
            out[name] = np.array([float(v) for v in col])
        except ValueError:
            out[name] = np.array(col)
    return out
