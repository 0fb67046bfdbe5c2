"""Experiment 06: does harder sparseness move the population toward V1? (Rehn & Sommer 2007).

Every point is learned and scored by :func:`effcode.experiments.common.evaluate_point` (the one
scorer).  ``compute`` saves the per-seed rows, the per-setting summary (``metrics.json``: each
setting's per-seed values and their means with 95% t-intervals across seeds) and the paired
tests across seeds (``comparisons.json``); ``plot`` words the report from those two files only,
through the pure functions below (tested with hand-made metrics in
``tests/test_report_e06_e07.py``).

**Claims.**  A sentence that one setting is closer to V1 than another is made only from a paired
test across seeds (:func:`effcode.stats.paired_test`: difference, 95% interval, p, Cohen's d_z),
significant at 5% after Holm's correction over the family of tests that answer the same question
(:func:`holm`).  Otherwise the report says there is no significant difference, with the p-value.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from ..plots.figure import new_figure, save_figure
from ..stats import seed_interval
from ..runs.config import Key, objective_names
from ..v1.claims import REHN_SOMMER2007, verdict
from .base import Experiment, Section, register
from .common import POINT_METRICS, QUICK_MEASUREMENT, SCORER_DEFAULTS, evaluate_point, scorer_config, source_images
from .sweep_report import (ALPHA, BRACKET_ENDS, REHN_SOMMER_PARTS, claim_result, comparison, comparison_table, family, family_summary, interval, per_seed,
                           scorer_sentence)


HARD_PENALTIES, SOFT_PENALTIES = ("l0", "topk"), ("l1", "cauchy")


# -- statistics: pure functions ---------------------------------------------------------------


# -- words: pure functions --------------------------------------------------------------------


# -- experiment 06: summary, tests and sentences (pure functions) -----------------------------

def summarise(rows: Sequence[Mapping], metrics: Sequence[str] = POINT_METRICS) -> dict:
    """Per-setting summary of per-seed rows (``objective``, ``level``, ``seed`` and ``metrics``),
    keyed ``"objective@level"`` in the order met: ``seeds`` and per-seed ``values``, and for every
    metric its mean with the 95% t-interval across seeds (``metric``, ``metric_lo``, ``metric_hi``)."""
    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(f"{row['objective']}@{row['level']}", []).append(row)
    summary = {}
    for index, (key, group) in enumerate(groups.items()):
        group = sorted(group, key=lambda r: r["seed"])
        values = {m: [float(r[m]) for r in group] for m in metrics}
        intervals = {m: seed_interval(values[m]) for m in metrics}
        summary[key] = {"index": index, "objective": group[0]["objective"], "level": float(group[0]["level"]),
                        "n_seeds": len(group), "seeds": [int(r["seed"]) for r in group], "values": values,
                        **{m: i["mean"] for m, i in intervals.items()},
                        **{f"{m}_lo": i["lo"] for m, i in intervals.items()},
                        **{f"{m}_hi": i["hi"] for m, i in intervals.items()}}
    return summary


def _ordered(summary: Mapping) -> list[dict]:
    return sorted(summary.values(), key=lambda s: s.get("index", 0))


def _objectives_levels(summary: Mapping) -> tuple[list[str], list[float]]:
    entries = _ordered(summary)
    return list(dict.fromkeys(s["objective"] for s in entries)), sorted({s["level"] for s in entries})


def _pooled(summary: Mapping, objectives: Sequence[str], metric: str) -> dict[int, float]:
    """Seed -> mean of ``metric`` over the settings of ``objectives`` (all levels; finite values only)."""
    by_seed: dict[int, list] = {}
    for s in summary.values():
        if s["objective"] in objectives:
            for seed, value in per_seed(s, metric).items():
                by_seed.setdefault(seed, []).append(value)
    out = {}
    for seed, values in by_seed.items():
        finite = [v for v in values if math.isfinite(v)]
        out[seed] = float(np.mean(finite)) if finite else math.nan
    return out


def _bracket_ends(summary: Mapping, objectives: Sequence[str], metric: str) -> tuple[dict, dict] | None:
    """:func:`_pooled` at the two ends of ``metric``'s brackets; None for a metric without brackets."""
    if metric not in BRACKET_ENDS:
        return None
    low, high = BRACKET_ENDS[metric]
    return _pooled(summary, objectives, low), _pooled(summary, objectives, high)


