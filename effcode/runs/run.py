"""A run: one experiment's folder ``results/NN_name/`` and its cached steps.

Layout::

    results/NN_name/
        config.json        the config of the latest run
        provenance.json    code version, packages, hardware, seed, image ids and hashes, timing
        cache/STEP-HASH.npz  one file per computed step, keyed by the step's parameters
        cache/STEP-HASH.seconds.json  the seconds that step took to compute
        *.npz / *.json / *.csv  artifacts and metrics of the latest run
        figures/*.png|pdf  figures regenerated from the above

Every file is written atomically.  A step whose parameters did not change is
loaded from ``cache/`` instead of being recomputed, so an interrupted run loses
only the step in flight, and re-running with another parameter recomputes only
what depends on it.  The compute time a run reports counts the original seconds of the
steps (and sweep points) it loaded from the cache, so it does not shrink on a re-run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from .atomic import read_csv, read_json, read_npz, write_csv, write_json, write_npz
from .config import config_hash
from .provenance import provenance


class Run:
    """Read and write the files of one run directory."""

    def __init__(self, directory, config: Mapping, *, device: str = "cpu", progress: bool = False):
        self.dir = Path(directory)
        self.config = dict(config)
        self.device = str(device)
        self.cached_seconds = 0.0   # original compute seconds of the steps loaded from the cache
        self.progress = progress

    @classmethod
    def open(cls, directory) -> "Run":
        """Open an existing run directory (for plotting from cached results)."""
        directory = Path(directory)
        config = read_json(directory / "config.json")
        prov = read_json(directory / "provenance.json") if (directory / "provenance.json").exists() else {}
        return cls(directory, config, device=prov.get("device", "cpu"))

    @property
    def seed(self) -> int:
        return int(self.config.get("seed", 0))

    def path(self, name: str) -> Path:
        return self.dir / name

    def start(self) -> None:
        """Begin a run: the provenance record is kept in memory until :meth:`finish`."""
        self._provenance = provenance(seed=self.seed, device=self.device)
        self._provenance["started"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")

    def record_images(self, images) -> None:
        """Add the ids and sha256 hashes of the input images to the provenance."""
        self._provenance["images"] = [{"id": im.id, "sha256": im.sha256} for im in images]

    def finish(self, **fields) -> None:
        """Write ``config.json`` and ``provenance.json``, only once the computation succeeded,
        so that a failed run leaves the previous results of this folder consistent."""
        self._provenance.update(fields)
        write_json(self.path("provenance.json"), self._provenance)
        write_json(self.path("config.json"), self.config)

    # -- cached steps -------------------------------------------------------------------------
    def step(self, name: str, params: Mapping, compute: Callable[..., Mapping[str, np.ndarray]], *,
             resumable: bool = False) -> dict:
        """Return ``compute()``'s arrays, loading them from ``cache/`` when ``params`` were seen before.

        ``params`` must hold everything the result depends on (sizes, seed, objective...).
        A step computed by another experiment of the same results folder with the same name
        and parameters is copied from there rather than recomputed.  With ``resumable``,
        ``compute`` is called with a checkpoint path in ``cache/`` (unique to the step and its
        parameters) to save its progress to, so a killed run continues where it stopped; the
        checkpoint is removed once the result is written.
        """
        key = config_hash({"step": name, "params": dict(params)})[:16]
        path = self.path(f"cache/{name}-{key}.npz")
        seconds_path = self.path(f"cache/{name}-{key}.seconds.json")
        for source in [path, *sorted(self.dir.parent.glob(f"*/cache/{path.name}"))]:  # here, or another experiment
            if source.exists():
                arrays = read_npz(source)
                record = source.with_name(seconds_path.name)
                seconds = read_json(record)["seconds"] if record.exists() else 0.0
                if source != path:
                    write_npz(path, **arrays)
                    write_json(seconds_path, {"seconds": seconds})
                self.cached_seconds += seconds
                return arrays
        checkpoint = self.path(f"cache/{name}-{key}.checkpoint.pt")
        started = time.perf_counter()
        result = compute(checkpoint) if resumable else compute()
        arrays = {k: np.asarray(v) for k, v in dict(result).items()}
        write_npz(path, **arrays)
        write_json(seconds_path, {"seconds": round(time.perf_counter() - started, 3)})
        checkpoint.unlink(missing_ok=True)
        return arrays

    def sweep(self, evaluate, points, **options) -> list[dict]:
        """:func:`effcode.runs.run_sweep` in this run's folder (points saved under ``points/``)."""
        from .sweep import cached_point_seconds, run_sweep

        self.cached_seconds += cached_point_seconds(self.dir, points)
        return run_sweep(evaluate, points, self.dir, **options)

    # -- artifacts and metrics ----------------------------------------------------------------
    def save_npz(self, name: str, **arrays) -> Path:
        return write_npz(self.path(name), **arrays)

    def load_npz(self, name: str) -> dict:
        return read_npz(self.path(name))

    def save_json(self, name: str, obj) -> Path:
        return write_json(self.path(name), obj)

    def load_json(self, name: str):
        return read_json(self.path(name))

    def save_csv(self, name: str, table) -> Path:
        return write_csv(self.path(name), table)

    def load_csv(self, name: str) -> dict:
        return read_csv(self.path(name))

    def figure_path(self, name: str) -> Path:
        """Where a figure goes, without suffix (plots write ``.png`` and ``.pdf``)."""
        return self.path(f"figures/{name}")
