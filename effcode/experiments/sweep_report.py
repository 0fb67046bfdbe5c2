"""Paired comparisons of sweep settings across seeds, and their wording, for experiments 06 and 07.

A sentence that one setting is closer to V1 than another is made only from a paired test across
seeds (:func:`effcode.stats.paired_test`: difference, 95% interval, p, Cohen's d_z with its exact
95% interval), significant at 5% after Holm's correction over the family of tests that answer the
same question.  A difference that is the same in every seed has no spread, hence no p-value or d_z:
it is said in words and does not count as a test.  Pure functions, tested in
``tests/test_report_e06_e07.py``.
"""

from __future__ import annotations

import math
from typing import Mapping

from ..stats import holm, paired_test
from ..v1.claims import from_paired_test
from .common import fmt

#: what a lower value of each compared metric means, and its name in sentences
METRIC_WORDS = {
    "nxny_distance": ("nx–ny distance", "is closer to V1 than", "is farther from V1 than"),
    "median_nx": ("median nx", "has a lower median nx (fewer subfields) than", "has a higher median nx than"),
    "median_ny": ("median ny", "has a lower median ny (less elongated) than", "has a higher median ny than"),
    "blob_fraction": ("blob-like fraction", "has fewer blob-like units than", "has more blob-like units than"),
    "median_r2": ("median R²", "has a lower median R² than", "has a higher median R² than"),
    "nx_spread": ("spread of log nx", "has less diverse nx (narrower spread of log nx) than",
                  "has more diverse nx (wider spread of log nx) than"),
    "ny_spread": ("spread of log ny", "has less diverse ny (narrower spread of log ny) than",
                  "has more diverse ny (wider spread of log ny) than"),
}


#: the metrics that test Rehn & Sommer's (2007) claim (:data:`effcode.v1.claims.REHN_SOMMER2007`), and the part
#: of the claim each one tests (hard minus soft sparseness; experiments 06 and 13)
REHN_SOMMER_PARTS = {"nxny_distance": "closer", "median_nx": "lower_nx", "median_ny": "lower_ny",
                     "blob_fraction": "more_blobs"}

#: significance level of every claim (after Holm's correction within its family)
ALPHA = 0.05


def per_seed(entry: Mapping, metric: str) -> dict[int, float]:
    """Seed -> value of ``metric`` for one summary entry."""
    return {int(s): float(v) for s, v in zip(entry["seeds"], entry["values"][metric])}


def paired(a: Mapping[int, float], b: Mapping[int, float]) -> dict:
    """:func:`effcode.stats.paired_test` of ``a − b`` over the seeds where both have a finite value
    (a seed whose population left too few resolved units has no distance); ``seeds`` lists them."""
    seeds = sorted(s for s in a if s in b and math.isfinite(a[s]) and math.isfinite(b[s]))
    return {**paired_test([a[s] for s in seeds], [b[s] for s in seeds]), "seeds": seeds}


def family(name: str, tests: list[dict], alpha: float = ALPHA) -> dict:
    """A family of paired tests answering one question: each test gets its Holm-adjusted p-value
    (``p_holm``) and ``significant`` (p_holm < alpha); ``n_tests`` counts the tests that could be made."""
    adjusted = holm([t["p_value"] for t in tests])
    tests = [{**t, "p_holm": p, "significant": bool(math.isfinite(p) and p < alpha)} for t, p in zip(tests, adjusted)]
    return {"name": name, "alpha": alpha, "n_tests": sum(math.isfinite(p) for p in adjusted), "tests": tests}


#: the bin-based statistics, with the point metrics of their bracket ends (lower value, higher value): the
#: undetermined units at the ends of their intervals (effcode.v1.score_population)
BRACKET_ENDS = {"nxny_distance": ("nxny_distance_most", "nxny_distance_least"),
                "blob_fraction": ("blob_fraction_least", "blob_fraction_most")}


def comparison(a: str, b: str, metric: str, values_a: Mapping[int, float], values_b: Mapping[int, float],
               ends_a: tuple[Mapping, Mapping] | None = None, ends_b: tuple[Mapping, Mapping] | None = None) -> dict:
    """One paired test of ``metric`` between settings labelled ``a`` and ``b`` (difference = a − b).

    With ``ends_a`` and ``ends_b`` (seed -> value at the lower and at the higher bracket end of each side,
    for the statistics of :data:`BRACKET_ENDS`), ``bracket`` holds the same test at the two extremes of the
    difference: ``least`` = a's lower end − b's higher end, ``most`` = a's higher end − b's lower end; every
    placement of the undetermined units gives a difference between them."""
    out = {"a": a, "b": b, "metric": metric, **paired(values_a, values_b)}
    if ends_a is not None and ends_b is not None:
        out["bracket"] = {"least": paired(ends_a[0], ends_b[1]), "most": paired(ends_a[1], ends_b[0])}
    return out


