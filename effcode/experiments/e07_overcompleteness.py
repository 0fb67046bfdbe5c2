"""Experiment 07: overcompleteness (1x, 2x, 4x) and patch size."""

from __future__ import annotations

import numpy as np

from ..plots.figure import new_figure, save_figure
from .base import Experiment, Section, register
from .common import evaluate_point, fmt, source_images

METRICS = ("median_r2", "frac_r2_0.8", "nxny_distance", "median_nx", "median_ny", "active_fraction")


def sweep_points(run) -> list[dict]:
    """Overcompleteness factors at ``patch_size``, then patch sizes at 1x; K = factor · patch_size².

    FISTA converges more slowly as the dictionary grows more coherent, so the inference iterations
    scale with overcompleteness (``n_iter`` at 1x, ``factor · n_iter`` above): with 20 iterations a 4x
    dictionary is coded so loosely that learning stalls (measured: loss 67 and median R² 0.73 after
    300 updates, against 54 and 0.90 with 100 iterations).
    """
    cfg = run.config
    fixed = {"method": "sparse_coding", "source": cfg["source"], "device": run.device, "seed": run.seed,
             "r2_threshold": cfg["r2_threshold"], "n_bootstrap": cfg["n_bootstrap"], "n_steps": cfg["n_steps"],
             "lam": cfg["lam"]}
    points = [{**fixed, "patch_size": cfg["patch_size"], "n_filters": int(f * cfg["patch_size"] ** 2),
               "n_iter": int(round(cfg["n_iter"] * max(1.0, f)))} for f in cfg["factors"]]
    points += [{**fixed, "patch_size": p, "n_filters": p * p, "n_iter": cfg["n_iter"]} for p in cfg["patch_sizes"]]
    unique = {tuple(sorted((k, str(v)) for k, v in p.items())): p for p in points}
    return list(unique.values())


def compute(run) -> None:
    cfg = run.config
    source_images(run)
    rows = run.sweep(evaluate_point, sweep_points(run), backend=cfg["backend"], n_jobs=cfg["n_jobs"],
                     progress=run.progress)
    run.save_csv("sweep.csv", {"patch_size": [r["patch_size"] for r in rows],
                               "n_filters": [r["n_filters"] for r in rows],
                               "overcompleteness": [r["n_filters"] / r["patch_size"] ** 2 for r in rows],
                               "n_iter": [r["n_iter"] for r in rows],
                               **{m: [r[m] for r in rows] for m in METRICS}})
    run.save_json("metrics.json", {"rows": [{k: r[k] for k in ("patch_size", "n_filters", "n_iter", *METRICS)}
                                            for r in rows]})


def plot(run) -> Section:
    cfg = run.config
    rows = run.load_json("metrics.json")["rows"]
    over = sorted((r for r in rows if r["patch_size"] == cfg["patch_size"]), key=lambda r: r["n_filters"])
    sizes = sorted((r for r in rows if r["n_filters"] == r["patch_size"] ** 2), key=lambda r: r["patch_size"])
    fig = new_figure(10, 3.2)
    axes = fig.subplots(1, 2)
    for ax, group, x, xlabel in ((axes[0], over, [r["n_filters"] / cfg["patch_size"] ** 2 for r in over],
                                  f"overcompleteness (atoms / pixels, {cfg['patch_size']}x{cfg['patch_size']})"),
                                 (axes[1], sizes, [r["patch_size"] for r in sizes], "patch size (pixels, 1x)")):
        ax.plot(x, [r["median_r2"] for r in group], "o-", label="median Gabor R²")
        ax.plot(x, [r["frac_r2_0.8"] for r in group], "s-", label="fraction R² ≥ 0.8")
        ax.plot(x, [r["nxny_distance"] for r in group], "^-", label="nx–ny distance to V1")
        ax.set(xlabel=xlabel, ylim=(0, 1.05))
        ax.set_xticks(x)
        ax.grid(alpha=0.3)
    axes[0].legend(frameon=False, fontsize=8)
    fig.suptitle("Overcompleteness and patch size")
    path = run.figure_path("overcompleteness")
    save_figure(fig, path)
    table = ["| patch | atoms | overcompleteness | FISTA iterations | median R² | R² ≥ 0.8 | nx–ny distance | "
             "median nx | median ny | active fraction |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["patch_size"], r["n_filters"])):
        table.append(f"| {r['patch_size']} | {r['n_filters']} | {r['n_filters'] / r['patch_size'] ** 2:g}x | "
                     f"{r['n_iter']} | "
                     f"{fmt(r['median_r2'])} | {fmt(r['frac_r2_0.8'])} | {fmt(r['nxny_distance'])} | "
                     f"{fmt(r['median_nx'])} | {fmt(r['median_ny'])} | {fmt(r['active_fraction'], 3)} |")
    return Section("Overcompleteness and patch size", "\n".join(table), [
        (f"{path}.png", "Gabor-likeness and distance to V1 against overcompleteness (left) and patch size (right).")])


register(Experiment(
    number="07", name="overcompleteness", title="Overcompleteness (1x, 2x, 4x) and patch size",
    description=("Sparse coding (l1) with K = factor × patch pixels atoms, for factors 1, 2 and 4, and complete "
                 "dictionaries for several patch sizes; each scored by Gabor-likeness and nx–ny distance to V1. "
                 "FISTA runs `n_iter` iterations per code at 1x and factor × `n_iter` above, because inference "
                 "converges more slowly as the dictionary grows more coherent."),
    defaults={"factors": [1.0, 2.0, 4.0], "patch_sizes": [8, 12, 16], "patch_size": 16, "n_steps": 300, "n_iter": 20,
              "lam": 2.0, "r2_threshold": 0.7, "n_bootstrap": 200, "backend": "joblib", "n_jobs": 1},
    quick={"patch_sizes": [6, 8], "patch_size": 8, "n_steps": 60},
    compute=compute, plot=plot))