def comparisons(summary: Mapping, alpha: float = ALPHA) -> dict:
    """The three families of paired tests (same seeds) of the sweep:

    * ``hard_vs_soft``: nx–ny distance of each hard penalty (l0, topk) against each soft one (l1,
      cauchy) at every level;
    * ``level``: nx–ny distance at the highest level against the lowest, within each objective;
    * ``rehn_sommer``: hard against soft penalties on distance, median nx, median ny and blob-like
      fraction, each seed's values averaged over the objectives of its kind and all levels.
    """
    objectives, levels = _objectives_levels(summary)
    key = {(s["objective"], s["level"]): s for s in summary.values()}
    hard = [o for o in HARD_PENALTIES if o in objectives]
    soft = [o for o in SOFT_PENALTIES if o in objectives]
    d = "nxny_distance"
    hard_vs_soft = [comparison(f"{h} at level {level:g}", f"{s} at level {level:g}", d,
                               per_seed(key[(h, level)], d), per_seed(key[(s, level)], d))
                    for level in levels for h in hard for s in soft if (h, level) in key and (s, level) in key]
    by_level = []
    if len(levels) > 1:
        for o in objectives:
            if (o, levels[-1]) in key and (o, levels[0]) in key:
                by_level.append(comparison(f"{o} at level {levels[-1]:g}", f"{o} at level {levels[0]:g}", d,
                                           per_seed(key[(o, levels[-1])], d), per_seed(key[(o, levels[0])], d)))
    rehn_sommer = []
    if hard and soft:
        a, b = f"hard sparseness ({', '.join(hard)})", f"soft sparseness ({', '.join(soft)})"
        rehn_sommer = [comparison(a, b, m, _pooled(summary, hard, m), _pooled(summary, soft, m),
                                  *(_bracket_ends(summary, side, m) for side in (hard, soft)))
                       for m in REHN_SOMMER_PARTS]
    return {"hard_vs_soft": family("hard vs soft penalty at equal level", hard_vs_soft, alpha),
            "level": family("highest vs lowest level within each objective", by_level, alpha),
            "rehn_sommer": family("Rehn & Sommer (2007): hard vs soft sparseness", rehn_sommer, alpha)}


def harder_sparseness_answer(tests: Mapping) -> str:
    """The answer to the experiment's question, worded from the ``hard_vs_soft`` and ``level``
    families of :func:`comparisons`: only significant tests become claims."""
    return " ".join([
        family_summary(tests["hard_vs_soft"], "Hard against soft penalty at equal level (nx–ny distance)"),
        family_summary(tests["level"], "Highest against lowest level within each objective (nx–ny distance)")])


def rehn_sommer_answer(tests: Mapping) -> str:
    """Rehn & Sommer's (2007) claim and effcode's verdict on it, worded by :func:`effcode.v1.claims.verdict`
    from the ``rehn_sommer`` family of :func:`comparisons` (each test enters the part of
    :data:`REHN_SOMMER_PARTS` it answers; Holm runs within the claim)."""
    fam = tests["rehn_sommer"]
    results = {REHN_SOMMER_PARTS[t["metric"]]: claim_result(t) for t in fam["tests"]
               if t["metric"] in REHN_SOMMER_PARTS}
    how = ""
    if fam["tests"]:
        how = (f"Test here: {fam['tests'][0]['a']} against {fam['tests'][0]['b']}, each seed's values averaged over "
               "the objectives of its kind and all levels, paired across seeds. ")
    return how + verdict(REHN_SOMMER2007, results).sentence


def dense_objectives_remark(summary: Mapping) -> str:
    """A sentence naming the objectives whose codes have no exact zeros (active fraction 1 in every
    seed at every level); empty when there are none."""
    objectives, _ = _objectives_levels(summary)
    dense = [o for o in objectives
             if all(v >= 0.999 for s in summary.values() if s["objective"] == o
                    for v in s["values"]["active_fraction"])]
    if not dense:
        return ""
    one = len(dense) == 1
    return (f"{', '.join(dense)} leave{'s' if one else ''} no exact zeros in the codes (active fraction 1 at every "
            f"level and seed), so on the activity axis {'its' if one else 'their'} levels stack at 1.")


