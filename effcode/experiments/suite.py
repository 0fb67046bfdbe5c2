"""Running experiments and writing the report: one experiment or several (in worker processes, the longest
first), the redrawing of figures from cached results, ``REPORT.md`` and the README's glance.

This layer sits above the experiment contract (:mod:`effcode.experiments.base`) and the glance
(:mod:`effcode.experiments.glance`, which reads the experiments' own answers), so that neither imports it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterator

from joblib import Parallel, delayed, parallel_config

from ..errors import CorruptFileError, InputError
from ..progress import progress_bar
from ..runs import Run, read_json, write_json, write_text
from ..runs.run import check_settings, folder_lock
from ..runs.workers import stop_with_parent
from ..validation import check_int, resolve_device
from .base import RUN_RECORD, Experiment, completed_runs, draw, get_experiment
from .degenerate import clear_warnings
from .glance import glance_from_results, update_readme


def run_experiment(key, *, quick: bool = False, overrides: dict | None = None, device: str = "cpu",
                   seed: int | None = None, results_dir="results", progress: bool = False,
                   make_figures: bool = True, update_report: bool = True, force: bool = False) -> Run:
    """Compute one experiment (reusing cached steps), then draw its figures and, with ``update_report``,
    rewrite ``REPORT.md`` (a parallel run of several experiments writes it once, when all have finished).

    Results, figures, config and provenance are published together once all are written (a run that
    fails or is interrupted leaves the folder's previous run whole). A folder holding a run with other
    settings is refused in one line unless ``force`` (:func:`~effcode.runs.run.check_settings`)."""
    exp = get_experiment(key)
    overrides = dict(overrides or {})
    if seed is not None:
        overrides["seed"] = check_int("seed", seed, minimum=0)
    config = exp.config(quick=quick, overrides=overrides)
    config["quick"] = bool(quick)
    resolve_device(device)
    run = Run(Path(results_dir) / exp.slug, config, device=device, progress=progress)
    with run.lock():   # another run into this folder waits, so its files all come from one run
        check_settings(run.dir, config, force=force)
        run.start()
        clear_warnings(run)
        started = time.perf_counter()
        exp.compute(run)
        seconds = time.perf_counter() - started
        if make_figures:
            draw(exp, run)
        run.finish(compute_seconds=round(seconds, 2), total_compute_seconds=round(seconds + run.cached_seconds, 2))
    if make_figures and update_report:
        write_report(results_dir)
    return run


def _timed_run(key, options: dict, parent: int | None = None) -> tuple[str, Run, float, float]:
    """:func:`run_experiment` of ``key`` with ``options``, its wall-clock seconds and the CPU seconds of the
    process that ran it (all its threads; not those of worker processes it started).  In a worker process
    started by the process ``parent``, the worker stops when that process dies
    (:func:`~effcode.runs.workers.stop_with_parent`)."""
    stop_with_parent(parent)
    started, cpu = time.perf_counter(), time.process_time()
    run = run_experiment(key, **options)
    return get_experiment(key).number, run, time.perf_counter() - started, time.process_time() - cpu


def _finished_runs(jobs: list, n_jobs: int) -> Iterator[tuple[str, Run, float, float]]:
    """:func:`_timed_run` of each ``(key, options)`` in ``jobs``, here in order (``n_jobs`` 1) or in
    ``n_jobs`` worker processes with one thread each, yielded as each finishes."""
    if n_jobs == 1:
        yield from (_timed_run(key, options) for key, options in jobs)
        return
    with parallel_config(backend="loky", inner_max_num_threads=1):
        yield from Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
            delayed(_timed_run)(key, {**options, "progress": False}, os.getpid()) for key, options in jobs)


def longest_first(numbers: list[str], results_dir, cost_folders=()) -> list[str]:
    """``numbers`` ordered for parallel workers: by the total compute seconds their last run recorded,
    the longest first, and those with no recorded cost first (in the order given).

    The record is looked up in ``results_dir``, then in each of ``cost_folders`` (e.g. the full run's
    folder for a quick run with no records yet: the order of the experiments' costs is much the same).
    Handing out the longest jobs first (Graham's LPT rule) keeps one worker from starting a long
    experiment after the others have run out of work: it finishes within 4/3 of the best packing."""
    def recorded(number: str) -> float | None:
        for folder in (results_dir, *cost_folders):
            path = Path(folder) / get_experiment(number).slug / "provenance.json"
            try:
                return float(read_json(path)["total_compute_seconds"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return None

    costs = {number: recorded(number) for number in numbers}
    unknown = [n for n in numbers if costs[n] is None]
    known = {n: cost for n, cost in costs.items() if cost is not None}
    return unknown + sorted(known, key=lambda n: -known[n])


def run_experiments(keys, *, n_jobs: int = 1, overrides: dict | None = None, make_figures: bool = True,
                    results_dir="results", cost_folders=(), **options) -> Iterator[tuple[str, Run, float]]:
    """Run the experiments ``keys`` and yield ``(number, run, wall-clock seconds)`` as each finishes.

    With ``n_jobs`` 1 they run here, one after the other, in the order given. Otherwise they are spread
    over ``n_jobs`` worker processes (joblib; -1: one per core), each with one torch (and BLAS, OpenMP)
    thread, handed out longest first (:func:`longest_first`, with the costs recorded in ``results_dir``
    or ``cost_folders``); a sweep inside an experiment then runs its
    points in that experiment's worker, one after the other; every experiment derives its random draws from its own config, so the results are those of a
    serial run with one torch thread. Experiments that need the same cached step compute it once: the
    step is locked while it is computed (:meth:`~effcode.runs.Run.step`). ``overrides`` maps an
    experiment's number to its config overrides; ``options`` go to :func:`run_experiment`.

    Once all have finished, ``RESULTS/run.json`` records the invocation: the experiments, ``n_jobs``,
    its wall-clock seconds, the compute seconds of its runs (cached steps counted at their original
    seconds), and each experiment's wall-clock and CPU seconds (``timings``); with ``make_figures``,
    ``REPORT.md`` is then rewritten (serially also after each experiment) and its header states both.
    """
    overrides = overrides or {}
    numbers = [get_experiment(key).number for key in keys]
    if n_jobs != 1:
        numbers = longest_first(numbers, results_dir, cost_folders)
    jobs = [(number, {**options, "overrides": overrides.get(number), "make_figures": make_figures,
                      "results_dir": results_dir, "update_report": n_jobs == 1}) for number in numbers]
    started, began, compute = time.strftime("%Y-%m-%dT%H:%M:%S%z"), time.perf_counter(), 0.0
    timings = {}
    for number, run, seconds, cpu in _finished_runs(jobs, n_jobs):
        compute += run.load_json("provenance.json").get("total_compute_seconds", 0.0)
        timings[number] = {"wall_seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2)}
        yield number, run, seconds
    write_json(Path(results_dir) / RUN_RECORD, {"experiments": numbers, "n_jobs": n_jobs, "started": started,
                                                "wall_seconds": round(time.perf_counter() - began, 2),
                                                "compute_seconds": round(compute, 2),
                                                "timings": dict(sorted(timings.items()))})
    if make_figures:
        write_report(results_dir)


def regenerate_figures(keys=None, *, results_dir="results", progress: bool | None = None) -> Path:
    """Redraw figures from cached results only (all experiments, or those in ``keys``) and
    rewrite ``results/REPORT.md`` from every run's report section; ``progress``: a bar over the
    experiments drawn, on a terminal only (None: whenever on a terminal; :mod:`effcode.progress`).

    A run folder whose files do not match its manifest is not drawn: the others are, the report marks
    its section as broken, and then a one-line :class:`~effcode.errors.CorruptFileError` names it (when
    it is one of ``keys``, or ``keys`` is None)."""
    broken: list = []
    runs = completed_runs(results_dir, broken=broken)
    if not runs and not broken:
        raise InputError(f"no cached results in {results_dir}: nothing to redraw; run `effcode run NN` (or "
                         "`effcode run all --quick`) first, or give --results the folder a run wrote")
    found = {exp.number for exp, _ in runs} | {exp.number for exp, _ in broken}
    wanted = {get_experiment(k).number for k in keys} if keys else found
    missing = wanted - found
    if missing:
        raise InputError(f"no cached results for experiment(s) {', '.join(sorted(missing))} in "
                         f"{results_dir}; run `effcode run NN` first")
    redrawn = [(exp, run) for exp, run in runs if exp.number in wanted or not run.path("section.json").exists()]
    for exp, run in progress_bar(redrawn, progress=progress, desc="figures", unit="experiment"):
        try:
            with run.lock():
                draw(exp, run)
        except CorruptFileError as error:
            broken.append((exp, error))
    report = write_report(results_dir)
    refused = [(exp, error) for exp, error in broken if exp.number in wanted]
    if refused:
        exp, error = refused[0]
        others = f" (and {len(refused) - 1} other broken folder(s))" if len(refused) > 1 else ""
        raise CorruptFileError(f"{error}{others}; {report} marks the section as broken, the others were redrawn")
    return report


def _compute_time(prov: dict) -> str:
    """Compute time of a run: all its steps, those loaded from the cache included."""
    total, last = prov.get("total_compute_seconds"), prov.get("compute_seconds", "?")
    if total is None or total == last:
        return f"compute time {last} s"
    return f"compute time {total:.0f} s ({last} s in the invocation that wrote it, the rest from cached steps)"


def _duration(seconds: float) -> str:
    """``3725`` -> ``1 h 02 min 05 s``; ``65.4`` -> ``1 min 05 s``; ``4.2`` -> ``4.2 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


def _time_summary(results_dir: Path, runs: list) -> str:
    """The report's time line: the compute time summed over its sections, and the wall-clock of the last
    invocation that ran several experiments (``RUN_RECORD``), with how many processes it used."""
    total = sum(run.load_json("provenance.json").get("total_compute_seconds", 0.0) for _, run in runs
                if run.path("provenance.json").exists())
    text = f"**Time.** Compute time of the {len(runs)} section(s) below: {_duration(total)} (summed over their runs)."
    record_path = results_dir / RUN_RECORD
    if record_path.exists():
        record = read_json(record_path)
        workers = {1: "one process", -1: "a worker process per core"}.get(record["n_jobs"],
                                                                        f"{record['n_jobs']} worker processes")
        text += (f" The last `effcode run` of experiments {', '.join(record['experiments'])} (started "
                 f"{record['started']}, {workers}) took {_duration(record['wall_seconds'])} wall-clock for "
                 f"{_duration(record['compute_seconds'])} of compute.")
    return text


def _threads(hardware: dict) -> str:
    threads = hardware.get("torch_threads")
    return "" if threads is None else f", {threads} torch thread{'s' if threads != 1 else ''}"


def _images(run: Run, prov: dict) -> str:
    """Which images the run read, from its config's ``source`` and its provenance: ``; images: ...`` or ''."""
    images = prov.get("images") or []
    source = run.config.get("source")
    if not images or not isinstance(source, str):
        return ""
    count = f"{len(images)} image{'s' if len(images) != 1 else ''}"
    if source == "default":
        return f"; images: the default set ({count} bundled with scikit-image and scikit-learn)"
    if Path(source).is_dir():
        return f"; images: the folder `{os.path.relpath(Path(source).resolve(), run.dir.parent.resolve())}` ({count})"
    return f"; images: `{source}` ({count})"


def _run_header(exp: Experiment, run: Run) -> str:
    prov = run.load_json("provenance.json") if run.path("provenance.json").exists() else {}
    hw = prov.get("hardware", {})
    gpu = f", GPU {hw['gpu']}" if hw.get("gpu") else ""
    mode = "quick" if run.config.get("quick") else "full"
    return (f"*Settings: {mode}; seed {run.seed}{_images(run, prov)}; command `{prov.get('command', '?')}`; "
            f"{hw.get('cpu', '?')} ({hw.get('cpu_count', '?')} cores{_threads(hw)}){gpu}; device {prov.get('device', '?')}; "
            f"{_compute_time(prov)}; effcode {prov.get('effcode_version', '?')} "
            f"at commit {str(prov.get('git_commit'))[:12]}.*")


def write_report(results_dir="results") -> Path:
    """Assemble ``REPORT.md`` from the ``section.json`` of every completed run.

    Figure links are relative to the report's own folder, so the report reads the same whichever
    directory effcode ran from, and after the results folder is moved."""
    results_dir = Path(results_dir)
    broken: list = []
    runs = [(exp, run) for exp, run in completed_runs(results_dir, broken=broken) if run.path("section.json").exists()]
    sections, healthy = {}, []
    for exp, run in runs:
        try:
            sections[exp.number] = _section(exp, run)
            healthy.append((exp, run))
        except CorruptFileError as error:
            broken.append((exp, error))
    sections.update({exp.number: _broken_section(exp, error) for exp, error in broken})
    lines = ["# effcode results", "",
             "Generated by `effcode figures` from the cached results in this folder; every number below is "
             "read from those files. Each section states the settings, command, hardware and time of its run.", "",
             _time_summary(results_dir, healthy), ""]
    summary, note = None, None
    if broken:
        note = (f"Left out while experiment(s) {', '.join(sorted(exp.number for exp, _ in broken))} "
                "are broken (see their sections).")
    else:
        try:
            summary = glance_from_results(results_dir)
        except CorruptFileError as error:
            note = f"Left out: {error}."
    if summary is not None or note is not None:
        lines += ["## Summary: the learners against V1", "", summary or note or "", ""]
    for number in sorted(sections):
        lines += sections[number]
    out = results_dir / "REPORT.md"
    with folder_lock(results_dir):
        write_text(out, "\n".join(lines))
        if summary is not None:
            _update_readme(results_dir, summary)
    return out


def _section(exp: Experiment, run: Run) -> list[str]:
    """The report lines of one run: title, settings, description, text and figures."""
    section = run.load_json("section.json")
    lines = [f"## {exp.number}. {section['title']}", "", _run_header(exp, run), "", exp.description, ""]
    if section["text"]:
        lines += [section["text"].strip(), ""]
    for path, caption in section["figures"]:   # relative to the run's folder (draw)
        rel = (Path(run.dir.name) / path).as_posix()
        lines += [f"![{caption}]({rel})", "", f"*{caption}*", ""]
    return lines


def _broken_section(exp: Experiment, error: CorruptFileError) -> list[str]:
    """The report lines of a run folder that cannot be read: what is wrong and how to repair it."""
    return [f"## {exp.number}. {exp.title}", "",
            f"**Broken: this section is not shown.** {error}.", "",
            f"*Repair: rerun the experiment with the settings of its last run (`effcode run {exp.number}`, with "
            "`--quick` and the `--set` options it used, or `--force` to replace it with other settings); its "
            "cached steps are reused, so only what is missing is recomputed.*", ""]





def _update_readme(results_dir: Path, block: str) -> None:
    """Rewrite the "Results at a glance" block of the README beside the committed results folder with
    ``block`` (only the folder named ``results`` next to a README with the block's markers: quick runs and
    other folders never touch it)."""
    readme = results_dir.resolve().parent / "README.md"
    if results_dir.resolve().name == "results" and readme.exists():
        update_readme(readme, block)
