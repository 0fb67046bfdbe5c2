"""The experiment contract, the runner, and the report.

An experiment is a :class:`Experiment` registered in ``EXPERIMENTS`` under its
two-digit number.  It has a ``compute(run)`` step, which does the work through
the library and caches every result in the run folder, and a ``plot(run)`` step,
which reads only those cached results, writes the figures and returns a
:class:`Section` of ``results/REPORT.md``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import InputError
from ..registry import Registry
from ..runs import Run, merge_config, write_text
from ..runs.run import folder_lock
from ..runs.config import SHARED_KEYS, Key, check_config
from ..validation import check_int, resolve_device

EXPERIMENTS: Registry = Registry("experiment")

#: keys every experiment config has, with their defaults
COMMON_DEFAULTS = {"seed": 0, "source": "default"}


@dataclass
class Section:
    """One experiment's part of the report: markdown text and (figure path, caption) pairs."""

    title: str
    text: str = ""
    figures: list = field(default_factory=list)


@dataclass(frozen=True)
class Experiment:
    number: str
    name: str
    title: str
    description: str
    defaults: dict
    quick: dict
    compute: Callable[[Run], None]
    plot: Callable[[Run], Section]
    #: for an experiment that defines a standard learner: config, seed -> its ``BankSpec``
    bank: Callable[[dict, int], object] | None = None
    #: declarations (type, range, units, meaning) of the config keys that are not in ``SHARED_KEYS``,
    #: or that mean something else here
    keys: dict[str, Key] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return f"{self.number}_{self.name}"

    @property
    def specs(self) -> dict[str, Key]:
        """The declaration of each config key that has one: the experiment's own, else the shared one."""
        names = {**COMMON_DEFAULTS, **self.defaults}
        found = {name: self.keys.get(name) or SHARED_KEYS.get(name) for name in names}
        return {name: key for name, key in found.items() if key is not None}

    def config(self, *, quick: bool = False, overrides: dict | None = None) -> dict:
        """Defaults, then the quick settings (``quick``), then ``overrides``; every value is checked
        against its declared type and range before anything runs (one-line :class:`InputError`)."""
        defaults, specs = {**COMMON_DEFAULTS, **self.defaults}, self.specs
        where = f"experiment {self.number} config"
        config = merge_config(defaults, self.quick if quick else {}, where=f"experiment {self.number} quick",
                              keys=specs)
        config = merge_config(config, overrides or {}, where=where, keys=specs)
        return check_config(config, specs, where=where)


def register(experiment: Experiment) -> Experiment:
    EXPERIMENTS.register(experiment.number, experiment)
    return experiment


def get_experiment(key: str) -> Experiment:
    """An experiment by number ("1", "01") or by slug ("01_sparse_coding") or name."""
    key = str(key)
    if key.isdigit():
        key = f"{int(key):02d}"
    for number in EXPERIMENTS.names():
        exp = EXPERIMENTS.get(number)
        if key in (exp.number, exp.slug, exp.name):
            return exp
    return EXPERIMENTS.get(key)  # raises with the list of known numbers


def run_experiment(key, *, quick: bool = False, overrides: dict | None = None, device: str = "cpu",
                   seed: int | None = None, results_dir="results", progress: bool = False,
                   make_figures: bool = True) -> Run:
    """Compute one experiment (reusing cached steps), then draw its figures."""
    exp = get_experiment(key)
    overrides = dict(overrides or {})
    if seed is not None:
        overrides["seed"] = check_int("seed", seed, minimum=0)
    config = exp.config(quick=quick, overrides=overrides)
    config["quick"] = bool(quick)
    resolve_device(device)
    run = Run(Path(results_dir) / exp.slug, config, device=device, progress=progress)
    with run.lock():   # another run into this folder waits, so its files all come from one run
        run.start()
        started = time.perf_counter()
        exp.compute(run)
        seconds = time.perf_counter() - started
        run.finish(compute_seconds=round(seconds, 2), total_compute_seconds=round(seconds + run.cached_seconds, 2))
        if make_figures:
            draw(exp, run)
    if make_figures:
        write_report(results_dir)
    return run


def completed_runs(results_dir="results") -> list[tuple[Experiment, Run]]:
    """The registered experiments that have a run folder with a config, in number order."""
    out = []
    for number in EXPERIMENTS.names():
        exp = EXPERIMENTS.get(number)
        folder = Path(results_dir) / exp.slug
        if (folder / "config.json").exists():
            out.append((exp, Run.open(folder)))
    return out