def sweep_table(summary: Mapping) -> str:
    """Markdown table of every setting: means and 95% t-intervals across seeds."""
    rows = ["| objective | level | seeds | active fraction | median R² | resolved units | nx–ny distance | "
            "median nx | median ny | blob-like fraction | seeds distinguishable from V1 (p < 0.05) |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in _ordered(summary):
        p = [v for v in s["values"]["nxny_p_value"] if math.isfinite(v)]
        rows.append(f"| {s['objective']} | {s['level']:g} | {s['n_seeds']} | {interval(s, 'active_fraction', 3)} | "
                    f"{interval(s, 'median_r2')} | {interval(s, 'n_resolved', 0)} | {interval(s, 'nxny_distance')} | "
                    f"{interval(s, 'median_nx')} | {interval(s, 'median_ny')} | {interval(s, 'blob_fraction')} | "
                    f"{sum(v < 0.05 for v in p)} of {len(p)} |")
    return "\n".join(rows)


def report_text(summary: Mapping, tests: Mapping, settings: Mapping) -> str:
    """The section's text: scorer, table, answer to the question, Rehn & Sommer, and the test tables."""
    n = sorted({s["n_seeds"] for s in summary.values()})
    seeds = f"{n[0]}" if len(n) == 1 else f"{n[0]}–{n[-1]}"
    parts = [scorer_sentence(settings), sweep_table(summary),
             f"Mean [95% t-interval] across {seeds} seeds (a dash: no seed left enough resolved units). Every "
             f"setting is run with the same seeds, so settings are compared by paired tests across seeds. The last "
             f"column counts the seeds whose population the calibrated two-sample permutation test tells apart "
             f"from Ringach's 79 cells.",
             harder_sparseness_answer(tests), dense_objectives_remark(summary),
             "**Rehn & Sommer (2007).** " + rehn_sommer_answer(tests)]
    for fam in tests.values():
        if fam["tests"]:
            parts.append(f"*{fam['name']}* ({fam['n_tests']} tests, Holm-corrected):\n\n" + comparison_table(fam))
    return "\n\n".join(p for p in parts if p)


# -- the experiment ---------------------------------------------------------------------------

def objective_settings(cfg: dict, objective: str, level: float) -> dict:
    """Learner parameters of ``objective`` at sparsity ``level`` (1 = its base setting, 2 = twice as sparse).

    A weighted penalty gets λ = base λ (``base_lam``, else ``default_lam``) × level; ``topk`` keeps
    k = base k / level winners.
    """
    if objective == "topk":
        return {"objective": "topk", "objective_params": {"k": max(1, int(round(cfg["topk_k"] / level)))}}
    lam = cfg["base_lam"].get(objective, cfg["default_lam"]) * level
    return {"objective": objective, "lam": float(lam)}


def sweep_points(run) -> list[dict]:
    cfg = run.config
    fixed = {"method": "sparse_coding", "source": cfg["source"], "n_filters": cfg["n_filters"],
             "patch_size": cfg["patch_size"], "device": run.device, "n_steps": cfg["n_steps"], **scorer_config(cfg)}
    return [{**fixed, **objective_settings(cfg, objective, level), "seed": run.seed + s, "level": level}
            for objective in cfg["objectives"] for level in cfg["levels"] for s in range(cfg["n_seeds"])]


def _evaluate(point: dict, checkpoint=None) -> dict:
    point = dict(point)
    point.pop("level")
    return evaluate_point(point, checkpoint)


def worker_jobs(cfg: dict) -> int:
    """``n_jobs``, or 1 when an objective was registered outside effcode (a user's own, registered in
    this process): joblib's worker processes import effcode afresh and would not know it."""
    from ..objectives import OBJECTIVES

    modules = [getattr(OBJECTIVES.get(name), "__module__", "") for name in cfg["objectives"]]
    return cfg["n_jobs"] if all(m.startswith("effcode.") for m in modules) else 1


def compute(run) -> None:
    from ..objectives import OBJECTIVES

    cfg = run.config
    for name in cfg["objectives"]:
        OBJECTIVES.get(name)  # fail fast, listing the known objectives
    source_images(run)
    rows = run.sweep(_evaluate, sweep_points(run), backend=cfg["backend"], n_jobs=worker_jobs(cfg),
                     scheduler=cfg["scheduler"] or None, progress=run.progress, resumable=True)
    run.save_csv("sweep.csv", {"objective": [r["objective"] for r in rows], "level": [r["level"] for r in rows],
                               "seed": [r["seed"] for r in rows], **{m: [r[m] for r in rows] for m in POINT_METRICS}})
    summary = summarise(rows)
    run.save_json("metrics.json", summary)
    run.save_json("comparisons.json", {"settings": scorer_config(cfg), "tests": comparisons(summary)})


def _errors(group, metric):
    mean = np.array([s[metric] for s in group], dtype=float)
    lo = np.array([s[f"{metric}_lo"] for s in group], dtype=float)
    hi = np.array([s[f"{metric}_hi"] for s in group], dtype=float)
    return np.nan_to_num(np.vstack([mean - lo, hi - mean]), nan=0.0)


def plot(run) -> Section:
    from .. import v1

    summary = run.load_json("metrics.json")
    saved = run.load_json("comparisons.json")
    objectives, _ = _objectives_levels(summary)
    fig = new_figure(12, 3.4)
    axes = fig.subplots(1, 3)
    ref = v1.ringach2002_nxny_histogram()
    for objective in objectives:
        group = sorted((s for s in summary.values() if s["objective"] == objective), key=lambda s: s["level"])
        x = [s["active_fraction"] for s in group]
        axes[0].errorbar(x, [s["nxny_distance"] for s in group], yerr=_errors(group, "nxny_distance"),
                         marker="o", capsize=3, label=objective)
        axes[1].errorbar(x, [s["median_r2"] for s in group], yerr=_errors(group, "median_r2"),
                         marker="o", capsize=3, label=objective)
        axes[2].errorbar([s["median_nx"] for s in group], [s["median_ny"] for s in group],
                         xerr=_errors(group, "median_nx"), yerr=_errors(group, "median_ny"),
                         marker="o", capsize=3, label=objective)
    null_95 = [s["nxny_null_95"] for s in summary.values() if np.isfinite(s["nxny_null_95"])]
    if null_95:
        axes[0].axhline(np.mean(null_95), color="k", ls="--", lw=1,
                        label="95% of V1-vs-V1 distances (model's size)")
    axes[0].legend(frameon=False, fontsize=8)
    axes[0].set(xscale="log", xlabel="fraction of active coefficients", ylabel="nx–ny TV distance to Ringach 2002",
                title="Distance to V1 (lower is closer)")
    axes[1].set(xscale="log", xlabel="fraction of active coefficients", ylabel="median Gabor R²",
                title="Gabor-likeness")
    axes[2].plot(ref.median("nx"), ref.median("ny"), "k*", ms=14, label="V1 (Ringach 2002)")
    axes[2].set(xlabel="median nx", ylabel="median ny", title="Population medians")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[2].legend(frameon=False, fontsize=8, loc="lower left")
    path = run.figure_path("sweep")
    save_figure(fig, path)
    return Section("Objective and sparsity sweep", report_text(summary, saved["tests"], saved["settings"]), [
        (f"{path}.png", f"Distance to V1's nx–ny distribution, Gabor-likeness and population medians "
                        f"({saved['settings']['population']} population) against the measured fraction of active "
                        f"coefficients, per objective (mean and 95% t-interval across seeds).")])


register(Experiment(
    number="06", name="objective_sweep", title="Objective and sparsity sweep (Rehn & Sommer 2007)",
    description=("Sparse coding with each penalty S in `objectives` at several sparsity levels and `n_seeds` seeds; "
                 "each dictionary is scored by the one scorer (Gabor-likeness, and the total-variation distance of "
                 "its resolved units' (nx, ny) to Ringach 2002). Level multiplies the penalty weight λ (for topk it "
                 "divides the number of winners k). Hard against soft penalties, and high against low levels, are "
                 "compared by paired tests across seeds with Holm's correction. Any registered objective can be "
                 "named, a user's own included (its points then run in this process: `n_jobs` worker processes "
                 "would not know it). Training length: `n_steps` updates per dictionary, a quarter of the 4,800 at "
                 "which experiment 12 finds experiment 01's atoms stop moving, so the 36 dictionaries fit the run's "
                 "time; settings are compared at equal, and not full, training."),
    defaults={"objectives": ["l1", "cauchy", "l0", "topk"], "levels": [0.5, 1.0, 2.0], "n_seeds": 3,
              "n_filters": 256, "patch_size": 16, "n_steps": 1200, "base_lam": {"l1": 2.0, "cauchy": 2.0, "l0": 1.0},
              "default_lam": 2.0, "topk_k": 12, **SCORER_DEFAULTS, "n_bootstrap": 200,
              "backend": "joblib", "n_jobs": 2, "scheduler": ""},
    quick={**QUICK_MEASUREMENT, "levels": [1.0, 2.0], "n_seeds": 2, "n_filters": 32, "patch_size": 10, "n_steps": 60, "topk_k": 4,
           "n_jobs": 1},
    keys={"levels": Key(list, "dimensionless", "sparsity levels: a level multiplies λ (and divides topk's k)",
                        item=float, low=0.0, low_open=True),
          "base_lam": Key(dict, "dimensionless", "λ at level 1 per objective; entries merge into the default one "
                          "by one", item=float, low=0.0, choices=objective_names),
          "default_lam": Key(float, "dimensionless", "λ at level 1 of an objective not in base_lam", low=0.0)},
    compute=compute, plot=plot))
