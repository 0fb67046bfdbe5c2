"""Where numba keeps effcode's compiled kernels.

numba caches a compiled function in the ``__pycache__`` folder beside its source.  Where the installation
cannot be written (a system-wide or another user's install), importing this module, which every kernel
module does before numba, points ``NUMBA_CACHE_DIR`` to the first writable of the user's cache folder
(``$XDG_CACHE_HOME`` or ``~/.cache``, under ``effcode/numba``) and the temporary folder, so the kernels are
still compiled once and cached, with no message.  Where none of them can be written either, :data:`CACHE`
is False and the kernels, which pass it to numba as ``cache=CACHE``, are compiled in each process
without caching, again with no message.  A ``NUMBA_CACHE_DIR`` the user set is left alone.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: the folders whose ``__pycache__`` holds effcode's compiled kernels (the package and its learners)
KERNEL_FOLDERS = (Path(__file__).parent, Path(__file__).parent / "learners")


def writable(folder: Path) -> bool:
    """Whether files can be created in ``folder``, or ``folder`` can be created in a writable parent."""
    while not folder.exists():
        if folder.parent == folder:
            return False
        folder = folder.parent
    return os.access(folder, os.W_OK | os.X_OK)


def fallback_folders(environ) -> list[Path]:
    """Where the cache goes when the installation is read-only, in order of preference."""
    user_cache = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return [user_cache / "effcode" / "numba", Path(tempfile.gettempdir()) / f"effcode-numba-{os.getuid()}"]


def installation_writable(environ=os.environ) -> bool:
    """Whether numba can cache where it does by default: a ``NUMBA_CACHE_DIR`` the user set, or the kernel
    folders' ``__pycache__``."""
    return bool(environ.get("NUMBA_CACHE_DIR")) or all(writable(folder / "__pycache__") for folder in KERNEL_FOLDERS)


def cache_folder(environ=os.environ) -> str | None:
    """The ``NUMBA_CACHE_DIR`` to set: None where the user set one or the kernel folders are writable, else
    the first writable fallback (None if there is none)."""
    if installation_writable(environ):
        return None
    return next((str(folder) for folder in fallback_folders(environ) if writable(folder)), None)


_folder = cache_folder()
if _folder is not None:
    os.environ["NUMBA_CACHE_DIR"] = _folder
#: whether the kernels are cached on disk (False where no folder for the cache can be written)
CACHE = _folder is not None or installation_writable()
