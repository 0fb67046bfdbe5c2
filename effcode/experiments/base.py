"""The experiment contract: what an experiment declares, the registry, and drawing one run's figures.

Running experiments and writing ``REPORT.md`` live one layer up, in :mod:`effcode.experiments.suite`.

An experiment is a :class:`Experiment` registered in ``EXPERIMENTS`` under its
two-digit number.  It has a ``compute(run)`` step, which does the work through
the library and caches every result in the run folder, and a ``plot(run)`` step,
which reads only those cached results, writes the figures and returns a
:class:`Section` of ``results/REPORT.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, cast

from ..errors import CorruptFileError
from ..plots.figure import FORMATS, figure_formats, headless_figures
from ..registry import Registry
from ..runs import Run
from ..runs.declaration import Declaration, find_declaration
from .degenerate import section_text

EXPERIMENTS: Registry = Registry("experiment")

#: the largest resolution of a quick run's figures (dots per inch; full runs: each figure's own, 110 by default)
QUICK_DPI = 72

#: the record, in a results folder, of the last invocation that ran several experiments (run_experiments)
RUN_RECORD = "run.json"


@dataclass
class Section:
    """One experiment's part of the report: markdown text and (figure path, caption) pairs."""

    title: str
    text: str = ""
    figures: list = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Experiment(Declaration):
    """A :class:`~effcode.runs.declaration.Declaration` (number, name, title, description, config) with the
    experiment's steps: ``compute(run)`` and ``plot(run) -> Section``."""

    compute: Callable[[Run], None]
    plot: Callable[[Run], Section]
    #: for an experiment that defines a standard learner: config, seed -> its ``BankSpec``
    bank: Callable[[dict, int], object] | None = None


def register(experiment: Experiment) -> Experiment:
    EXPERIMENTS.register(experiment.number, experiment)
    return experiment


def get_experiment(key: str) -> Experiment:
    """An experiment by number ("1", "01") or by slug ("01_sparse_coding") or name."""
    return cast(Experiment, find_declaration(EXPERIMENTS, key))   # EXPERIMENTS holds experiments only


def completed_runs(results_dir="results", *, broken: list | None = None) -> list[tuple[Experiment, Run]]:
    """The registered experiments that have a run folder with a config, in number order.

    A folder whose files do not match its manifest (or whose config is unreadable) raises
    :class:`~effcode.errors.CorruptFileError`; with a list ``broken``, it is left out and appended to
    ``broken`` as ``(experiment, error)`` instead, so that one broken folder stops no other."""
    out = []
    for number in EXPERIMENTS.names():
        exp = EXPERIMENTS.get(number)
        folder = Path(results_dir) / exp.slug
        if (folder / "config.json").exists():
            try:
                out.append((exp, Run.open(folder)))
            except CorruptFileError as error:
                if broken is None:
                    raise
                broken.append((exp, error))
    return out


def draw(exp: Experiment, run: Run) -> Section:
    """Draw one experiment's figures from its cached results and keep its report section (quick runs: PNG
    only, at :data:`QUICK_DPI` at most; full runs: PNG and PDF).  The figures are headless (never registered with pyplot), so drawing many
    of them in a worker process does not accumulate them.  Figures and section are published together
    (:meth:`~effcode.runs.Run.redraw`): inside a run, with its other results at :meth:`~effcode.runs.Run.finish`."""
    quick = bool(run.config.get("quick"))
    with run.redraw():   # staged, then published with the run's other results (Run.redraw)
        with headless_figures(), figure_formats(("png",) if quick else FORMATS, max_dpi=QUICK_DPI if quick else None):
            section = exp.plot(run)
        section.text = section_text(run, section.text)
        figures = [[Path(p).resolve().relative_to(run.root.resolve()).as_posix(), c] for p, c in section.figures]
        run.save_json("section.json", {"title": section.title, "text": section.text, "figures": figures})
    return section