def entry_comparison(a: str, b: str, metric: str, entry_a: Mapping, entry_b: Mapping) -> dict:
    """:func:`comparison` of two summary entries (per-seed ``values``), bracketed for the statistics of
    :data:`BRACKET_ENDS`."""
    ends = BRACKET_ENDS.get(metric)
    return comparison(a, b, metric, per_seed(entry_a, metric), per_seed(entry_b, metric),
                      *(((per_seed(entry_a, ends[0]), per_seed(entry_a, ends[1])),
                         (per_seed(entry_b, ends[0]), per_seed(entry_b, ends[1]))) if ends else ()))


def claim_result(test: Mapping, label: str | None = None):
    """A paired comparison as a claim part's result (:mod:`effcode.v1.claims`): the plain test, or the
    bracket of its two ends when it has one."""
    if "bracket" in test:
        return {end: from_paired_test(test["bracket"][end], label=label) for end in ("least", "most")}
    return from_paired_test(test, label=label)


def fmt_p(p: float) -> str:
    """A p-value for a table: three decimals, "< 0.001" below that, an en dash when missing."""
    if not math.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_text(p: float, name: str = "p") -> str:
    """A p-value in a sentence: "p = 0.034" or "p < 0.001"."""
    text = fmt_p(p)
    return f"{name} {text}" if text.startswith("<") else f"{name} = {text}"


def fmt_dz(test: Mapping) -> str:
    """Cohen's d_z of a test with its exact 95% interval, "-14.42 [-25.81, -2.99]"; an en dash where
    there is none (too few seeds, or the same difference in every seed)."""
    if not math.isfinite(test["cohens_dz"]):
        return "–"
    return f"{fmt(test['cohens_dz'])} [{fmt(test['dz_lo'])}, {fmt(test['dz_hi'])}]"


def statistic_text(test: Mapping) -> str:
    """The statistic of one test, for a sentence: difference with its 95% interval, p, Holm's p, d_z with
    its 95% interval, seeds; a difference without spread is said in words, with no p-value or d_z."""
    if test.get("constant"):
        amount = "identical" if test["difference"] == 0 else f"difference {test['difference']:+.3f}"
        return f"{amount} in every one of {test['n']} seeds, so no p-value or d_z"
    if not math.isfinite(test["p_value"]):
        return f"{test['n']} seed{'s' if test['n'] != 1 else ''} with values on both sides, too few to test"
    holm_p = f", {p_text(test['p_holm'], 'Holm-adjusted p')}" if "p_holm" in test else ""
    return (f"difference {test['difference']:+.3f} [95% CI {test['lo']:+.3f}, {test['hi']:+.3f}], "
            f"{p_text(test['p_value'])}{holm_p}, d_z = {fmt_dz(test)}, {test['n']} seeds")


def claim(test: Mapping) -> str:
    """The sentence a test supports: "A is closer to V1 than B (statistic)" when significant after
    Holm's correction; "A is closer to V1 than B by the same amount in every seed" or "A and B have
    the same ... in every seed" when the difference has no spread (no test exists); else "no
    significant difference in ... between A and B (statistic)"."""
    name, lower, higher = METRIC_WORDS.get(test["metric"], (test["metric"], f"has a lower {test['metric']} than",
                                                             f"has a higher {test['metric']} than"))
    if test.get("significant"):
        return f"{test['a']} {lower if test['difference'] < 0 else higher} {test['b']} ({statistic_text(test)})"
    if test.get("constant"):
        if test["difference"] == 0:
            return (f"{test['a']} and {test['b']} have the same {name} in every one of {test['n']} seeds (no "
                    "p-value or d_z without spread)")
        return (f"{test['a']} {lower if test['difference'] < 0 else higher} {test['b']} by the same amount in "
                f"every seed ({statistic_text(test)})")
    return f"no significant difference in {name} between {test['a']} and {test['b']} ({statistic_text(test)})"


