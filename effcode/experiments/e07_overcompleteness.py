"""Experiment 07: overcompleteness (1x, 2x, 4x) and patch size, its verdicts bracketed over the training schedule.

Every point (each seed its own) is learned and scored by
:func:`effcode.experiments.common.evaluate_point` (the one scorer).  ``compute`` saves the per-seed
rows, the per-setting summary (``metrics.json``: per-seed values, means and 95% t-intervals across
seeds) and the paired tests of each overcompleteness against 1x (``comparisons.json``, Holm's
correction over the family); ``plot`` words the report from those files through the pure functions
below (tested in ``tests/test_report_e06_e07.py``).

**The bracket.**  Dictionaries here are trained for ``n_steps`` = 300 updates, a sixteenth of the 4,800 at
which experiment 12 finds the atoms stop moving, so what they look like depends on how training got there:
with sparse coding's running-average schedule at a constant window growth g = 2 (before) the nx–ny
contrast between overcompleteness 4x and 1x was not significant (+0.029 [−0.019, +0.077]), with the current
schedule (g falling from 5 to 2) 2x and 4x are significantly farther from V1 than 1x.  A conclusion that flips
with such a choice is no conclusion, so every overcompleteness comparison is made at each schedule of the
config key ``window_growths`` (sparse coding's ``window_growth``; default: the current schedule and the constant
g = 2, the two ends of the bracket), each end a Holm family of its own, and a verdict is stated only where
the ends agree; otherwise it is "undetermined, the bracket's ends disagree", with each end's statistic.  The
bracket runs over the schedule rather than over training length because the schedule is the choice that
flipped the verdict and costs no more per dictionary (a longer training would multiply it); the first
schedule listed also trains the complete dictionaries of the patch-size comparison, which has no test.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from ..learners.sparse_coding import WINDOW_GROWTH
from ..plots.figure import new_figure, save_figure
from ..runs.config import Key
from ..validation import check_window_growth, window_growth_schedule
from .base import Experiment, Section, register
from .common import POINT_METRICS, QUICK_MEASUREMENT, SCORER_DEFAULTS, evaluate_point, scorer_config, source_images
from .sweep_report import (ALPHA, comparison, comparison_table, family, family_summary, interval, per_seed,
                           scorer_sentence, statistic_text)

#: the columns that identify a point of this sweep (besides its seed)
POINT_KEYS = ("patch_size", "n_filters", "n_iter")

#: the ends of the default bracket: sparse coding's current running-average schedule and the constant window
#: growth g = 2 it replaced (:class:`effcode.learners.sparse_coding.SparseCoding`'s ``window_growth``)
SCHEDULE_BRACKET = [list(WINDOW_GROWTH), 2.0]


def schedule_label(window_growth) -> str:
    """A sparse-coding running-average schedule in words: "window growth 5 to 2 over 300 updates (default)",
    "constant window growth 2"."""
    early, late, settling = window_growth_schedule(window_growth, "window_growth")
    words = (f"constant window growth {late:g}" if early == late else
             f"window growth {early:g} to {late:g} over {settling:g} updates")
    return f"{words} (default)" if (early, late, settling) == WINDOW_GROWTH else words


def sweep_points(run) -> list[dict]:
    """For every seed: overcompleteness factors at ``patch_size`` at every schedule of ``window_growths``, then
    patch sizes at 1x at the first schedule; K = factor · patch_size².

    Iterative inference converges more slowly as the dictionary grows more coherent, so its iteration cap
    scales with overcompleteness (``n_iter`` at 1x, ``factor · n_iter`` above): with 20 FISTA iterations a 4x
    dictionary was coded so loosely that learning stalled (measured: loss 67 and median R² 0.73 after
    300 updates, against 54 and 0.90 with 100 iterations).  The default L1 inference, compiled coordinate
    descent, stops at its own tolerance within that cap.
    """
    cfg = run.config
    fixed = {"method": "sparse_coding", "source": cfg["source"], "device": run.device, "n_steps": cfg["n_steps"],
             "lam": cfg["lam"], **scorer_config(cfg)}
    points = []
    for s in range(cfg["n_seeds"]):
        seeded = {**fixed, "seed": run.seed + s}
        for schedule in cfg["window_growths"]:
            points += [{**seeded, "window_growth": schedule, "patch_size": cfg["patch_size"],
                        "n_filters": int(f * cfg["patch_size"] ** 2), "n_iter": int(round(cfg["n_iter"] * max(1.0, f)))}
                       for f in cfg["factors"]]
        points += [{**seeded, "window_growth": cfg["window_growths"][0], "patch_size": p, "n_filters": p * p,
                    "n_iter": cfg["n_iter"]} for p in cfg["patch_sizes"]]
    unique = {tuple(sorted((k, str(v)) for k, v in p.items())): p for p in points}
    return list(unique.values())


# -- summary, tests and sentences (pure functions) --------------------------------------------

def setting_key(patch_size: int, n_filters: int, schedule: str) -> str:
    return f"{patch_size}px-{n_filters}, {schedule}"


def summarise(rows: Sequence[Mapping], metrics: Sequence[str] = POINT_METRICS) -> dict:
    """Per-setting summary of per-seed rows (``patch_size``, ``n_filters``, ``n_iter``, ``window_growth``,
    ``seed`` and ``metrics``), keyed ``"<patch>px-<atoms>, <schedule>"`` in the order of the rows:
    ``schedule`` (:func:`schedule_label`), ``overcompleteness``, ``seeds``, per-seed ``values``, and every
    metric's mean with its 95% t-interval across seeds (``metric``, ``metric_lo``, ``metric_hi``)."""
    from ..stats import seed_interval

    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(setting_key(row["patch_size"], row["n_filters"], schedule_label(row["window_growth"])),
                          []).append(row)
    summary = {}
    for key, group in groups.items():
        group = sorted(group, key=lambda r: r["seed"])
        values = {m: [float(r[m]) for r in group] for m in metrics}
        intervals = {m: seed_interval(values[m]) for m in metrics}
        first = group[0]
        summary[key] = {**{k: int(first[k]) for k in POINT_KEYS}, "schedule": schedule_label(first["window_growth"]),
                        "overcompleteness": first["n_filters"] / first["patch_size"] ** 2, "n_seeds": len(group),
                        "seeds": [int(r["seed"]) for r in group], "values": values,
                        **{m: i["mean"] for m, i in intervals.items()},
                        **{f"{m}_lo": i["lo"] for m, i in intervals.items()},
                        **{f"{m}_hi": i["hi"] for m, i in intervals.items()}}
    return summary