def draw(exp: Experiment, run: Run) -> Section:
    """Draw one experiment's figures from its cached results and keep its report section."""
    section = exp.plot(run)
    figures = [[Path(p).resolve().relative_to(run.dir.resolve()).as_posix(), c] for p, c in section.figures]
    run.save_json("section.json", {"title": section.title, "text": section.text, "figures": figures})
    run.record_artifacts("section.json")
    return section


def regenerate_figures(keys=None, *, results_dir="results") -> Path:
    """Redraw figures from cached results only (all experiments, or those in ``keys``) and
    rewrite ``results/REPORT.md`` from every run's report section."""
    runs = completed_runs(results_dir)
    if not runs:
        raise InputError(f"no cached results in {results_dir}: nothing to redraw; run `effcode run NN` (or "
                         "`effcode run all --quick`) first, or give --results the folder a run wrote")
    wanted = {get_experiment(k).number for k in keys} if keys else {exp.number for exp, _ in runs}
    missing = wanted - {exp.number for exp, _ in runs}
    if missing:
        raise InputError(f"no cached results for experiment(s) {', '.join(sorted(missing))} in "
                         f"{results_dir}; run `effcode run NN` first")
    for exp, run in runs:
        if exp.number in wanted or not run.path("section.json").exists():
            with run.lock():
                draw(exp, run)
    return write_report(results_dir)


def _compute_time(prov: dict) -> str:
    """Compute time of a run: all its steps, those loaded from the cache included."""
    total, last = prov.get("total_compute_seconds"), prov.get("compute_seconds", "?")
    if total is None or total == last:
        return f"compute time {last} s"
    return f"compute time {total:.0f} s ({last} s in the invocation that wrote it, the rest from cached steps)"


def _threads(hardware: dict) -> str:
    threads = hardware.get("torch_threads")
    return "" if threads is None else f", {threads} torch thread{'s' if threads != 1 else ''}"


def _run_header(exp: Experiment, run: Run) -> str:
    prov = run.load_json("provenance.json") if run.path("provenance.json").exists() else {}
    hw = prov.get("hardware", {})
    gpu = f", GPU {hw['gpu']}" if hw.get("gpu") else ""
    mode = "quick" if run.config.get("quick") else "full"
    return (f"*Settings: {mode}; seed {run.seed}; command `{prov.get('command', '?')}`; "
            f"{hw.get('cpu', '?')} ({hw.get('cpu_count', '?')} cores{_threads(hw)}){gpu}; device {prov.get('device', '?')}; "
            f"{_compute_time(prov)}; effcode {prov.get('effcode_version', '?')} "
            f"at commit {str(prov.get('git_commit'))[:12]}.*")


def write_report(results_dir="results") -> Path:
    """Assemble ``REPORT.md`` from the ``section.json`` of every completed run.

    Figure links are relative to the report's own folder, so the report reads the same whichever
    directory effcode ran from, and after the results folder is moved."""
    results_dir = Path(results_dir)
    lines = ["# effcode results", "",
             "Generated by `effcode figures` from the cached results in this folder; every number below is "
             "read from those files. Each section states the settings, command, hardware and time of its run.", ""]
    from .glance import glance_from_results

    summary = glance_from_results(results_dir)
    if summary is not None:
        lines += ["## Summary: the learners against V1", "", summary, ""]
    for exp, run in completed_runs(results_dir):
        if not run.path("section.json").exists():
            continue
        section = run.load_json("section.json")
        lines += [f"## {exp.number}. {section['title']}", "", _run_header(exp, run), "", exp.description, ""]
        if section["text"]:
            lines += [section["text"].strip(), ""]
        for path, caption in section["figures"]:   # relative to the run's folder (draw)
            rel = (Path(run.dir.name) / path).as_posix()
            lines += [f"![{caption}]({rel})", "", f"*{caption}*", ""]
    out = results_dir / "REPORT.md"
    with folder_lock(results_dir):
        write_text(out, "\n".join(lines))
        _update_readme(results_dir)
    return out


def _update_readme(results_dir: Path) -> None:
    """Rewrite the "Results at a glance" block of the README beside the committed results folder
    (only the folder named ``results`` next to a README with the block's markers: quick runs and
    other folders never touch it)."""
    from .glance import glance_from_results, update_readme

    readme = results_dir.resolve().parent / "README.md"
    if results_dir.resolve().name != "results" or not readme.exists():
        return
    block = glance_from_results(results_dir)
    if block is not None:
        update_readme(readme, block)
