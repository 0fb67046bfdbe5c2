"""The README's "Results at a glance": a table and sentences made from the scorer's metrics.

Pure functions of :meth:`effcode.v1.V1PopulationScore.metrics` dicts (one per seed and learner),
so the README's numbers are computed, tested, and rewritten by ``effcode figures`` from the
committed results (:func:`update_readme`), never typed by hand.
"""

from __future__ import annotations

import re
from typing import Any
from pathlib import Path

import numpy as np

from ..storage.atomic import read_json, write_text
from ..stats import seed_interval
from ..v1.claims import RINGACH2002, ringach_results, short_sentence, verdict
from ..v1.scorer import EXCLUDED_FROM_MEAN
from ..v1.similarity import TABLE_COLUMNS
from .e06_objective_sweep import harder_sparseness_answer, rehn_sommer_answer
from .e07_overcompleteness import overcompleteness_answer
from .e12_training_length import convergence_sentence
from .e13_v1_like_codes import answer, verdicts

START, END = "<!-- results-at-a-glance:start -->", "<!-- results-at-a-glance:end -->"

#: the populations scored, as named in the table: experiment 05's keys (population, or population/stimulus)
POPULATION_WORDS = {"measured_rf/hartley": "measured RFs, Hartley", "measured_rf/white_noise": "measured RFs, white noise",
                    "measured_rf": "measured RFs", "basis": "basis functions", "filters": "filters"}


def interval(values, digits: int = 2, *, low: float = -np.inf, high: float = np.inf) -> str:
    """"mean [lo, hi]" over seeds (95% t-interval clipped to the statistic's range [low, high]), the single
    value when one seed has a value, and "(k of n seeds)" when some seeds have none."""
    s = seed_interval(values)
    missing = f" ({s['n']} of {len(values)} seeds)" if 0 < s["n"] < len(values) else ""
    if s["n"] == 0:
        return "–"
    if s["n"] == 1:
        return f"{s['mean']:.{digits}f}{missing}"
    lo, hi = max(s["lo"], low), min(s["hi"], high)
    return f"{s['mean']:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]{missing}"


def _column(seeds: list[dict], *path) -> list[float]:
    out = []
    for m in seeds:
        value: Any = m
        for key in path:
            value = value.get(key, float("nan")) if isinstance(value, dict) else float("nan")
        out.append(float(value))
    return out


def _ends(seeds: list[dict], low: list, high: list, digits: int = 2) -> str:
    """"[a–b]": the means over seeds of a statistic's two bracket ends (paths into the metrics); an en dash
    when either end has no value in any seed."""
    low, high = (seed_interval(_column(seeds, *path))["mean"] for path in (low, high))
    return f"[{low:.{digits}f}–{high:.{digits}f}]" if np.isfinite(low) and np.isfinite(high) else "–"


def _largest_p(seeds: list[dict], *path) -> str:
    values = [v for v in _column(seeds, *path) if np.isfinite(v)]
    return f"{max(values):.3f}" if values else "–"


