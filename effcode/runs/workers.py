"""Worker processes that stop when the process that started them dies.

joblib's worker processes (loky) finish the point they are computing even after the sweep that sent
it was killed, although nothing is left to save its result, and they would then write the same
checkpoint as the rerun.  :func:`stop_with_parent`, called in the worker, starts a daemon thread that
checks every :data:`CHECK_EVERY_S` seconds whether the worker's parent process is still the one that
sent the work, and ends the worker at once (``os._exit``) when it is not.
"""

from __future__ import annotations

import os
import threading

#: seconds between two checks of the parent process
CHECK_EVERY_S = 1.0
#: the exit status of a worker ended because its parent died
ORPHANED_EXIT_STATUS = 3

_watched: set[int] = set()


def stop_with_parent(parent: int | None) -> None:
    """End this process when its parent is no longer ``parent`` (a process id); a no-op for None, in a
    process that ``parent`` did not start (work run in-process, say), and after the first call per parent."""
    if parent is None or os.getppid() != parent or parent in _watched:
        return
    _watched.add(parent)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), name="effcode-parent-watch", daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    stopped = threading.Event()
    while os.getppid() == parent:
        stopped.wait(CHECK_EVERY_S)
    os._exit(ORPHANED_EXIT_STATUS)