def comparisons(summary: Mapping, patch_size: int, schedules: Sequence[str], alpha: float = ALPHA) -> dict:
    """The family of paired tests (same seeds) of nx–ny distance, each overcompleteness above 1x against 1x at
    ``patch_size``, at each schedule (labels of :func:`schedule_label`): ``overcompleteness`` at the first,
    ``other_schedules`` the list of the others' (the further ends of the bracket; empty for one schedule).
    Holm's correction runs within each schedule's family."""
    families = []
    for schedule in schedules:
        at = sorted((s for s in summary.values() if s["patch_size"] == patch_size and s["schedule"] == schedule),
                    key=lambda s: s["n_filters"])
        base = [s for s in at if s["n_filters"] == patch_size ** 2]
        tests = []
        if base:
            d = "nxny_distance"
            tests = [comparison(f"{s['overcompleteness']:g}x", "1x", d, per_seed(s, d), per_seed(base[0], d))
                     for s in at if s["n_filters"] > patch_size ** 2]
        families.append({**family(f"overcompleteness against 1x ({patch_size}x{patch_size} patches, {schedule})",
                                  tests, alpha), "schedule": schedule})
    return {"overcompleteness": families[0], "other_schedules": families[1:]}


#: what a test found at one end of the bracket
FOUND = {"closer": "closer to V1", "farther": "farther from V1", "not significant": "no significant difference",
         "not tested": "no test could be made"}


def finding(test: Mapping) -> str:
    """What one paired test of nx–ny distance found: "closer", "farther" (significant after Holm's
    correction), "not significant", or "not tested" (too few seeds, or the same difference in every seed)."""
    if test.get("significant"):
        return "closer" if test["difference"] < 0 else "farther"
    return "not significant" if math.isfinite(test["p_value"]) else "not tested"


def bracketed_comparison(ends: Sequence[tuple[str, Mapping]]) -> str:
    """One comparison made at every end of the bracket (``(schedule, test)`` pairs), in words: what it found
    where every end agrees ("2x is farther from V1 than 1x at both ends"), otherwise "undetermined, the
    bracket's ends disagree"; each end's statistic follows."""
    (_, first), found = ends[0], [finding(t) for _, t in ends]
    pair = f"{first['a']} against {first['b']}"
    both = "both ends" if len(ends) == 2 else f"all {len(ends)} ends"
    details = "; ".join(f"{schedule}, {FOUND[f]}: {statistic_text(t)}" for (schedule, t), f in zip(ends, found))
    if len(set(found)) > 1:
        return f"{pair}: undetermined, the bracket's ends disagree ({details})"
    if found[0] in ("closer", "farther"):
        return f"{pair}: holds, {first['a']} is {FOUND[found[0]]} than {first['b']} at {both} ({details})"
    return f"{pair}: {FOUND[found[0]]} at {both} ({details})"


