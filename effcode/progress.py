"""Progress bars on a terminal only: the one helper every long step uses.

A bar is drawn when the caller asks for one (``progress=True``) or leaves it to effcode
(``progress=None``) *and* someone is watching: standard error is a terminal and the ``CI``
environment variable is unset or empty.  Logs, pipes, notebooks' captured output and CI
runs therefore stay free of bar fragments, whatever the caller asked for.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Iterable

from tqdm.auto import tqdm

__all__ = ["interactive", "progress_bar", "show_progress"]


def interactive() -> bool:
    """Whether progress bars are shown at all: standard error is a terminal and not under CI."""
    stream = sys.stderr
    return bool(stream is not None and stream.isatty() and not os.environ.get("CI"))


def show_progress(progress: bool | None) -> bool:
    """``progress`` resolved: False never shows a bar; True and None (automatic) show one when
    :func:`interactive`."""
    return progress is not False and interactive()


def progress_bar(iterable: Iterable | None = None, *, progress: bool | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar over ``iterable`` (``kwargs`` as tqdm's: ``desc``, ``total``, ``leave``, ...), drawn
    only when :func:`show_progress` says so; otherwise it iterates silently and prints nothing."""
    return tqdm(iterable, disable=not show_progress(progress), **kwargs)
