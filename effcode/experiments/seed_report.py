"""Statistics across seeds as report text, for experiments 01-04: pure functions of the saved
per-seed metrics (tested in ``tests/test_report_e01_e04.py``)."""

from __future__ import annotations

import math

from ..stats import seed_interval
from ..validation import check_int
from .common import fmt

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


def seeds_note(n: int, image_fraction: float | None = None) -> str:
    """The sentences that say what the intervals of a section are, and, given the config's
    ``image_fraction``, what a seed varies (:func:`images_note`)."""
    images = "" if image_fraction is None else " " + images_note(image_fraction)
    if n == 1:
        return "One seed: no interval across seeds can be given." + images
    return (f"Values are the mean and 95% t-interval over {n} seeds, clipped to the possible range (0–100% for "
            "fractions, at most 1 for R²)." + images)


def images_note(image_fraction: float) -> str:
    """What a seed varies, from the config key ``image_fraction`` (:func:`effcode.data.seed_images`): its
    own random share of the images, so that intervals over seeds include variation over images, or,
    at 1, only the initialisation and patch order."""
    if image_fraction >= 1:
        return ("Every seed learned from all the images, so intervals over seeds show the variation due to "
                "initialisation and patch order only, not over images.")
    return (f"Each seed learned from its own random {100 * image_fraction:.0f}% of the images, so intervals over "
            "seeds include the variation over images as well as over initialisation and patch order.")


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
    ``alpha``; "no test" with fewer than two seeds or a difference that is the same in every seed
    (no p-value exists; :func:`difference_text` says it in words); "not shown" otherwise."""
    p = test["p_value"] if p_value is None else p_value
    if test["n"] < 2 or not math.isfinite(p):
        return "no test"
    if p < alpha and test["lo"] > 0:
        return "higher"
    if p < alpha and test["hi"] < 0:
        return "lower"
    return "not shown"


def dz_text(test: dict) -> str:
    """Cohen's d_z of a paired test with its exact 95% interval, "3.1 [0.5, 5.7]"; an en dash where the
    test gives none (one seed, or the same difference in every seed)."""
    if not math.isfinite(test["cohens_dz"]):
        return "–"
    return f"{fmt(test['cohens_dz'], 1)} [{fmt(test['dz_lo'], 1)}, {fmt(test['dz_hi'], 1)}]"


def p_text(p: float) -> str:
    if not math.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def difference_text(test: dict, digits: int = 2) -> str:
    """A paired test over seeds in words: "+0.05 [0.02, 0.08], p = 0.010, Cohen's dz = 3.1 [0.5, 5.7]"
    (the mean difference and d_z each with its 95% interval); a difference without spread is said as
    such: "identical in every seed (3 seeds)" or "+0.05 in every seed (3 seeds; no p-value or dz
    without spread)"."""
    if test["n"] < 2:
        return f"{fmt(test['difference'], digits)} (one seed: no test)"
    if test["constant"]:
        if test["difference"] == 0:
            return f"identical in every seed ({test['n']} seeds)"
        return (f"{test['difference']:+.{digits}f} in every seed ({test['n']} seeds; no p-value or dz without "
                "spread)")
    p = p_text(test["p_value"])
    return (f"{test['difference']:+.{digits}f} [{fmt(test['lo'], digits)}, {fmt(test['hi'], digits)}], "
            f"p {p if p.startswith('<') else '= ' + p}, Cohen's dz = {dz_text(test)}")


def summarise(per_seed: list[dict], keys) -> dict:
    """:func:`effcode.stats.seed_interval` of each metric in ``keys`` across seeds."""
    return {key: seed_interval(column(per_seed, key)) for key in keys}


def steps_text(per_seed: list[dict]) -> str:
    steps = sorted({row["n_steps"] for row in per_seed})
    return str(steps[0]) if len(steps) == 1 else f"{steps[0]}–{steps[-1]}"