def overcompleteness_answer(tests: Mapping) -> str:
    """Whether a more overcomplete dictionary is closer to V1, worded from the tests (claims only
    where significant after Holm's correction): with one schedule, that family's summary; with a bracket of
    schedules, each comparison's verdict where every end agrees, "undetermined" where they disagree."""
    question = "Overcomplete against complete dictionary (nx–ny distance)"
    # results written before the bracket was added have no "other_schedules": one schedule, no bracket
    families = [tests["overcompleteness"], *tests.get("other_schedules", [])]
    if len(families) == 1:
        return family_summary(families[0], question)
    ends = "; ".join(f["schedule"] for f in families)
    made = [bracketed_comparison([(f["schedule"], f["tests"][i]) for f in families])
            for i in range(len(families[0]["tests"]))]
    head = (f"{question}, bracketed over sparse coding's training schedule ({len(families)} ends: {ends}). At each "
            f"end the paired tests across seeds are Holm-corrected at {families[0]['alpha']:g} within that end; a "
            "conclusion is stated only where the ends agree.")
    return f"{head} " + ("; ".join(made) + "." if made else "Nothing to test in this sweep.")


def overcompleteness_table(summary: Mapping, schedules: Sequence[str]) -> str:
    """Markdown table of every setting: means and 95% t-intervals across seeds, by patch size, atoms and
    ``schedules``' order."""
    rows = ["| patch | atoms | overcompleteness | schedule | inference iterations (cap) | seeds | median R² | R² ≥ 0.8 | "
            "resolved units | nx–ny distance | median nx | median ny | blob-like fraction | active fraction |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in sorted(summary.values(), key=lambda s: (s["patch_size"], s["n_filters"], schedules.index(s["schedule"]))):
        rows.append(f"| {s['patch_size']} | {s['n_filters']} | {s['overcompleteness']:g}x | {s['schedule']} | "
                    f"{s['n_iter']} | {s['n_seeds']} | {interval(s, 'median_r2')} | {interval(s, 'frac_r2_0.8')} | "
                    f"{interval(s, 'n_resolved', 0)} | {interval(s, 'nxny_distance')} | {interval(s, 'median_nx')} | "
                    f"{interval(s, 'median_ny')} | {interval(s, 'blob_fraction')} | "
                    f"{interval(s, 'active_fraction', 3)} |")
    return "\n".join(rows)


def report_text(summary: Mapping, tests: Mapping, settings: Mapping) -> str:
    n = sorted({s["n_seeds"] for s in summary.values()})
    seeds = f"{n[0]}" if len(n) == 1 else f"{n[0]}–{n[-1]}"
    families = [tests["overcompleteness"], *tests["other_schedules"]]
    parts = [scorer_sentence(settings), overcompleteness_table(summary, [f["schedule"] for f in families]),
             f"Mean [95% t-interval] across {seeds} seeds (a dash: no seed left enough resolved units). Every "
             f"setting is run with the same seeds, so settings are compared by paired tests across seeds.",
             overcompleteness_answer(tests)]
    for fam in families:
        if fam["tests"]:
            parts.append(f"*{fam['name']}* ({fam['n_tests']} tests, Holm-corrected):\n\n" + comparison_table(fam))
    return "\n\n".join(parts)


# -- the experiment ---------------------------------------------------------------------------

def compute(run) -> None:
    cfg = run.config
    source_images(run)
    rows = run.sweep(evaluate_point, sweep_points(run), backend=cfg["backend"], n_jobs=cfg["n_jobs"],
                     scheduler=cfg["scheduler"] or None, progress=run.progress, resumable=True)
    run.save_csv("sweep.csv", {**{k: [r[k] for r in rows] for k in (*POINT_KEYS, "seed")},
                               "schedule": [schedule_label(r["window_growth"]) for r in rows],
                               "overcompleteness": [r["n_filters"] / r["patch_size"] ** 2 for r in rows],
                               **{m: [r[m] for r in rows] for m in POINT_METRICS}})
    summary = summarise(rows)
    run.save_json("metrics.json", summary)
    schedules = [schedule_label(w) for w in cfg["window_growths"]]
    run.save_json("comparisons.json", {"settings": scorer_config(cfg),
                                       "tests": comparisons(summary, cfg["patch_size"], schedules)})


def plot(run) -> Section:
    cfg = run.config
    summary = run.load_json("metrics.json")
    saved = run.load_json("comparisons.json")
    first, *others = [schedule_label(w) for w in cfg["window_growths"]]
    at = [s for s in summary.values() if s["patch_size"] == cfg["patch_size"]]
    over = sorted((s for s in at if s["schedule"] == first), key=lambda s: s["n_filters"])
    sizes = sorted((s for s in summary.values() if s["n_filters"] == s["patch_size"] ** 2 and s["schedule"] == first),
                   key=lambda s: s["patch_size"])
    fig = new_figure(10, 3.2)
    axes = fig.subplots(1, 2)

    def draw(ax, group, x, metric, marker, label):
        mean = np.array([s[metric] for s in group], dtype=float)
        err = np.nan_to_num(np.vstack([mean - [s[f"{metric}_lo"] for s in group],
                                       [s[f"{metric}_hi"] for s in group] - mean]), nan=0.0)
        ax.errorbar(x, mean, yerr=err, fmt=marker, capsize=3, label=label)

    for ax, group, x, xlabel in ((axes[0], over, [s["overcompleteness"] for s in over],
                                  f"overcompleteness (atoms / pixels, {cfg['patch_size']}x{cfg['patch_size']})"),
                                 (axes[1], sizes, [s["patch_size"] for s in sizes], "patch size (pixels, 1x)")):
        for metric, marker, label in (("median_r2", "o-", "median Gabor R²"),
                                      ("frac_r2_0.8", "s-", "fraction R² ≥ 0.8"),
                                      ("nxny_distance", "^-", "nx–ny distance to V1")):
            draw(ax, group, x, metric, marker, label)
        ax.set(xlabel=xlabel, ylim=(0, 1.05))
        ax.set_xticks(x)
        ax.grid(alpha=0.3)
    for schedule in others:
        group = sorted((s for s in at if s["schedule"] == schedule), key=lambda s: s["n_filters"])
        draw(axes[0], group, [s["overcompleteness"] for s in group], "nxny_distance", "^--",
             f"nx–ny distance, {schedule}")
    axes[0].legend(frameon=False, fontsize=7)
    fig.suptitle("Overcompleteness and patch size")
    path = run.figure_path("overcompleteness")
    save_figure(fig, path)
    bracket = f"; dashed: nx–ny distance at {', '.join(others)}" if others else ""
    return Section("Overcompleteness and patch size", report_text(summary, saved["tests"], saved["settings"]), [
        (f"{path}.png", f"Gabor-likeness and distance to V1 ({saved['settings']['population']} population) against "
                        f"overcompleteness (left) and patch size (right), sparse coding trained with {first}{bracket}; "
                        f"mean and 95% t-interval across seeds.")])


register(Experiment(
    number="07", name="overcompleteness", title="Overcompleteness (1x, 2x, 4x) and patch size",
    description=("Sparse coding (l1) with K = factor × patch pixels atoms, for factors 1, 2 and 4, and complete "
                 "dictionaries for several patch sizes, each with `n_seeds` seeds; each scored by the one scorer "
                 "(Gabor-likeness and nx–ny distance to V1), and each overcompleteness compared with 1x by paired "
                 "tests across seeds with Holm's correction. Inference (compiled coordinate descent, to its "
                 "tolerance) runs at most `n_iter` iterations per code at 1x and factor × `n_iter` above, because "
                 "inference converges more slowly as the dictionary grows more coherent. Training length: `n_steps` "
                 "updates, a sixteenth of the 4,800 at which experiment 12 finds experiment 01's atoms stop moving; "
                 "the distances here are those of equally, and not fully, trained codes, so every overcompleteness "
                 "comparison is bracketed over sparse coding's training schedule (`window_growths`: the current "
                 "schedule and the constant window growth 2 it replaced, each end Holm-corrected on its own): a "
                 "verdict is stated only where the ends agree, otherwise it is undetermined. The first schedule "
                 "also trains the patch-size dictionaries."),
    defaults={"factors": [1.0, 2.0, 4.0], "patch_sizes": [8, 12, 16], "patch_size": 16, "n_seeds": 3, "n_steps": 300,
              "n_iter": 20, "lam": 2.0, "window_growths": SCHEDULE_BRACKET, **SCORER_DEFAULTS, "n_bootstrap": 200,
              "backend": "joblib", "n_jobs": 2, "scheduler": ""},
    quick={**QUICK_MEASUREMENT, "patch_sizes": [6, 8], "patch_size": 8, "n_seeds": 2, "n_steps": 60, "n_jobs": 1},
    keys={"patch_size": Key(int, "pixels", "patch side of the overcompleteness comparison", low=2),
          "window_growths": Key(list, "dimensionless", "sparse coding's running-average schedules (window_growth) the "
                                "overcompleteness verdicts are bracketed over: each verdict holds only where every "
                                "schedule agrees; the first also trains the patch-size dictionaries",
                                check=check_window_growth)},
    compute=compute, plot=plot))
