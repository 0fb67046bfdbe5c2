"""Publishing a folder's results together: staged, then moved in behind a journal, the manifest last.

A run (or a redraw of figures) writes its files into ``FOLDER/.staging/``; the published folder is not
touched while it computes, so an interruption there leaves the previous complete results.  Publishing
then goes in three steps:

1. the journal ``FOLDER/.publishing.json`` is written (atomically): the new manifest, the name and
   sha256 of every staged file (a redraw of figures stages the other results too, as hard links);
2. every staged file is moved onto its published name, and every published file the manifest does not
   list is removed (``cache/``, ``points/`` and hidden files are not results and are left alone);
3. the manifest ``checksums.json`` is written last, then the staging folder and the journal are removed.

Writing the journal is the commit point.  Before it, the folder holds the previous results (a staging
folder left by an interrupted run is discarded by the next one, see :func:`begin_staging`); after it,
the next effcode command that opens the folder finishes steps 2 and 3 (:func:`recover`) before it reads
anything, so it holds the new results.  No reader sees parts of both: :func:`recover` runs under the
folder's lock, which the publishing process holds.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterable

from ..errors import CorruptFileError
from .atomic import read_json, write_json
from .integrity import MANIFEST, file_digest

STAGING = ".staging"
JOURNAL = ".publishing.json"
#: sub-folders of a run folder that hold cached work, not published results
NOT_RESULTS = ("cache", "points")


def result_files(folder) -> list[str]:
    """The names (relative, POSIX) of the result files of ``folder``: every file but the manifest, hidden
    files and folders, and the cached work under :data:`NOT_RESULTS`."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    names = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if (path.is_file() and not any(part.startswith(".") for part in parts) and parts[0] not in NOT_RESULTS
                and parts != (MANIFEST,)):
            names.append("/".join(parts))
    return names


def begin_staging(folder, *, carry: Iterable[str] = ()) -> Path:
    """A fresh ``folder/.staging/`` to write new results into, holding the published files ``carry`` (names
    relative to ``folder``; hard links, or copies where the file system has none), which the new results
    keep.  What an interrupted run left there is discarded: its computed steps are in ``cache/``."""
    folder = Path(folder)
    staging = folder / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in carry:
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(folder / name, staging / name)
        except OSError:
            shutil.copy2(folder / name, staging / name)
    return staging


def publish(folder) -> dict:
    """Publish ``folder``'s staged files as its results: every other published result file is removed.
    Returns the new manifest.  The caller holds the folder's lock."""
    folder = Path(folder)
    staging = folder / STAGING
    manifest = {name: file_digest(staging / name) for name in result_files(staging)}
    write_json(folder / JOURNAL, {"manifest": manifest})   # the commit point
    _roll_forward(folder, manifest)
    return manifest


def recover(folder) -> bool:
    """Finish a publication of ``folder`` that was interrupted after its commit point; True if there was
    one.  The caller holds the folder's lock."""
    folder = Path(folder)
    journal = folder / JOURNAL
    if not journal.exists():
        return False
    try:
        manifest = read_json(journal)["manifest"]
    except (CorruptFileError, KeyError, TypeError):   # a journal is written atomically: never expected
        raise CorruptFileError(f"{journal} is not a readable publication journal; remove it and rerun the "
                               "experiment") from None
    _roll_forward(folder, manifest)
    return True


def _roll_forward(folder: Path, manifest: dict) -> None:
    """Steps 2 and 3 of a publication (idempotent: a repeat after an interruption completes it)."""
    staging = folder / STAGING
    for name in result_files(staging):
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / name, target)
    for name in result_files(folder):
        if name not in manifest:
            (folder / name).unlink()
    write_json(folder / MANIFEST, manifest)
    shutil.rmtree(staging, ignore_errors=True)
    (folder / JOURNAL).unlink(missing_ok=True)
