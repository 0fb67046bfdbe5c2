"""Degenerate results, said out loud: checks on what an experiment learned and scored.

A run whose learner coded nothing, whose units are silent or whose filters are no more Gabor-like
than noise still ends with numbers and figures; these checks make it say so.  Each warning is kept
in the run folder (:data:`WARNINGS_FILE`, emptied when a run starts), written at the top of the
experiment's section of ``REPORT.md`` and printed by ``effcode run`` on standard error.

* **All codes zero**: a learner's final fraction of non-zero codes (its training record's
  ``sparsity``, or ``active_fraction`` for the sparse CNN) is 0: every unit is unused and the
  dictionary has not moved from its start (e.g. ``lam`` far too large).
* **Most units dead**: more than :data:`MOST` of a population's units never responded to the
  stimuli of the receptive-field measurement (:attr:`effcode.v1.ReceptiveFields.responsive`).
* **R² below chance**: the median Gabor R² of a learned population is no higher than the median R²
  of Gabor fits to white-noise filters of the same size (:func:`chance_r2`): the fits then say
  nothing about Gabor shape.
"""

from __future__ import annotations

import functools

import numpy as np

from ..gabor import fit_gabors
from ..learners import FilterBank
from ..v1.physiology import ReceptiveFields

#: the file of a run folder that holds its warnings (a JSON list of sentences)
WARNINGS_FILE = "warnings.json"

#: "most" units: more than this fraction
MOST = 0.5

#: white-noise filters fitted for the chance level of the Gabor R²
N_CHANCE_FILTERS = 64

#: history keys holding a learner's fraction of non-zero codes per step
CODE_FRACTION_KEYS = ("sparsity", "active_fraction")


def run_warnings(run) -> list[str]:
    """The warnings recorded for ``run`` (none when its folder has no :data:`WARNINGS_FILE`)."""
    return list(run.load_json(WARNINGS_FILE)) if run.path(WARNINGS_FILE).exists() else []


def clear_warnings(run) -> None:
    """Start ``run`` with no warnings (a rerun must not keep those of the previous one)."""
    run.save_json(WARNINGS_FILE, [])


def warn(run, message: str) -> None:
    """Record ``message`` for ``run`` (once)."""
    messages = run_warnings(run)
    if message not in messages:
        run.save_json(WARNINGS_FILE, [*messages, message])


def code_warning(bank: FilterBank, label: str) -> str | None:
    """The warning for a bank whose final fraction of non-zero codes is 0, else None."""
    for key in CODE_FRACTION_KEYS:
        values = np.asarray(bank.history.get(key, []), dtype=float)
        if values.size and values[-1] == 0.0:
            return (f"{label}: all codes are zero at the end of training (fraction of non-zero codes 0.000): "
                    f"every unit is unused and the dictionary has not moved from its start; the penalty (lam) "
                    f"is probably far too large")
    return None


def dead_units_warning(rfs: ReceptiveFields, label: str) -> str | None:
    """The warning for a measurement in which more than :data:`MOST` of the units never responded."""
    silent = int(np.count_nonzero(~rfs.responsive))
    if silent <= MOST * len(rfs.responsive):
        return None
    return (f"{label}: most units are dead: {silent} of {len(rfs.responsive)} never responded to the "
            f"{rfs.n_stimuli} {rfs.stimulus} stimuli of the receptive-field measurement")


@functools.lru_cache(maxsize=8)
def chance_r2(shape: tuple[int, int]) -> float:
    """Median Gabor R² of :data:`N_CHANCE_FILTERS` white-noise filters of ``shape`` (fixed seed): what a
    fit finds in filters without any structure."""
    noise = np.random.default_rng(0).standard_normal((N_CHANCE_FILTERS, *shape)).astype(np.float32)
    return float(np.median(fit_gabors(noise, progress=False)["r2"]))


def r2_warning(r2, shape: tuple[int, int], label: str) -> str | None:
    """The warning for a population whose median Gabor R² is at or below :func:`chance_r2`."""
    r2 = np.asarray(r2, dtype=float)
    median = float(np.median(np.where(np.isfinite(r2), r2, -np.inf)))
    chance = chance_r2(tuple(int(s) for s in shape))
    if median > chance:
        return None
    return (f"{label}: median Gabor R² {median:.2f} is no higher than chance ({chance:.2f}, the median R² of "
            f"Gabor fits to white-noise filters of {shape[0]}x{shape[1]} pixels): the units are not Gabor-like "
            f"and the comparisons with V1 say nothing")


def check(run, warning: str | None) -> None:
    """Record ``warning`` for ``run`` when there is one."""
    if warning is not None:
        warn(run, warning)


def section_text(run, text: str) -> str:
    """A section's text with the run's warnings, if any, above it."""
    messages = run_warnings(run)
    if not messages:
        return text
    block = "\n".join(f"> **Warning: degenerate result.** {m}" for m in messages)
    return f"{block}\n\n{text}"
