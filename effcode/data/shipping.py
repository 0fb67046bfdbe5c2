"""Sending a folder of images to machines that do not share this one's disk (dask workers).

Image folders are small (a few MB), so rather than ask every worker of a cluster to mount the
same path, the driver packs the folder's image files into a dict and the workers unpack it into
a local folder of the same name, once per worker: :func:`load_images` there reads the same
files, with the same ids, as it does here.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from ..storage.atomic import write_bytes
from .sources import FOLDER_SUFFIXES


def is_local_folder(source) -> bool:
    """Whether ``source`` (an image source) names a folder of this machine."""
    return isinstance(source, (str, os.PathLike)) and Path(source).expanduser().is_dir()


def pack_folder(folder) -> dict:
    """The image files of ``folder`` that :func:`~effcode.data.load_folder` reads, as
    ``{"name": folder name, "files": {file name: bytes}, "sha256": digest of all of them}``."""
    folder = Path(folder).expanduser()
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())
             if p.is_file() and p.suffix.lower() in FOLDER_SUFFIXES}
    digest = hashlib.sha256()
    for name, data in files.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return {"name": folder.name, "files": files, "sha256": digest.hexdigest()}


def unpack_folder(packed: dict, root=None) -> Path:
    """Write a :func:`pack_folder` result under ``root`` (default: the system's temporary folder),
    in a folder named by its digest so that repeated calls reuse it; returns the image folder."""
    root = Path(root or tempfile.gettempdir()) / f"effcode-images-{packed['sha256'][:16]}"
    folder = root / packed["name"]
    for name, data in packed["files"].items():
        path = folder / name
        if not path.exists() or path.stat().st_size != len(data):
            write_bytes(path, data)
    return folder
