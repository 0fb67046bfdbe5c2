"""Parameter sweeps: a grid of points, each evaluated once and cached as its own file.

A point is a dict of parameters; its result (a JSON-able dict of metrics) is
written atomically to ``DIR/points/<hash>.json`` as soon as it finishes, with a checksum and
a record of the code that computed it.  The hash covers the point and the code the evaluating
function depends on (:func:`~effcode.runs.codehash.code_hash`), so a point is reused only when
the same code computed it; the file also holds that point and code hash, so a point file copied
over another's is recognised and recomputed.  With ``resumable=True`` the evaluating function
gets a checkpoint path beside its point's file (``points/<hash>.checkpoint.pt``) and saves its
training there as it goes (every 100 training steps for effcode's learners); once the training has
finished, :func:`finished_training` keeps its result beside it (``points/<hash>.trained.npz``) in
place of the checkpoint while the point is scored.  Both stay until the point's file is saved.  A
sweep that is killed and started again recomputes only the points that were in flight: a point
killed while training continues from its last checkpoint, one killed while being scored is scored
again from its finished training, without training it again (and a point whose file is corrupt is
recomputed after a one-line warning).  Worker processes stop when the process that started them dies
(:mod:`effcode.runs.workers`).
Points run locally through joblib, or on a dask.distributed cluster with
``backend="dask"`` (``pip install effcode[dask]``); the results are the same either
way because every point carries its own seed.  A dask worker keeps a point's checkpoint at the same
path on its own disk: without a disk shared with this machine, a point resumes only when it lands
on the worker that started it (a folder shared by every worker, such as the results folder on a
network file system, lifts this).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence, cast

import numpy as np
from tqdm.auto import tqdm

from ..errors import CorruptFileError, InputError
from ..validation import check_choice, check_int
from ..storage.atomic import json_default
from ..storage.integrity import (read_checked_json, read_checked_npz, warn_corrupt, write_checked_json,
                                 write_checked_npz)
from .codehash import code_hash
from .config import config_hash
from .workers import stop_with_parent

log = logging.getLogger(__name__)

BACKENDS = ("joblib", "dask")


def expand_grid(grid: Mapping[str, Sequence], fixed: Mapping | None = None) -> list[dict]:
    """All combinations of the values in ``grid`` (key -> list), each merged into ``fixed``.

    Parameters
    ----------
    grid : mapping of str to sequence
        The values of each swept key.
    fixed : mapping or None, default None
        Keys shared by every point (None: none).
    """
    for key, values in grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise InputError(f"grid key {key!r} needs a non-empty list of values, got {values!r}")
    keys = list(grid)
    return [{**(fixed or {}), **dict(zip(keys, combo))} for combo in itertools.product(*(grid[k] for k in keys))]


#: the entries of a point file its checksum covers
CHECKED = ("point", "result")


def point_path(directory, point: Mapping, code: str) -> Path:
    """Where ``point``, evaluated by code of hash ``code``, is saved."""
    return Path(directory) / "points" / f"{config_hash({'point': dict(point), 'code': code})[:20]}.json"


#: the ends of the names of the files a point's evaluation keeps beside the point's file until it is saved
CHECKPOINT_SUFFIX, TRAINED_SUFFIX = ".checkpoint.pt", ".trained.npz"


def checkpoint_path(path: Path) -> Path:
    """Where the evaluation of the point saved at ``path`` keeps its training checkpoint."""
    return path.with_suffix(CHECKPOINT_SUFFIX)


def trained_path(checkpoint: str | os.PathLike[str]) -> Path:
    """Where the evaluation that checkpoints its training to ``checkpoint`` keeps the finished training."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.name.removesuffix(CHECKPOINT_SUFFIX) + TRAINED_SUFFIX)


