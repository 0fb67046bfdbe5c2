"""Experiment 07: overcompleteness (1x, 2x, 4x) and patch size.

Every point (each seed its own) is learned and scored by
:func:`effcode.experiments.common.evaluate_point` (the one scorer).  ``compute`` saves the per-seed
rows, the per-setting summary (``metrics.json``: per-seed values, means and 95% t-intervals across
seeds) and the paired tests of each overcompleteness against 1x (``comparisons.json``, Holm's
correction over the family); ``plot`` words the report from those files through the pure functions
below (tested in ``tests/test_report_e06_e07.py``).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..plots.figure import new_figure, save_figure
from ..runs.config import Key
from .base import Experiment, Section, register
from .common import POINT_METRICS, QUICK_MEASUREMENT, SCORER_DEFAULTS, evaluate_point, scorer_config, source_images
from .sweep_report import (ALPHA, comparison, comparison_table, family, family_summary, interval, per_seed,
                           scorer_sentence)

#: the columns that identify a point of this sweep (besides its seed)
POINT_KEYS = ("patch_size", "n_filters", "n_iter")


def sweep_points(run) -> list[dict]:
    """For every seed: overcompleteness factors at ``patch_size``, then patch sizes at 1x; K = factor · patch_size².

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
        points += [{**seeded, "patch_size": cfg["patch_size"], "n_filters": int(f * cfg["patch_size"] ** 2),
                    "n_iter": int(round(cfg["n_iter"] * max(1.0, f)))} for f in cfg["factors"]]
        points += [{**seeded, "patch_size": p, "n_filters": p * p, "n_iter": cfg["n_iter"]} for p in cfg["patch_sizes"]]
    unique = {tuple(sorted((k, str(v)) for k, v in p.items())): p for p in points}
    return list(unique.values())


# -- summary, tests and sentences (pure functions) --------------------------------------------

def setting_key(patch_size: int, n_filters: int) -> str:
    return f"{patch_size}px-{n_filters}"


def summarise(rows: Sequence[Mapping], metrics: Sequence[str] = POINT_METRICS) -> dict:
    """Per-setting summary of per-seed rows (``patch_size``, ``n_filters``, ``n_iter``, ``seed`` and
    ``metrics``), keyed ``"<patch>px-<atoms>"``: ``overcompleteness``, ``seeds``, per-seed ``values``,
    and every metric's mean with its 95% t-interval across seeds (``metric``, ``metric_lo``, ``metric_hi``)."""
    from ..stats import seed_interval

    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(setting_key(row["patch_size"], row["n_filters"]), []).append(row)
    summary = {}
    for key, group in groups.items():
        group = sorted(group, key=lambda r: r["seed"])
        values = {m: [float(r[m]) for r in group] for m in metrics}
        intervals = {m: seed_interval(values[m]) for m in metrics}
        first = group[0]
        summary[key] = {**{k: int(first[k]) for k in POINT_KEYS},
                        "overcompleteness": first["n_filters"] / first["patch_size"] ** 2, "n_seeds": len(group),
                        "seeds": [int(r["seed"]) for r in group], "values": values,
                        **{m: i["mean"] for m, i in intervals.items()},
                        **{f"{m}_lo": i["lo"] for m, i in intervals.items()},
                        **{f"{m}_hi": i["hi"] for m, i in intervals.items()}}
    return summary


def comparisons(summary: Mapping, patch_size: int, alpha: float = ALPHA) -> dict:
    """The family of paired tests (same seeds) of nx–ny distance: each overcompleteness above 1x
    against 1x, at ``patch_size``."""
    at = sorted((s for s in summary.values() if s["patch_size"] == patch_size), key=lambda s: s["n_filters"])
    base = [s for s in at if s["n_filters"] == patch_size ** 2]
    tests = []
    if base:
        d = "nxny_distance"
        tests = [comparison(f"{s['overcompleteness']:g}x", "1x", d, per_seed(s, d), per_seed(base[0], d))
                 for s in at if s["n_filters"] > patch_size ** 2]
    return {"overcompleteness": family(f"overcompleteness against 1x ({patch_size}x{patch_size} patches)", tests,
                                       alpha)}


def overcompleteness_answer(tests: Mapping) -> str:
    """Whether a more overcomplete dictionary is closer to V1, worded from the tests (claims only
    where significant after Holm's correction)."""
    return family_summary(tests["overcompleteness"], "Overcomplete against complete dictionary (nx–ny distance)")