def glance_table(rows: list[tuple[str, str, list[dict]]]) -> str:
    """Markdown table: one row per (learner, population key, per-seed metrics) of ``rows``,
    every cell a mean [95% interval] over seeds, the bin-based statistics with their bracket [a–b] (the
    undetermined units at the ends of their intervals nearest to and farthest from V1)."""
    out = ["| learner (population) | seeds | median Gabor R² | compared (undetermined) / all units | median nx | "
           "median ny | nx–ny distance [bracket] | largest p [bracket] | blob-like fraction [bracket] (V1 0.24) | "
           "mean tuning similarity | Ringach (2002) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, key, seeds in rows:
        population = POPULATION_WORDS.get(key, key)
        compared, undetermined, everything = (np.mean([m["funnel"][stage] for m in seeds]) for stage in
                                              ("R² ≥ threshold", "nx and ny resolved", "all units"))
        undetermined = compared - undetermined
        found = verdict(RINGACH2002, ringach_results([m["findings"] for m in seeds]))
        out.append(f"| {label} ({population}) | {len(seeds)} | "
                   f"{interval(_column(seeds, 'r2', 'median_r2'), high=1.0)} | "
                   f"{compared:.0f} ({undetermined:.0f}) / {everything:.0f} | "
                   f"{interval(_column(seeds, 'median_nx', 'value'), low=0.0)} | "
                   f"{interval(_column(seeds, 'median_ny', 'value'), low=0.0)} | "
                   f"{interval(_column(seeds, 'nxny_distance'), low=0.0, high=1.0)} "
                   f"{_ends(seeds, ['nxny_bracket', 'most', 'distance'], ['nxny_bracket', 'least', 'distance'])} | "
                   f"{_largest_p(seeds, 'nxny_p_value')} [{_largest_p(seeds, 'nxny_bracket', 'most', 'p_value')}, "
                   f"{_largest_p(seeds, 'nxny_bracket', 'least', 'p_value')}] | "
                   f"{interval(_column(seeds, 'blob_fraction', 'point'), low=0.0, high=1.0)} "
                   f"{_ends(seeds, ['blob_fraction', 'lo'], ['blob_fraction', 'hi'])} | "
                   f"{interval(_column(seeds, 'mean_similarity'), low=0.0)} | {found.verdict} |")
    return "\n".join(out)


def findings_sentences(per_learner: dict[str, list[dict]]) -> str:
    """The verdict on Ringach's (2002) findings for each learner, worded by :mod:`effcode.v1.claims`
    (without the statistics; experiment 05's section has them)."""
    return " ".join(short_sentence(verdict(RINGACH2002, ringach_results([m["findings"] for m in seeds]),
                                           subject=label)) for label, seeds in per_learner.items())


def averaged_sentence() -> str:
    """Which tuning properties the mean similarity averages, and which it leaves out and why."""
    kept = [p.replace("_", " ") for p in TABLE_COLUMNS if p not in EXCLUDED_FROM_MEAN]
    left = "; ".join(f"{p.replace('_', ' ')} ({why})" for p, why in EXCLUDED_FROM_MEAN.items())
    return (f"Mean tuning similarity (Brain-Score's 1 − KS/KS_max over the V1 data's ceiling) averages "
            f"{', '.join(kept)}; it leaves out {left}.")


def glance_block(rows: list[tuple[str, str, list[dict]]], per_learner: dict[str, list[dict]],
                 extra_sentences: str = "") -> str:
    """The README section's body: the table (``rows``, see :func:`glance_table`), how to read it, the
    verdicts on Ringach's findings for the headline population (``per_learner``), and any sentences the
    other experiments add."""
    settings = next(iter(per_learner.values()))[0]["settings"]
    text = [glance_table(rows), "",
            f"Mean [95% t-interval] over seeds; seeds learn from different random halves of the images, so the "
            f"intervals include image variation. Every unit whose Gabor fit has R² ≥ {settings['r2_threshold']:g} "
            f"is compared: {100 * settings['interval_level']:.0f}% profile-likelihood intervals of nx and ny place "
            "it in one of Ringach's bins or leave it undetermined, and every bin-based statistic is given at the "
            "fitted values and, in brackets, with the undetermined units at the ends of their intervals nearest to "
            "and farthest from V1 (off-grid values clipped into the edge bins). The p-values are the two-sample "
            f"permutation test against Ringach's 79 cells ({settings['n_permutations']} permutations; smallest "
            f"possible p 1/{settings['n_permutations'] + 1}). Measured RFs: each unit's receptive field measured by "
            "reverse correlation in stimulus space, through the learner's whitening and inference, as V1 was "
            "measured (Hartley gratings, Ringach 2002). " + averaged_sentence(), "",
            findings_sentences(per_learner)]
    if extra_sentences:
        text += ["", extra_sentences]
    return "\n".join(text)


def update_readme(readme: Path, block: str) -> bool:
    """Replace the text between the README's markers with ``block``; True if the file changed."""
    text = readme.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        return False
    new = pattern.sub(lambda _: f"{START}\n{block}\n{END}", text)
    if new != text:
        write_text(readme, new)
    return new != text


def glance_from_results(results_dir) -> str | None:
    """The block from a results folder's experiments 05, 06, 07, 12 and 13 (None without experiment 05)."""
    results_dir = Path(results_dir)
    e05 = results_dir / "05_v1_comparison" / "metrics.json"
    if not e05.exists():
        return None
    sentences = []
    e12 = results_dir / "12_training_length" / "metrics.json"
    if e12.exists():
        m12 = read_json(e12)
        sentences.append(convergence_sentence(m12))
    e06 = results_dir / "06_objective_sweep"
    if (e06 / "comparisons.json").exists():
        tests = read_json(e06 / "comparisons.json")["tests"]
        steps = read_json(e06 / "config.json")["n_steps"]
        sentences += [f"Sparseness (experiment 06, {steps} updates per dictionary): {harder_sparseness_answer(tests)}",
                      rehn_sommer_answer(tests)]
    e07 = results_dir / "07_overcompleteness"
    if (e07 / "comparisons.json").exists():
        steps = read_json(e07 / "config.json")["n_steps"]
        sentences.append(f"Overcompleteness (experiment 07, {steps} updates per dictionary): "
                         f"{overcompleteness_answer(read_json(e07 / 'comparisons.json')['tests'])}")
    e13 = results_dir / "13_v1_like_codes"
    if (e13 / "comparisons.json").exists():
        saved = read_json(e13 / "comparisons.json")
        found = verdicts(read_json(e13 / "metrics.json"), saved["tests"], saved["settings"].get("n_permutations"))
        sentences.append(f"Which codes look like V1 (experiment 13): {answer(found, saved['tests'])}")
    metrics = read_json(e05)
    learners = metrics.get("learners", list(metrics["per_seed"]))
    per_seed = {label: metrics["per_seed"][label] for label in learners}
    headline = metrics.get("headline", metrics["population"])
    rows = []
    for label in learners:
        rows.append((label, headline, per_seed[label]))
        rows += [(label, key, alternative["per_seed"][label])
                 for key, alternative in metrics.get("alternatives", {}).items()]
    return glance_block(rows, per_seed, "\n\n".join(s for s in sentences if s))