def finished_training(checkpoint: str | os.PathLike[str] | None,
                      train: Callable[[], Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays of a sweep point's training: ``train()``, which checkpoints to ``checkpoint``, kept at
    :func:`trained_path` once it has finished, so that an evaluation killed after its training (while
    its point is scored) is scored again from there rather than trained again.

    The checkpoint is removed once the finished training is kept (it holds nothing more);
    :func:`run_sweep` removes the kept training once the point's file is saved.  The file holds its
    own key (its name), so a file copied over another point's is recomputed after a one-line warning,
    as is a corrupt one.

    Parameters
    ----------
    checkpoint : str, os.PathLike or None
        The point's checkpoint path, as :func:`run_sweep` passes it (None: nothing is kept).
    train : callable
        Trains, checkpointing to ``checkpoint``, and returns the result as named arrays.
    """
    if checkpoint is None:
        return {name: np.asarray(value) for name, value in train().items()}
    path = trained_path(checkpoint)
    if path.exists():
        try:
            arrays, _ = read_checked_npz(path, key=path.stem)
            log.info("sweep point %s: trained before the interruption; scoring it from %s", path.stem, path)
            return arrays
        except CorruptFileError as error:
            warn_corrupt(error, "training that point again")
            path.unlink(missing_ok=True)
    arrays = {name: np.asarray(value) for name, value in train().items()}
    write_checked_npz(path, {"key": path.stem}, **arrays)
    Path(checkpoint).unlink(missing_ok=True)
    return arrays


def _remove_scratch(checkpoint: Path | None) -> None:
    """Remove what the evaluation of a saved point kept while it ran (its checkpoint, its finished training)."""
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
        trained_path(checkpoint).unlink(missing_ok=True)


def _read_point(path: Path, point: Mapping, code: str) -> dict | None:
    """The point ``point`` computed by code ``code`` saved at ``path``, or None when absent or unusable
    (corrupt, or holding another point or code's result: then warned and removed)."""
    if not path.exists():
        return None
    try:
        saved = read_checked_json(path, checked=CHECKED)
        expected = json.loads(json.dumps(dict(point), default=json_default))
        if saved["point"] != expected or saved.get("code_hash") != code:
            raise CorruptFileError(f"cache file {path} holds the result of another point or code "
                                   "(copied over it?)")
        return saved
    except CorruptFileError as error:
        warn_corrupt(error, "recomputing that point")
        path.unlink(missing_ok=True)
        return None


def _evaluate(evaluate: Callable[..., dict], index: int, point: dict, checkpoint: Path | None,
              parent: int | None) -> tuple[int, dict, float]:
    """``evaluate(point)`` (with ``checkpoint=`` when given), in a process that stops when the process
    ``parent`` dies (None: no such watch)."""
    stop_with_parent(parent)
    started = time.perf_counter()
    result = dict(evaluate(dict(point)) if checkpoint is None else evaluate(dict(point), checkpoint=checkpoint))
    return index, result, time.perf_counter() - started


def run_sweep(evaluate: Callable[[dict], dict], points: Sequence[Mapping], directory: str | os.PathLike[str], *,
              backend: str = "joblib", n_jobs: int = 1, scheduler: str | None = None, progress: bool = False,
              records: list | None = None, resumable: bool = False) -> list[dict]:
    """Evaluate ``evaluate(point)`` for every point not already saved in ``directory`` by the same code.

    ``evaluate`` must be a module-level function (it is sent to worker processes).
    Returns, in the order of ``points``, ``{**point, **result}`` rows.  Each point's file also
    records the seconds its evaluation took and the code hash, effcode version and commit that
    computed it; ``records``, when given, receives one such record per point, with
    ``from_cache`` telling whether this call computed it.  With ``resumable``, ``evaluate`` is
    called as ``evaluate(point, checkpoint=PATH)`` and saves its training progress to ``PATH``
    (removed once the point is saved), so a killed sweep continues each point in flight from there;
    an ``evaluate`` that trains through :func:`finished_training` is not trained again when it was
    killed after its training.

    Parameters
    ----------
    evaluate : callable
        A module-level function of one point returning a dict.
    points : sequence of mapping
        The points to evaluate.
    directory : str or os.PathLike
        Where each point's result is saved.
    backend : {"joblib", "dask"}, default "joblib"
        What runs the evaluations.
    n_jobs : int, default 1
        Parallel workers (joblib).
    scheduler : str or None, default None
        Address of the dask scheduler (required with the dask backend).
    progress : bool, default False
        Whether to draw a progress bar.
    records : list or None, default None
        A list that receives one record per point (None: none).
    resumable : bool, default False
        Whether ``evaluate`` takes a checkpoint path to save its progress to.
    """
    from .. import __version__
    from ..storage.provenance import git_commit

    check_choice("backend", backend, BACKENDS)
    n_jobs = check_int("n_jobs", n_jobs, minimum=-1)
    if n_jobs == 0:
        raise InputError("n_jobs must be a positive number of worker processes, or -1 for one per core; got 0")
    points = [dict(p) for p in points]
    code = code_hash(evaluate)
    paths = [point_path(directory, p, code) for p in points]
    saved = [_read_point(path, point, code) for path, point in zip(paths, points)]
    todo = [i for i, entry in enumerate(saved) if entry is None]
    cached = set(range(len(points))) - set(todo)
    checkpoints = [checkpoint_path(path) if resumable else None for path in paths]
    for i in cached:   # left behind by a sweep killed between saving a point and removing them
        _remove_scratch(checkpoints[i])
    if todo:
        computed_by = {"code_hash": code, "effcode_version": __version__, "git_commit": git_commit()}
        bar = tqdm(total=len(points), initial=len(points) - len(todo), desc="sweep", unit="point",
                   disable=not progress)
        if backend == "joblib":
            from joblib import Parallel, delayed

            finished = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                delayed(_evaluate)(evaluate, i, points[i], checkpoints[i], os.getpid()) for i in todo)
        else:
            finished = _run_on_dask(evaluate, [(i, points[i], checkpoints[i]) for i in todo], scheduler)
        for i, result, seconds in finished:  # each finished point is saved at once, in this process
            saved[i] = write_checked_json(paths[i], {"point": points[i], "result": result,
                                                     "seconds": round(seconds, 3), **computed_by}, checked=CHECKED)
            _remove_scratch(checkpoints[i])
            bar.update()
        bar.close()
    done = cast(list[dict], saved)   # every point is saved by now
    if records is not None:
        records += [{"file": f"points/{path.name}", "from_cache": i in cached,
                     **{k: entry.get(k) for k in ("seconds", "code_hash", "effcode_version", "git_commit")}}
                    for i, (path, entry) in enumerate(zip(paths, done))]
    return [{**p, **entry["result"]} for p, entry in zip(points, done)]


#: seconds to wait for a dask scheduler to answer before giving up
SCHEDULER_TIMEOUT_S = 20


def connect(scheduler: str | None):
    """A dask.distributed client of the scheduler at ``scheduler``; a missing package, a missing or
    malformed address, or a scheduler that does not answer in time is a one-line :class:`InputError`."""
    try:
        from distributed import Client
    except ImportError:
        raise InputError("backend 'dask' needs dask.distributed: pip install 'effcode[dask]'") from None
    if not scheduler:
        raise InputError("backend 'dask' needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    try:
        return Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s")
    except (OSError, ValueError, TypeError) as exc:   # a malformed address, or nothing listening there
        raise InputError(f"could not reach the dask scheduler {scheduler!r} within {SCHEDULER_TIMEOUT_S} s "
                         f"({exc}); expected an address such as tcp://HOST:8786 of a running scheduler") from None


def _evaluate_with_images(evaluate, index: int, point: dict, checkpoint: Path | None, images: dict | None):
    """:func:`_evaluate` on a worker, with the point's image folder unpacked there first (when sent).
    The checkpoint path is on the worker's disk (the same path as on this machine when they share one);
    a worker that cannot make that folder evaluates the point without checkpoints."""
    if images is not None:
        from ..data.shipping import unpack_folder

        point = {**point, "source": str(unpack_folder(images))}
    if checkpoint is not None and not _writable_folder(checkpoint.parent):
        checkpoint = None
    return _evaluate(evaluate, index, point, checkpoint, parent=None)   # dask's nanny stops its workers


def _writable_folder(folder: Path) -> bool:
    """Whether ``folder`` exists, or can be made, and can be written in."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def _run_on_dask(evaluate, todo, scheduler):
    """Yield (index, result, seconds) as points finish on the cluster.  Workers need no shared disk:
    a point whose ``source`` is a folder of this machine has the folder's images sent along (once
    per worker), and the worker reads them from a local copy."""
    from distributed import as_completed

    from ..data.shipping import is_local_folder, pack_folder

    with connect(scheduler) as client:
        folders = [p["source"] if is_local_folder(p.get("source")) else None for _, p, _ in todo]
        sent = {folder: client.scatter([pack_folder(folder)], broadcast=True)[0]
                for folder in set(folders) - {None}}
        futures = [client.submit(_evaluate_with_images, evaluate, i, p, checkpoint, sent.get(folder), pure=False)
                   for (i, p, checkpoint), folder in zip(todo, folders)]
        for future in as_completed(futures):
            yield future.result()
