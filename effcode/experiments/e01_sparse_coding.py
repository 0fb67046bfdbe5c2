"""Experiment 01: sparse coding on natural images (the Olshausen & Field 1996 figure).

The module also holds the report helpers of experiments 01-04 (statistics across seeds as
text): pure functions of saved per-seed metrics, tested in ``tests/test_report_e01_e04.py``.
"""

from __future__ import annotations

import math

import numpy as np

from ..plots import filter_mosaic, r2_histogram
from ..plots.figure import new_figure, save_figure
from ..stats import seed_interval
from ..validation import check_int
from .base import Experiment, Section, register
from .common import BankSpec, fmt, gabor_table, learned_bank, r2_summary, source_images

# ----------------------------------------------------------------- report helpers (experiments 01-04)

#: significance level of every claim the sections of experiments 01-04 make
ALPHA = 0.05
#: the range an R² can take (intervals of median R² are clipped to it)
R2_BOUNDS = (-math.inf, 1.0)


def bounds_of(key: str, percent: bool) -> tuple | None:
    """The range of the metric ``key``: R² at most 1, fractions within 0-1 (None: unbounded)."""
    if percent:
        return (0.0, 1.0)
    return R2_BOUNDS if "r2" in key else None


def seed_list(cfg: dict, seed: int) -> list[int]:
    """The seeds a run learns with: ``seed``, ``seed + 1``, ... (config key ``n_seeds``)."""
    return [int(seed) + i for i in range(check_int("n_seeds", cfg["n_seeds"], minimum=1))]


def column(per_seed: list[dict], key: str, population: str | None = None) -> list[float]:
    """One metric across seeds: ``per_seed[i][key]`` (or ``per_seed[i][population][key]``)."""
    return [float((row[population] if population else row)[key]) for row in per_seed]


def interval_text(values, digits: int | None = None, percent: bool = False, bounds: tuple | None = None) -> str:
    """Mean of per-seed ``values`` with its 95% t-interval, "0.95 [0.94, 0.96]" ("89% [85%, 93%]"
    with ``percent``, values being fractions; ``digits`` default 2, 0 for percentages); one value:
    "0.95 (one seed)".  The interval is clipped to ``bounds`` (lo, hi), the range the statistic can
    take (default: 0 to 1 for fractions, none otherwise; :data:`R2_BOUNDS` for an R²)."""
    iv = seed_interval(values)
    bounds = ((0.0, 1.0) if percent else None) if bounds is None else bounds
    if bounds is not None and iv["n"] > 1:
        iv = {**iv, "lo": max(iv["lo"], bounds[0]), "hi": min(iv["hi"], bounds[1])}
    scale, unit = (100.0, "%") if percent else (1.0, "")
    digits = (0 if percent else 2) if digits is None else digits

    def number(x):
        return f"{fmt(scale * x, digits)}{unit}" if math.isfinite(x) else "–"

    if iv["n"] == 0:
        return "–"
    if iv["n"] == 1:
        return f"{number(iv['mean'])} (one seed)"
    return f"{number(iv['mean'])} [{number(iv['lo'])}, {number(iv['hi'])}]"


def seeds_note(n: int) -> str:
    """The sentence that says what the intervals of a section are."""
    if n == 1:
        return "One seed: no interval across seeds can be given."
    return (f"Values are the mean and 95% t-interval over {n} seeds, clipped to the possible range (0–100% for "
            "fractions, at most 1 for R²).")


def seeds_phrase(per_seed: list[dict]) -> str:
    """"3 seeds (0, 1, 2)"."""
    n = len(per_seed)
    return f"{n} seed{'s' if n != 1 else ''} ({', '.join(str(row['seed']) for row in per_seed)})"


def pooled_note(n: int) -> str:
    """How a figure that pools the units of every seed says so."""
    return "of the one seed" if n == 1 else f"pooled over the {n} seeds"