def comparison_table(fam: Mapping) -> str:
    """Markdown table of one family: each test's difference, interval, p, Holm's p, d_z [95% CI], seeds
    where A < B, and the verdict ("same in every seed" where the difference has no spread)."""
    rows = ["| A | B | metric | A − B [95% CI] | p | Holm p | d_z [95% CI] | seeds A < B | verdict |",
            "|---|---|---|---|---|---|---|---|---|"]
    for t in fam["tests"]:
        name = METRIC_WORDS.get(t["metric"], (t["metric"],))[0]
        verdict = ("significant" if t["significant"] else "n.s.") if math.isfinite(t["p_value"]) else (
            "same in every seed" if t.get("constant") else "not testable")
        rows.append(f"| {t['a']} | {t['b']} | {name} | {fmt(t['difference'], 3)} [{fmt(t['lo'], 3)}, "
                    f"{fmt(t['hi'], 3)}] | {fmt_p(t['p_value'])} | {fmt_p(t['p_holm'])} | {fmt_dz(t)} | "
                    f"{t['wins_a']} of {t['n']} | {verdict} |")
    return "\n".join(rows)


def family_summary(fam: Mapping, question: str) -> str:
    """One paragraph on a family: how many tests, the correction, the claims it supports (or none), and
    the comparisons whose difference is the same in every seed (said in words: no test exists)."""
    n = fam["n_tests"]
    if not fam["tests"]:
        return f"{question}: nothing to test in this sweep."
    constant = [claim(t) for t in fam["tests"] if t.get("constant")]
    alike = f" Without spread over seeds (no test possible): {'; '.join(constant)}." if constant else ""
    if n == 0:
        reason = "every difference is the same in every seed" if alike else ("fewer than two seeds with values "
                                                                             "on both sides")
        return f"{question}: no test could be made ({reason}).{alike}"
    made = [claim(t) for t in fam["tests"] if t["significant"]]
    head = (f"{question}: 1 paired test across seeds (a family of one, so Holm's correction leaves its p as it "
            f"is)." if n == 1 else f"{question}: {n} paired tests across seeds, Holm-corrected at {fam['alpha']:g} "
            f"over these {n}.")
    if not made:
        best = min((t for t in fam["tests"] if math.isfinite(t["p_value"])), key=lambda t: t["p_value"])
        return (f"{head} None is significant after the correction, so no such claim is made (smallest p: "
                f"{best['a']} against {best['b']}, {statistic_text(best)}).{alike}")
    return f"{head} Significant: " + "; ".join(made) + "." + alike


#: metrics that cannot exceed 1 (every metric of a point is >= 0); intervals are clipped to the range
AT_MOST_ONE = {"median_r2", "frac_r2_0.7", "frac_r2_0.8", "frac_r2_0.9", "nxny_distance", "nxny_p_value",
               "nxny_null_95", "nxny_distance_in_grid", "blob_fraction", "active_fraction"}


def interval(entry: Mapping, metric: str, digits: int = 2) -> str:
    """``mean [lo, hi]`` of one metric of a summary entry, clipped to the metric's range: the mean alone
    when one seed gives no interval, and "(k of n seeds)" when only k seeds have a value (a population
    with too few resolved units has no distance or medians)."""
    mean, lo, hi = entry[metric], entry[f"{metric}_lo"], entry[f"{metric}_hi"]
    text = fmt(mean, digits)
    if isinstance(lo, (int, float)) and math.isfinite(lo):
        hi = min(hi, 1.0) if metric in AT_MOST_ONE else hi
        text += f" [{fmt(max(lo, 0.0), digits)}, {fmt(hi, digits)}]"
    values = entry.get("values", {}).get(metric, [])
    k = sum(1 for v in values if math.isfinite(v))
    if 0 < k < len(values):
        text += f" ({k} of {len(values)} seeds)"
    return text


def scorer_sentence(settings: Mapping) -> str:
    """Which population was scored and which units entered the comparison."""
    stimulus = settings.get("rf_stimulus", "hartley")
    stimulus = {"hartley": "Hartley gratings", "white_noise": "white noise"}.get(stimulus, stimulus)
    what = {"measured_rf": f"receptive fields measured by reverse correlation with {stimulus} in stimulus space",
            "basis": "synthesis functions", "filters": "analysis filters"}.get(settings["population"], "units")
    return (f"Scored population: **{settings['population']}** (the learner's {what}), by the one scorer: every "
            f"unit with Gabor R² ≥ {settings['r2_threshold']:g} enters the nx–ny comparison with Ringach (2002), "
            f"placed in one of Ringach's bins by {100 * settings['interval_level']:g}% profile-likelihood intervals "
            f"of nx and ny or else undetermined (carried as a bracket); {settings['n_permutations']} permutations "
            f"of the nx–ny test and {settings['n_bootstrap']} bootstrap draws per population.")
