"""A run: one experiment's folder ``results/NN_name/`` and its cached steps.

Layout::

    results/NN_name/
        config.json        the config of the latest run
        provenance.json    code version, packages, hardware, seed, image ids and hashes, timing,
                           and every step: the code hash, version and commit that computed it,
                           and whether this run took it from the cache
        checksums.json     the manifest: sha256 of every result file (artifacts, figures), written last
        cache/STEP-KEY.npz one file per computed step: its arrays and a record of how it was computed
        cache/STEP-KEY.checkpoint.pt  training state of a step in flight (removed once it finishes)
        points/*.json      sweep points (:mod:`effcode.runs.sweep`)
        *.npz / *.json / *.csv  artifacts and metrics of the latest run
        figures/*.png|pdf  figures regenerated from the above

Every file is written atomically.  A step's KEY hashes its name, its parameters and the code it
depends on (:func:`~effcode.runs.codehash.code_hash`), so a step is loaded from ``cache/`` only
when the same code computed it with the same parameters; an interrupted run loses only the step
in flight, and re-running with another parameter (or changed code) recomputes only what depends
on it.  Cached files carry checksums (:mod:`effcode.storage.integrity`): a corrupt one is named in a
one-line warning and recomputed.  The compute time a run reports counts the original seconds of
the steps (and sweep points) it loaded from the cache, so it does not shrink on a re-run.

Results are published together (:mod:`effcode.storage.publish`): a run writes its artifacts, figures,
config and provenance into ``.staging/`` and moves them in at :meth:`Run.finish`, the manifest last,
so after any interruption the folder holds either the previous complete run or the new one.  A run
with settings other than those of the run a folder holds is refused unless forced
(:func:`check_settings`).  One run at a time writes a run folder: :meth:`Run.lock` holds a lock file
in it, and a second run of the same experiment into the same folder waits for the first to finish.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, Mapping

import numpy as np

from ..errors import CorruptFileError, InputError, MissingEntryError
from ..storage.atomic import json_default, read_csv, read_json, read_npz, write_csv, write_json, write_npz
from .codehash import code_hash
from .config import config_hash
from ..storage.integrity import read_checked_npz, verify_artifacts, warn_corrupt, write_checked_npz
from ..storage.provenance import git_commit, provenance
from ..storage.publish import JOURNAL, begin_staging, publish, recover, result_files


class Run:
    """Read and write the files of one run directory.

    Parameters
    ----------
    directory : str or os.PathLike
        The run directory.
    config : mapping
        The run's configuration.
    device : str, default "cpu"
        The device the run computes on.
    progress : bool, default False
        Whether to draw progress bars.
    """

    def __init__(self, directory, config: Mapping, *, device: str = "cpu", progress: bool = False):
        self.dir = Path(directory)
        self.config = dict(config)
        self.device = str(device)
        self.cached_seconds = 0.0   # original compute seconds of the steps loaded from the cache
        self.progress = progress
        self.steps: list[dict] = []  # one record per step and sweep, in the order this run met them
        self._staging: Path | None = None   # where results are written until they are published

    @classmethod
    def open(cls, directory) -> "Run":
        """Open an existing run directory (for plotting from cached results), after checking every
        artifact against the checksums its run recorded."""
        directory = Path(directory)
        if (directory / JOURNAL).exists():   # a publication was interrupted: finish it before reading
            with folder_lock(directory):
                recover(directory)
        verify_artifacts(directory)
        config = read_json(directory / "config.json")
        prov = read_json(directory / "provenance.json") if (directory / "provenance.json").exists() else {}
        return cls(directory, config, device=prov.get("device", "cpu"))

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold this run folder's lock: other runs into the same folder wait until it is released,
        so config, artifacts and figures always come from one run."""
        with folder_lock(self.dir):
            yield

    @property
    def seed(self) -> int:
        return int(self.config.get("seed", 0))

    @property
    def root(self) -> Path:
        """Where this run writes its results now: the staging folder between :meth:`start` and
        :meth:`finish` (or inside :meth:`redraw`), else the run folder."""
        return self._staging or self.dir

    def path(self, name: str) -> Path:
        return self.root / name

    def start(self) -> None:
        """Begin a run: results go to a fresh staging folder until :meth:`finish` publishes them (the
        published folder keeps the previous run until then); the provenance record is kept in memory."""
        recover(self.dir)
        self._staging = begin_staging(self.dir)
        self._provenance = provenance(seed=self.seed, device=self.device)
        self._provenance["started"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")

    def record_images(self, images) -> None:
        """Add the ids and sha256 hashes of the input images to the provenance.

        Parameters
        ----------
        images : sequence of Image
            The input images.
        """
        self._provenance["images"] = [{"id": im.id, "sha256": im.sha256} for im in images]

    def record_image_subset(self, seed: int, images) -> None:
        """Add to the provenance's ``image_subsets`` which images a bank of ``seed`` learned from (once per
        distinct seed and subset; a run that was not :meth:`start`-ed keeps no provenance).

        Parameters
        ----------
        seed : int
            The seed of the bank.
        images : sequence of Image
            The images it learned from.
        """
        if not hasattr(self, "_provenance"):
            return
        record = {"seed": int(seed), "images": [im.id for im in images]}
        subsets = self._provenance.setdefault("image_subsets", [])
        if record not in subsets:
            subsets.append(record)

    def finish(self, **fields) -> None:
        """Write ``config.json`` and ``provenance.json`` (with the record of every step) beside the staged
        results, and publish them all together: the files of the previous run that this one did not
        write (figures of a run without figures, say) are removed, and the manifest is written last.

        Parameters
        ----------
        **fields
            Further entries of the provenance.
        """
        self._provenance.update(fields, steps=self.steps)
        write_json(self.path("provenance.json"), self._provenance)
        write_json(self.path("config.json"), self.config)
        publish(self.dir)
        self._staging = None

    @contextlib.contextmanager
    def redraw(self) -> Iterator[None]:
        """Write new figures and report section of a published run (inside a run: nothing to do, they go
        to its staging folder): they are staged beside the run's other results, then all are published."""
        if self._staging is not None:
            yield
            return
        self._staging = begin_staging(self.dir, carry=[name for name in result_files(self.dir)
                                                       if not name.startswith("figures/") and name != "section.json"])
        try:
            yield
            publish(self.dir)
        finally:
            self._staging = None

    @functools.cached_property
    def _computed_by(self) -> dict:
        """What computes this run's steps: effcode's version and commit."""
        from .. import __version__

        return {"effcode_version": __version__, "git_commit": git_commit()}

    # -- cached steps -------------------------------------------------------------------------
    def step(self, name: str, params: Mapping, compute: Callable[..., Mapping[str, np.ndarray]], *,
             resumable: bool = False) -> dict:
        """Return ``compute()``'s arrays, loading them from ``cache/`` when the same code computed
        them with the same ``params`` before.

        ``params`` must hold everything the result depends on (sizes, seed, objective...); the
        code is covered by :func:`~effcode.runs.codehash.code_hash` of ``compute``'s module.
        A step computed by another experiment of the same results folder with the same name,
        parameters and code is copied from there rather than recomputed; while a step is computed
        it is locked (``RESULTS/.steps/STEP-KEY.lock``), so a run in another process that needs the
        same step waits for it and copies the result instead of computing it a second time.  A
        cached file that is corrupt or does not match its checksum is named in a warning and
        recomputed.  With
        ``resumable``, ``compute`` is called with a checkpoint path in ``cache/`` (unique to the
        step, its parameters and code) to save its progress to, so a killed run continues where
        it stopped; the checkpoint is removed once the result is written.

        Parameters
        ----------
        name : str
            The step's name, unique within the run.
        params : mapping
            Everything the result depends on.
        compute : callable
            Computes the step's arrays, by name.
        resumable : bool, default False
            Whether ``compute`` takes a checkpoint path to save its progress to.
        """
        code = code_hash(compute)
        key = config_hash({"step": name, "params": dict(params), "code": code})[:16]
        path = self.dir / "cache" / f"{name}-{key}.npz"
        arrays = self._from_cache(name, path)
        if arrays is not None:
            return arrays
        with file_lock(self.dir.parent / ".steps" / f"{path.stem}.lock",
                       waiting=f"another run computing step {name} of {self.dir.parent}"):
            arrays = self._from_cache(name, path)   # computed by the run this one waited for
            return arrays if arrays is not None else self._compute_step(name, path, code, compute, resumable)

    def _from_cache(self, name: str, path: Path) -> dict | None:
        """The arrays of step ``name`` cached at ``path`` or under the same file name in another experiment's
        ``cache/`` (then copied here), recorded as taken from the cache; None when neither has it."""
        for source in [path, *sorted(self.dir.parent.glob(f"*/cache/{path.name}"))]:  # here, or another experiment
            cached = _read_cached(source, key=path.stem)
            if cached is not None:
                arrays, record = cached
                if source != path:
                    write_checked_npz(path, record, **arrays)
                self.cached_seconds += record.get("seconds", 0.0)
                self.steps.append({"step": name, "file": f"cache/{path.name}", "from_cache": True,
                                   **{k: record.get(k) for k in ("code_hash", "effcode_version", "git_commit",
                                                                 "computed_at", "seconds")}})
                return arrays
        return None

    def _compute_step(self, name: str, path: Path, code: str, compute, resumable: bool) -> dict:
        """Compute step ``name`` and cache its arrays at ``path`` with a record of how they were computed."""
        checkpoint = path.with_suffix(".checkpoint.pt")
        started = time.perf_counter()
        result = compute(checkpoint) if resumable else compute()
        arrays = {k: np.asarray(v) for k, v in dict(result).items()}
        record = {"key": path.stem, "code_hash": code, **self._computed_by, "computed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "seconds": round(time.perf_counter() - started, 3)}
        write_checked_npz(path, record, **arrays)
        checkpoint.unlink(missing_ok=True)
        self.steps.append({"step": name, "file": f"cache/{path.name}", "from_cache": False, **record})
        return arrays

    def sweep(self, evaluate, points, **options) -> list[dict]:
        """:func:`effcode.runs.run_sweep` in this run's folder (points saved under ``points/``);
        the provenance records, per sweep, how many points came from the cache and what computed
        each.

        Parameters
        ----------
        evaluate : callable
            A module-level function of one point.
        points : sequence of mapping
            The points to evaluate.
        **options
            Further keyword arguments of :func:`effcode.runs.run_sweep`.
        """
        from .sweep import run_sweep

        records: list[dict] = []
        rows = run_sweep(evaluate, points, self.dir, records=records, **options)
        self.cached_seconds += sum(r.get("seconds", 0.0) for r in records if r["from_cache"])
        self.steps.append({"sweep": f"{evaluate.__module__}.{evaluate.__name__}", "points": records,
                           "from_cache": sum(r["from_cache"] for r in records), "computed": sum(
                               not r["from_cache"] for r in records)})
        return rows

    # -- artifacts and metrics ----------------------------------------------------------------
    def save_npz(self, name: str, **arrays) -> Path:
        return write_npz(self.path(name), **arrays)

    def load_npz(self, name: str) -> dict:
        return read_npz(self.path(name))

    def save_json(self, name: str, obj) -> Path:
        return write_json(self.path(name), obj)

    def load_json(self, name: str):
        """The JSON file ``name``; an object whose reader asks for an entry it lacks (a file of an older
        effcode) raises :class:`~effcode.errors.MissingEntryError` naming the entry and the experiment to rerun.

        Parameters
        ----------
        name : str
            The file's name within the run directory.
        """
        data = read_json(self.path(name))
        return RunRecord(self.dir / name, data) if isinstance(data, dict) else data

    def save_csv(self, name: str, table) -> Path:
        return write_csv(self.path(name), table)

    def load_csv(self, name: str) -> dict:
        return read_csv(self.path(name))

    def figure_path(self, name: str) -> Path:
        """Where a figure goes, without suffix (plots write ``.png`` and ``.pdf``).

        Parameters
        ----------
        name : str
            The figure's name.
        """
        return self.path(f"figures/{name}")


class RunRecord(dict):
    """A JSON object of the run folder file ``path``; a missing entry raises
    :class:`~effcode.errors.MissingEntryError`."""

    def __init__(self, path: Path, data: dict):
        super().__init__(data)
        self.path = path

    def __missing__(self, key):
        number = self.path.parent.name.partition("_")[0]
        raise MissingEntryError(f"{self.path} has no entry {key!r} (written by an older effcode?); rerun the "
                                f"experiment: effcode run {number}")


def _read_cached(path: Path, *, key: str) -> tuple[dict, dict] | None:
    """The arrays and record of the cached step ``key`` (its file's stem), or None when absent or unusable
    (corrupt, or holding another step's result: then warned and removed)."""
    if not path.exists():
        return None
    try:
        return read_checked_npz(path, key=key)
    except CorruptFileError as error:
        warn_corrupt(error, "recomputing it")
        path.unlink(missing_ok=True)
        return None


@contextlib.contextmanager
def file_lock(path, *, waiting: str) -> Iterator[None]:
    """Hold the file lock ``path`` (across processes); when another holds it, say on stderr that this
    run is waiting for ``waiting`` to finish, and wait."""
    from filelock import FileLock, Timeout

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"effcode: waiting for {waiting} to finish", file=sys.stderr, flush=True)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def folder_lock(folder):
    """Hold ``folder/.lock``: one run at a time writes ``folder``."""
    return file_lock(Path(folder) / ".lock", waiting=f"another run writing {folder}")


def check_settings(folder, config: Mapping, *, force: bool = False, record: str = "config.json") -> None:
    """Refuse, in one line, to write a run of ``config`` into ``folder`` when the folder holds a run whose
    settings (in its file ``record``) differ: a key both have, with another value; unless ``force``.  So a
    rerun with other settings never replaces the previous results silently.  A folder with no run, or
    whose ``record`` is unreadable (a broken run, which the new one repairs), is written freely."""
    path = Path(folder) / record
    if force or not path.exists():
        return
    try:
        held = read_json(path)
    except CorruptFileError:
        return
    new = json.loads(json.dumps(dict(config), default=json_default))
    changed = [key for key in new if isinstance(held, dict) and key in held and held[key] != new[key]]
    if changed:
        settings = "; ".join(f"{key}={json.dumps(held[key])} there, {json.dumps(new[key])} now" for key in changed)
        raise InputError(f"{folder} holds a run with other settings ({settings}); add --force to replace it, "
                         "or give another --results folder")