def overcompleteness_table(summary: Mapping) -> str:
    """Markdown table of every setting: means and 95% t-intervals across seeds."""
    rows = ["| patch | atoms | overcompleteness | inference iterations (cap) | seeds | median R² | R² ≥ 0.8 | "
            "resolved units | nx–ny distance | median nx | median ny | blob-like fraction | active fraction |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in sorted(summary.values(), key=lambda s: (s["patch_size"], s["n_filters"])):
        rows.append(f"| {s['patch_size']} | {s['n_filters']} | {s['overcompleteness']:g}x | {s['n_iter']} | "
                    f"{s['n_seeds']} | {interval(s, 'median_r2')} | {interval(s, 'frac_r2_0.8')} | "
                    f"{interval(s, 'n_resolved', 0)} | {interval(s, 'nxny_distance')} | {interval(s, 'median_nx')} | "
                    f"{interval(s, 'median_ny')} | {interval(s, 'blob_fraction')} | "
                    f"{interval(s, 'active_fraction', 3)} |")
    return "\n".join(rows)


def report_text(summary: Mapping, tests: Mapping, settings: Mapping) -> str:
    n = sorted({s["n_seeds"] for s in summary.values()})
    seeds = f"{n[0]}" if len(n) == 1 else f"{n[0]}–{n[-1]}"
    fam = tests["overcompleteness"]
    parts = [scorer_sentence(settings), overcompleteness_table(summary),
             f"Mean [95% t-interval] across {seeds} seeds (a dash: no seed left enough resolved units). Every "
             f"setting is run with the same seeds, so settings are compared by paired tests across seeds.",
             overcompleteness_answer(tests)]
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
                               "overcompleteness": [r["n_filters"] / r["patch_size"] ** 2 for r in rows],
                               **{m: [r[m] for r in rows] for m in POINT_METRICS}})
    summary = summarise(rows)
    run.save_json("metrics.json", summary)
    run.save_json("comparisons.json", {"settings": scorer_config(cfg),
                                       "tests": comparisons(summary, cfg["patch_size"])})


def plot(run) -> Section:
    cfg = run.config
    summary = run.load_json("metrics.json")
    saved = run.load_json("comparisons.json")
    over = sorted((s for s in summary.values() if s["patch_size"] == cfg["patch_size"]), key=lambda s: s["n_filters"])
    sizes = sorted((s for s in summary.values() if s["n_filters"] == s["patch_size"] ** 2),
                   key=lambda s: s["patch_size"])
    fig = new_figure(10, 3.2)
    axes = fig.subplots(1, 2)
    for ax, group, x, xlabel in ((axes[0], over, [s["overcompleteness"] for s in over],
                                  f"overcompleteness (atoms / pixels, {cfg['patch_size']}x{cfg['patch_size']})"),
                                 (axes[1], sizes, [s["patch_size"] for s in sizes], "patch size (pixels, 1x)")):
        for metric, marker, label in (("median_r2", "o-", "median Gabor R²"),
                                      ("frac_r2_0.8", "s-", "fraction R² ≥ 0.8"),
                                      ("nxny_distance", "^-", "nx–ny distance to V1")):
            mean = np.array([s[metric] for s in group], dtype=float)
            err = np.nan_to_num(np.vstack([mean - [s[f"{metric}_lo"] for s in group],
                                           [s[f"{metric}_hi"] for s in group] - mean]), nan=0.0)
            ax.errorbar(x, mean, yerr=err, fmt=marker, capsize=3, label=label)
        ax.set(xlabel=xlabel, ylim=(0, 1.05))
        ax.set_xticks(x)
        ax.grid(alpha=0.3)
    axes[0].legend(frameon=False, fontsize=8)
    fig.suptitle("Overcompleteness and patch size")
    path = run.figure_path("overcompleteness")
    save_figure(fig, path)
    return Section("Overcompleteness and patch size", report_text(summary, saved["tests"], saved["settings"]), [
        (f"{path}.png", f"Gabor-likeness and distance to V1 ({saved['settings']['population']} population) against "
                        f"overcompleteness (left) and patch size (right); mean and 95% t-interval across seeds.")])


register(Experiment(
    number="07", name="overcompleteness", title="Overcompleteness (1x, 2x, 4x) and patch size",
    description=("Sparse coding (l1) with K = factor × patch pixels atoms, for factors 1, 2 and 4, and complete "
                 "dictionaries for several patch sizes, each with `n_seeds` seeds; each scored by the one scorer "
                 "(Gabor-likeness and nx–ny distance to V1), and each overcompleteness compared with 1x by paired "
                 "tests across seeds with Holm's correction. Inference (compiled coordinate descent, to its "
                 "tolerance) runs at most `n_iter` iterations per code at 1x and factor × `n_iter` above, because "
                 "inference converges more slowly as the dictionary grows more coherent. Training length: `n_steps` updates, a sixteenth of the 4,800 at which experiment 12 finds "
                 "experiment 01's atoms stop moving; the distances here are those of equally, and not fully, "
                 "trained codes."),
    defaults={"factors": [1.0, 2.0, 4.0], "patch_sizes": [8, 12, 16], "patch_size": 16, "n_seeds": 3, "n_steps": 300,
              "n_iter": 20, "lam": 2.0, **SCORER_DEFAULTS, "n_bootstrap": 200, "backend": "joblib", "n_jobs": 2,
              "scheduler": ""},
    quick={**QUICK_MEASUREMENT, "patch_sizes": [6, 8], "patch_size": 8, "n_seeds": 2, "n_steps": 60, "n_jobs": 1},
    keys={"patch_size": Key(int, "pixels", "patch side of the overcompleteness comparison", low=2)},
    compute=compute, plot=plot))
