"""The numbered experiments.  Every module ``eNN_*.py`` in this package registers one
:class:`~effcode.experiments.base.Experiment` in ``EXPERIMENTS`` when imported; they are
discovered automatically."""

import importlib
import pkgutil

from .base import EXPERIMENTS, Experiment, Section, completed_runs, draw, get_experiment, register
from .suite import regenerate_figures, run_experiment, run_experiments

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name[:1] == "e" and m.name[1:3].isdigit()):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["EXPERIMENTS", "Experiment", "Section", "completed_runs", "draw", "get_experiment", "regenerate_figures",
           "register", "run_experiment", "run_experiments"]