def seed_table(per_seed: list[dict], columns: list[tuple], population: str | None = None) -> str:
    """Markdown table: one row per seed and a last row "mean [95% CI]".

    ``columns``: (key, header, digits, percent) of the metrics shown (``percent``: fractions shown
    as percentages with ``digits`` decimals).
    """
    head = "| seed | " + " | ".join(c[1] for c in columns) + " |"
    rows = [head, "|" + "---|" * (len(columns) + 1)]
    for row in per_seed:
        values = row[population] if population else row
        cells = [f"{fmt((100 if pct else 1) * values[key], digits)}{'%' if pct else ''}"
                 for key, _, digits, pct in columns]
        rows.append(f"| {row['seed']} | " + " | ".join(cells) + " |")
    if len(per_seed) > 1:
        cells = [interval_text(column(per_seed, key, population), digits, pct, bounds_of(key, pct))
                 for key, _, digits, pct in columns]
        rows.append("| mean [95% CI] | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def verdict(test: dict, p_value: float | None = None, alpha: float = ALPHA) -> str:
    """What a paired test (:func:`effcode.stats.paired_test` of a − b over seeds) shows:
    "higher" (a > b) or "lower" (a < b) when there are at least two seeds, the 95% interval of the
    mean difference excludes 0 and ``p_value`` (the test's own, or an adjusted one) is below
    ``alpha``; "no test" with fewer than two seeds; "not shown" otherwise."""
    p = test["p_value"] if p_value is None else p_value
    if test["n"] < 2 or not math.isfinite(p):
        return "no test"
    if p < alpha and test["lo"] > 0:
        return "higher"
    if p < alpha and test["hi"] < 0:
        return "lower"
    return "not shown"


def dz_text(dz: float) -> str:
    if math.isinf(dz):
        return "∞" if dz > 0 else "−∞"
    return fmt(dz, 1)


def p_text(p: float) -> str:
    if not math.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def difference_text(test: dict, digits: int = 2) -> str:
    """"+0.05 [0.02, 0.08], p = 0.010, Cohen's dz = 3.1" for a paired test over seeds."""
    if test["n"] < 2:
        return f"{fmt(test['difference'], digits)} (one seed: no test)"
    p = p_text(test["p_value"])
    return (f"{test['difference']:+.{digits}f} [{fmt(test['lo'], digits)}, {fmt(test['hi'], digits)}], "
            f"p {p if p.startswith('<') else '= ' + p}, Cohen's dz = {dz_text(test['cohens_dz'])}")


# ----------------------------------------------------------------- the experiment

#: per-seed metrics of the section, with how the seed table shows them
COLUMNS = [("median_r2", "median R²", 2, False), ("frac_r2_0.8", "R² ≥ 0.8", 0, True),
           ("frac_r2_0.9", "R² ≥ 0.9", 0, True),
           ("final_reconstruction_error", "rel. reconstruction error", 3, False),
           ("final_sparsity", "non-zero coefficients", 3, False)]


def bank_spec(cfg: dict, seed: int) -> BankSpec:
    """The sparse-coding bank of config ``cfg`` learned with ``seed`` (the standard "sparse coding")."""
    return BankSpec("sparse_coding", patch_size=cfg["patch_size"], n_filters=cfg["n_filters"], seed=seed,
                    params={"lam": cfg["lam"], "objective": cfg["objective"], "n_steps": cfg["n_steps"]})


def seed_metrics(seed: int, r2, history: dict) -> dict:
    """The metrics of one seed's bank: the R² summary of its atoms and the end of its training record."""
    return {"seed": int(seed), **r2_summary(r2), "final_loss": float(history["loss"][-1]),
            "final_sparsity": float(history["sparsity"][-1]),
            "final_reconstruction_error": float(history["reconstruction_error"][-1]),
            "n_steps": int(len(history["loss"]))}


def summarise(per_seed: list[dict], keys) -> dict:
    """:func:`effcode.stats.seed_interval` of each metric in ``keys`` across seeds."""
    return {key: seed_interval(column(per_seed, key)) for key in keys}


def compute(run) -> None:
    cfg = run.config
    images = source_images(run)
    per_seed, r2, histories = [], {}, {}
    for j, seed in enumerate(seed_list(cfg, run.seed)):
        bank = learned_bank(run, bank_spec(cfg, seed), images)
        table = gabor_table(run, bank.basis)
        if j == 0:
            bank.save(run.path("filter_bank.npz"))
            run.save_csv("gabor_fits.csv", table)
        per_seed.append(seed_metrics(seed, table["r2"], bank.history))
        r2[f"r2_seed{seed}"] = table["r2"]
        histories.update({f"{key}_seed{seed}": bank.history[key]
                          for key in ("loss", "reconstruction_error", "sparsity")})
    run.save_npz("r2_by_seed.npz", **r2)
    run.save_npz("histories.npz", **histories)
    run.save_json("metrics.json", {"n_filters": cfg["n_filters"], "patch_size": cfg["patch_size"],
                                   "seeds": [row["seed"] for row in per_seed], "per_seed": per_seed,
                                   "summary": summarise(per_seed, [c[0] for c in COLUMNS] + ["final_loss"])})


def steps_text(per_seed: list[dict]) -> str:
    steps = sorted({row["n_steps"] for row in per_seed})
    return str(steps[0]) if len(steps) == 1 else f"{steps[0]}–{steps[-1]}"


def summary_text(metrics: dict) -> str:
    """The section's text from the saved metrics (``metrics.json``)."""
    ps = metrics["per_seed"]
    n, p = len(ps), metrics["patch_size"]
    return (f"{metrics['n_filters']} atoms of {p}x{p} pixels after {steps_text(ps)} dictionary updates, learned "
            f"with {seeds_phrase(ps)}: median Gabor R² "
            f"{interval_text(column(ps, 'median_r2'), bounds=R2_BOUNDS)}; atoms with R² ≥ 0.8: "
            f"{interval_text(column(ps, 'frac_r2_0.8'), percent=True)} (R² ≥ 0.9: "
            f"{interval_text(column(ps, 'frac_r2_0.9'), percent=True)}). Final relative reconstruction error "
            f"{interval_text(column(ps, 'final_reconstruction_error'), 3)}, fraction of non-zero coefficients "
            f"{interval_text(column(ps, 'final_sparsity'), 3)}. {seeds_note(n)}\n\n"
            + seed_table(ps, COLUMNS))


def figure_captions(metrics: dict) -> dict[str, str]:
    """Captions of the section's figures (which seed or seeds each shows)."""
    seeds = metrics["seeds"]
    first, n = seeds[0], len(seeds)
    return {"basis": f"The learned basis functions (dictionary atoms) of seed {first}, as in Olshausen & Field "
                     "(1996).",
            "training": f"Loss, reconstruction error and sparsity over training, one line per seed ({n} "
                        f"seed{'s' if n != 1 else ''}).",
            "basis_vs_gabor": f"Atoms of seed {first} beside their fitted Gabors, ordered by R².",
            "r2_histogram": f"R² of the Gabor fits, atoms {pooled_note(n)}; dashed lines at 0.7, 0.8 and 0.9."}


def training_curves(histories: dict, seeds: list[int], path) -> None:
    """Loss, reconstruction error and fraction of active units against the update step, one line per seed."""
    fig = new_figure(9, 2.8)
    axes = fig.subplots(1, 3)
    for ax, key, label in zip(axes, ("loss", "reconstruction_error", "sparsity"),
                              ("energy per patch (unit-RMS units)", "relative reconstruction error",
                               "fraction of non-zero coefficients")):
        for seed in seeds:
            values = histories[f"{key}_seed{seed}"]
            ax.plot(np.arange(1, len(values) + 1), values, lw=1, label=f"seed {seed}")
        ax.set_xlabel("dictionary update")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[0].legend(frameon=False, fontsize=7)
    fig.suptitle("Sparse coding: training record")
    save_figure(fig, path)


def plot(run) -> Section:
    from ..gabor import render_gabors
    from ..learners import FilterBank

    bank = FilterBank.load(run.path("filter_bank.npz"))
    table = run.load_csv("gabor_fits.csv")
    metrics = run.load_json("metrics.json")
    r2 = run.load_npz("r2_by_seed.npz")
    captions = figure_captions(metrics)
    paths = {name: run.figure_path(name) for name in captions}
    filter_mosaic(bank.basis, order="index", title=f"Sparse-coding basis ({bank.n_filters} atoms)",
                  path=paths["basis"])
    filter_mosaic(bank.basis, fitted=render_gabors(table, bank.patch_shape), r2=table["r2"], max_filters=64,
                  title="Atoms (left) and fitted Gabors (right), best R² first", path=paths["basis_vs_gabor"])
    training_curves(run.load_npz("histories.npz"), metrics["seeds"], paths["training"])
    r2_histogram({"sparse coding": np.concatenate([r2[f"r2_seed{s}"] for s in metrics["seeds"]])},
                 title="Gabor fit of the sparse-coding basis", path=paths["r2_histogram"])
    return Section("Sparse coding on natural images", summary_text(metrics),
                   [(f"{paths[name]}.png", caption) for name, caption in captions.items()])


register(Experiment(
    number="01", name="sparse_coding", title="Sparse coding on natural images (Olshausen & Field 1996)",
    description=("Sparse coding minimises ½‖x − Φa‖² + λ·S(a) over codes a and unit-norm atoms Φ, on "
                 "Olshausen–Field-whitened 16x16 patches of the default images. The learned atoms are fitted "
                 "with Gabors. The dictionary is learned with several seeds (config key n_seeds)."),
    defaults={"n_filters": 256, "patch_size": 16, "lam": 2.0, "objective": "l1", "n_steps": 2400, "n_seeds": 3},
    quick={"n_filters": 64, "n_steps": 150, "n_seeds": 2},
    compute=compute, plot=plot, bank=bank_spec))
