"""Parameter sweeps: a grid of points, each evaluated once and cached as its own file.

A point is a dict of parameters; its result (a JSON-able dict of metrics) is
written atomically to ``DIR/points/<hash>.json`` as soon as it finishes.  A sweep
that is killed and started again recomputes only the points that were in flight.
Points run locally through joblib, or on a dask.distributed cluster with
``backend="dask"`` (``pip install effcode[dask]``); the results are the same either
way because every point carries its own seed.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

from tqdm.auto import tqdm

from ..errors import InputError
from ..validation import check_choice, check_int
from .atomic import read_json, write_json
from .config import config_hash

BACKENDS = ("joblib", "dask")


def expand_grid(grid: Mapping[str, Sequence], fixed: Mapping | None = None) -> list[dict]:
    """All combinations of the values in ``grid`` (key -> list), each merged into ``fixed``."""
    for key, values in grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise InputError(f"grid key {key!r} needs a non-empty list of values, got {values!r}")
    keys = list(grid)
    return [{**(fixed or {}), **dict(zip(keys, combo))} for combo in itertools.product(*(grid[k] for k in keys))]


def point_path(directory, point: Mapping) -> Path:
    return Path(directory) / "points" / f"{config_hash(dict(point))[:20]}.json"


def _evaluate(evaluate: Callable[[dict], dict], index: int, point: dict) -> tuple[int, dict, float]:
    started = time.perf_counter()
    result = dict(evaluate(dict(point)))
    return index, result, time.perf_counter() - started


def cached_point_seconds(directory, points: Sequence[Mapping]) -> float:
    """Evaluation seconds recorded by the points of ``points`` already saved in ``directory``."""
    paths = (point_path(directory, p) for p in points)
    return float(sum(read_json(path).get("seconds", 0.0) for path in paths if path.exists()))


def run_sweep(evaluate: Callable[[dict], dict], points: Sequence[Mapping], directory, *, backend: str = "joblib",
              n_jobs: int = 1, scheduler: str | None = None, progress: bool = False) -> list[dict]:
    """Evaluate ``evaluate(point)`` for every point not already cached in ``directory``.

    ``evaluate`` must be a module-level function (it is sent to worker processes).
    Returns, in the order of ``points``, ``{**point, **result}`` rows.  Each point's file also
    records the seconds its evaluation took (:func:`cached_point_seconds` sums them).
    """
    check_choice("backend", backend, BACKENDS)
    n_jobs = check_int("n_jobs", n_jobs, minimum=-1)
    if n_jobs == 0:
        raise InputError("n_jobs must be a positive number of worker processes, or -1 for one per core; got 0")
    points = [dict(p) for p in points]
    paths = [point_path(directory, p) for p in points]
    todo = [i for i, path in enumerate(paths) if not path.exists()]
    if todo:
        bar = tqdm(total=len(points), initial=len(points) - len(todo), desc="sweep", unit="point",
                   disable=not progress)
        if backend == "joblib":
            from joblib import Parallel, delayed

            finished = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                delayed(_evaluate)(evaluate, i, points[i]) for i in todo)
        else:
            finished = _run_on_dask(evaluate, [(i, points[i]) for i in todo], scheduler)
        for i, result, seconds in finished:  # each finished point is saved at once, in this process
            write_json(paths[i], {"point": points[i], "result": result, "seconds": round(seconds, 3)})
            bar.update()
        bar.close()
    return [{**p, **read_json(path)["result"]} for p, path in zip(points, paths)]


#: seconds to wait for a dask scheduler to answer before giving up
SCHEDULER_TIMEOUT_S = 20


def _run_on_dask(evaluate, todo, scheduler):
    """Yield (index, result, seconds) as points finish on the cluster; workers need no shared disk."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise InputError("backend 'dask' needs dask.distributed: pip install 'effcode[dask]'") from None
    if not scheduler:
        raise InputError("backend 'dask' needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    try:
        client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s")
    except (OSError, ValueError, TypeError) as exc:   # a malformed address, or nothing listening there
        raise InputError(f"could not reach the dask scheduler {scheduler!r} within {SCHEDULER_TIMEOUT_S} s "
                         f"({exc}); expected an address such as tcp://HOST:8786 of a running scheduler") from None
    with client:
        futures = [client.submit(_evaluate, evaluate, i, p, pure=False) for i, p in todo]
        for future in as_completed(futures):
            yield future.result()
