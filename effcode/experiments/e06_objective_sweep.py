"""Experiment 06: does harder sparseness move the population toward V1? (Rehn & Sommer 2007)."""

from __future__ import annotations

import numpy as np

from ..plots.figure import new_figure, save_figure
from .base import Experiment, Section, register
from .common import evaluate_point, fmt, source_images

METRICS = ("median_r2", "nxny_distance", "nxny_null_95", "median_nx", "median_ny", "active_fraction", "frac_r2_0.8")


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
             "patch_size": cfg["patch_size"], "device": run.device, "r2_threshold": cfg["r2_threshold"],
             "n_bootstrap": cfg["n_bootstrap"], "n_steps": cfg["n_steps"]}
    return [{**fixed, **objective_settings(cfg, objective, level), "seed": run.seed + s, "level": level}
            for objective in cfg["objectives"] for level in cfg["levels"] for s in range(cfg["n_seeds"])]


def _evaluate(point: dict) -> dict:
    point = dict(point)
    point.pop("level")
    return evaluate_point(point)


def _finite_stat(stat, values) -> float:
    """``stat`` over the finite values (NaN when a setting left no well-fit units in any seed)."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    return float(stat(finite)) if finite.size else float("nan")


def compute(run) -> None:
    from ..objectives import OBJECTIVES

    cfg = run.config
    for name in cfg["objectives"]:
        OBJECTIVES.get(name)  # fail fast, listing the known objectives
    source_images(run)
    points = sweep_points(run)
    rows = run.sweep(_evaluate, points, backend=cfg["backend"], n_jobs=cfg["n_jobs"],
                     scheduler=cfg["scheduler"] or None, progress=run.progress)
    run.save_csv("sweep.csv", {"objective": [r["objective"] for r in rows], "level": [r["level"] for r in rows],
                               "seed": [r["seed"] for r in rows], **{m: [r[m] for r in rows] for m in METRICS}})
    summary = {}
    for objective in cfg["objectives"]:
        for level in cfg["levels"]:
            group = [r for r in rows if r["objective"] == objective and r["level"] == level]
            summary[f"{objective}@{level}"] = {
                "objective": objective, "level": level, "n_seeds": len(group),
                **{m: _finite_stat(np.mean, [r[m] for r in group]) for m in METRICS},
                **{f"{m}_sd": _finite_stat(np.std, [r[m] for r in group]) for m in METRICS}}
    run.save_json("metrics.json", summary)


HARD_PENALTIES, SOFT_PENALTIES = ("l0", "topk"), ("l1", "cauchy")


def harder_sparseness_answer(summary: dict) -> str:
    """Two generated sentences on the experiment's question, read from ``summary``: how the nx–ny
    distance moves as the level rises within each objective, and how often a hard penalty (l0, topk)
    is closer to V1 than a soft one (l1, cauchy) at the same level."""
    by = {(s["objective"], s["level"]): s["nxny_distance"] for s in summary.values()}
    levels = sorted({level for _, level in by})
    objectives = list(dict.fromkeys(objective for objective, _ in by))
    sentences = []
    if len(levels) > 1:
        changes = {o: by[(o, levels[-1])] - by[(o, levels[0])] for o in objectives}
        closer = [o for o, change in changes.items() if change < 0]
        listed = ", ".join(f"{o} {change:+.2f}" for o, change in changes.items())
        sentences.append(f"Raising the level from {levels[0]:g} to {levels[-1]:g} changes the distance by {listed}: "
                         f"{len(closer)} of {len(changes)} objectives move toward V1.")
    hard = [o for o in HARD_PENALTIES if o in objectives]
    soft = [o for o in SOFT_PENALTIES if o in objectives]
    pairs = [(by[(h, level)], by[(s, level)]) for level in levels for h in hard for s in soft]
    if pairs:
        wins = sum(h < s for h, s in pairs)
        sentences.append(f"At equal level, a hard penalty ({', '.join(hard)}) is closer to V1 than a soft one "
                         f"({', '.join(soft)}) in {wins} of {len(pairs)} comparisons.")
    return " ".join(sentences)


def dense_objectives_remark(summary: dict) -> str:
    """A sentence naming the objectives whose codes have no exact zeros (active fraction 1 at every level)."""
    dense = [o for o in dict.fromkeys(s["objective"] for s in summary.values())
             if all(s["active_fraction"] >= 0.999 for s in summary.values() if s["objective"] == o)]
    if not dense:
        return ""
    one = len(dense) == 1
    return (f" {', '.join(dense)} leave{'s' if one else ''} no exact zeros in the codes (active fraction 1 at every "
            f"level), so on the activity axis {'its' if one else 'their'} levels stack at 1.")


def plot(run) -> Section:
    from .. import v1

    summary = run.load_json("metrics.json")
    objectives = list(dict.fromkeys(s["objective"] for s in summary.values()))
    fig = new_figure(12, 3.4)
    axes = fig.subplots(1, 3)
    ref = v1.ringach2002_nxny_histogram()
    for objective in objectives:
        group = sorted((s for s in summary.values() if s["objective"] == objective), key=lambda s: s["level"])
        x = [s["active_fraction"] for s in group]
        axes[0].errorbar(x, [s["nxny_distance"] for s in group], yerr=[s["nxny_distance_sd"] for s in group],
                         marker="o", capsize=3, label=objective)
        axes[1].errorbar(x, [s["median_r2"] for s in group], yerr=[s["median_r2_sd"] for s in group],
                         marker="o", capsize=3, label=objective)
        axes[2].errorbar([s["median_nx"] for s in group], [s["median_ny"] for s in group],
                         xerr=[s["median_nx_sd"] for s in group], yerr=[s["median_ny_sd"] for s in group],
                         marker="o", capsize=3, label=objective)
    null_95 = np.nanmean([s["nxny_null_95"] for s in summary.values()])
    axes[0].axhline(null_95, color="k", ls="--", lw=1, label="V1 vs 79-cell V1 draws (95%)")
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
    rows = ["| objective | level | active fraction | median R² | nx–ny distance | median nx | median ny |",
            "|---|---|---|---|---|---|---|"]
    for s in summary.values():
        rows.append(f"| {s['objective']} | {s['level']} | {fmt(s['active_fraction'], 3)} | "
                    f"{fmt(s['median_r2'])} ± {fmt(s['median_r2_sd'])} | "
                    f"{fmt(s['nxny_distance'])} ± {fmt(s['nxny_distance_sd'])} | {fmt(s['median_nx'])} | "
                    f"{fmt(s['median_ny'])} |")
    best = min(summary.values(), key=lambda s: np.nan_to_num(s["nxny_distance"], nan=np.inf))
    text = "\n".join(rows) + (
        f"\n\nMean ± SD over {best['n_seeds']} seeds. The setting closest to V1's nx–ny distribution is "
        f"{best['objective']} at level {best['level']} (distance {fmt(best['nxny_distance'])}, "
        f"fraction active {fmt(best['active_fraction'], 3)}). " + harder_sparseness_answer(summary)
        + dense_objectives_remark(summary))
    return Section("Objective and sparsity sweep", text, [
        (f"{path}.png", "Distance to V1's nx–ny distribution, Gabor-likeness and population medians against "
                        "the measured fraction of active coefficients, per objective (mean ± SD over seeds).")])


register(Experiment(
    number="06", name="objective_sweep", title="Objective and sparsity sweep (Rehn & Sommer 2007)",
    description=("Sparse coding with each penalty S in `objectives` at several sparsity levels and seeds; each "
                 "dictionary is scored by Gabor-likeness and by the total-variation distance of its well-fit "
                 "units' (nx, ny) to Ringach (2002). Level multiplies the penalty weight λ (for topk it divides "
                 "the number of winners k). Any registered objective can be named, a user's own included."),
    defaults={"objectives": ["l1", "cauchy", "l0", "topk"], "levels": [0.5, 1.0, 2.0], "n_seeds": 3,
              "n_filters": 256, "patch_size": 16, "n_steps": 300, "base_lam": {"l1": 2.0, "cauchy": 2.0, "l0": 1.0},
              "default_lam": 2.0, "topk_k": 12, "r2_threshold": 0.7, "n_bootstrap": 200,
              "backend": "joblib", "n_jobs": 1, "scheduler": ""},
    quick={"levels": [1.0, 2.0], "n_seeds": 2, "n_filters": 32, "patch_size": 10, "n_steps": 60, "topk_k": 4},
    compute=compute, plot=plot))
