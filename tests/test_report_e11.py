"""Experiment 11's report is a pure function of its metrics: hand-made metrics with known answers."""

import math
import re

import pytest
from scipy import stats as st

from effcode.experiments import get_experiment
from effcode.experiments import e11_identifiability as e11
from effcode.experiments.common import SCORER_DEFAULTS


def scorer_metrics(nx=(0.40, 0.01), ny=(0.50, 0.01), tv=(0.30, 0.01), sim=0.6, resolved=50, gabor=60, units=64):
    """The parts of ``V1PopulationScore.metrics()`` that experiment 11 reads."""
    return {"median_nx": {"value": nx[0], "lo": nx[0] - 2 * nx[1], "hi": nx[0] + 2 * nx[1], "se": nx[1]},
            "median_ny": {"value": ny[0], "lo": ny[0] - 2 * ny[1], "hi": ny[0] + 2 * ny[1], "se": ny[1]},
            "nxny": {"distance": tv[0], "distance_se": tv[1], "p_value": 0.01, "null_95": 0.2},
            "mean_similarity": sim,
            "funnel": {"all units": units, "fit succeeded": units, "R² ≥ threshold": gabor,
                       "nx and ny resolved": resolved, "inside the reference grid": resolved - 5}}


MARGINS = e11.resolve_margins({"nx": 0.4, "ny": 0.5})


def matching(median=0.58, above=0.11, chance=0.15):
    return {"matched_median_abs_cos": median, "matched_fraction_above_0.9": above, "identity_median_abs_cos": 0.04,
            "chance_matched_median_abs_cos": chance, "chance_matched_fraction_above_0.9": 0.0, "n_pairs": 64}


def metrics(a, b, *, se_sim=(0.01, 0.01), match=None):
    values = {0: e11.population_values(a, se_sim[0]), 1: e11.population_values(b, se_sim[1])}
    return {"function": {"permuted_max_abs_weight_difference": 0.5, "permuted_max_abs_output_difference": 1e-15,
                         "rescaled_max_abs_weight_difference": 2.0, "rescaled_max_abs_output_difference": 1e-15,
                         "output_range": 6.0},
            "n_hidden": 8, "max_scale": 10.0, "seeds": [0, 1], "n_filters": 64, "population": "basis",
            "matching": {"basis": match or matching(), "filters": match or matching(0.60, 0.08)},
            "matching_criterion": e11.MATCHING_CRITERION, "scores": {"0": a, "1": b},
            "mean_similarity_resamples": {"0": {"n": 200, "se": se_sim[0]}, "1": {"n": 200, "se": se_sim[1]}},
            "v1_medians": {"nx": 0.4, "ny": 0.5}, "alpha": 0.05,
            "equivalence": e11.equivalence_tests(values[0], values[1], MARGINS)}


def test_margins_are_data_with_a_reason_and_scale_with_v1():
    assert set(e11.EQUIVALENCE_MARGINS) == set(e11.STATISTICS)
    assert all(len(rule["reason"]) > 20 for rule in e11.EQUIVALENCE_MARGINS.values())
    assert MARGINS["median_nx"]["margin"] == pytest.approx(0.04)
    assert MARGINS["median_ny"]["margin"] == pytest.approx(0.05)
    assert MARGINS["nxny_distance"]["margin"] == pytest.approx(0.10)
    assert MARGINS["mean_similarity"]["margin"] == pytest.approx(0.05)
    v1 = e11.v1_medians()   # Ringach (2002): median nx ≈ 0.37, ny ≈ 0.44
    assert 0.3 < v1["nx"] < 0.45 and 0.35 < v1["ny"] < 0.55
    assert e11.resolve_margins(v1)["median_nx"]["margin"] == pytest.approx(0.1 * v1["nx"])


def test_population_values_read_the_scorer_metrics():
    v = e11.population_values(scorer_metrics(nx=(0.41, 0.02), tv=(0.3, 0.03), sim=0.55), 0.012)
    assert v == {"median_nx": (0.41, 0.02), "median_ny": (0.50, 0.01), "nxny_distance": (0.3, 0.03),
                 "mean_similarity": (0.55, 0.012)}
    too_few = scorer_metrics()
    too_few["nxny"] = {"n_model": 3}        # the scorer leaves the distance out below MIN_UNITS
    assert math.isnan(e11.population_values(too_few, 0.01)["nxny_distance"][0])


def test_equivalence_known_answers():
    # equivalent: d = -0.01, SE sqrt(2)·0.01, margin 0.04 -> p = Φ(−(d + m)/SE) = Φ(−2.12) = 0.017
    a, b = {"median_nx": (0.40, 0.01)}, {"median_nx": (0.41, 0.01)}
    row = e11.equivalence_tests(a, b, MARGINS)["median_nx"]
    se = math.sqrt(2) * 0.01
    assert row["difference"] == pytest.approx(-0.01) and row["se"] == pytest.approx(se)
    assert row["p_value"] == pytest.approx(st.norm.sf((-0.01 + 0.04) / se))
    assert row["equivalent"] and -0.04 < row["lo"] < row["hi"] < 0.04
    assert row["lo"] == pytest.approx(-0.01 - st.norm.ppf(0.95) * se)
    assert e11.equivalence_sentence("median nx", row) == "median nx: equivalent within ±0.04 (TOST p = 0.017)"
    # not equivalent: d = 0.02, SE 0.02 (0.012² + 0.016²), margin 0.05 -> p = Φ((0.02 − 0.05)/0.02) = Φ(−1.5)
    a, b = {"mean_similarity": (0.62, 0.012)}, {"mean_similarity": (0.60, 0.016)}
    row = e11.equivalence_tests(a, b, MARGINS)["mean_similarity"]
    assert row["se"] == pytest.approx(0.02) and row["p_value"] == pytest.approx(st.norm.cdf(-1.5))
    assert not row["equivalent"]
    assert e11.equivalence_sentence("mean similarity", row) == (
        "mean similarity: not shown equivalent: difference 0.02, 90% CI [-0.0129, 0.0529], margin ±0.05 "
        "(TOST p = 0.067)")
    # a statistic without a standard error is not tested, and says so
    row = e11.equivalence_tests({"nxny_distance": (0.3, math.nan)}, {"nxny_distance": (0.3, 0.01)},
                                MARGINS)["nxny_distance"]
    assert not row["tested"] and not row["equivalent"]
    assert "not tested" in e11.equivalence_sentence("TV", row)


def test_matching_sentence_says_agree_only_when_the_criterion_is_met():
    fails = e11.matching_sentence("basis", matching(), n_filters=64, seeds=[0, 1])
    assert "agree" not in fails.lower()
    assert "median 0.58 with 11% of pairs at |cos| ≥ 0.9" in fails and "median 0.15 and 0%" in fails
    assert "is not met" in fails
    passes = e11.matching_sentence("basis", matching(0.97, 0.95), n_filters=64, seeds=[0, 1])
    assert "agree up to order and sign" in passes and "at least 90% of matched pairs" in passes
    assert e11.matching_passes(matching(0.97, 0.90)) and not e11.matching_passes(matching(0.97, 0.89))


def test_matching_summary_known_answer():
    s = e11.matching_summary([0.95] * 9 + [0.5], [0.1] * 10, [0.2] * 9 + [0.95])
    assert s["matched_median_abs_cos"] == pytest.approx(0.95)
    assert s["matched_fraction_above_0.9"] == pytest.approx(0.9) and e11.matching_passes(s)
    assert s["chance_matched_fraction_above_0.9"] == pytest.approx(0.1)
    assert s["identity_median_abs_cos"] == pytest.approx(0.1) and s["n_pairs"] == 10


def test_report_with_equivalent_populations():
    m = metrics(scorer_metrics(), scorer_metrics(nx=(0.405, 0.01), tv=(0.31, 0.01), sim=0.61),
                match=matching(0.97, 0.95))
    assert all(r["equivalent"] for r in m["equivalence"].values())
    text = e11.report_text(m)
    assert "The two seeds agree on all 4 statistics within their margins." in text
    assert "median nx: equivalent within ±0.04 (TOST p =" in text
    assert "not shown" not in text


def test_report_with_populations_not_shown_equivalent_never_says_agree():
    m = metrics(scorer_metrics(nx=(0.67, 0.03), ny=(1.25, 0.1), tv=(0.82, 0.04), sim=0.54),
                scorer_metrics(nx=(0.71, 0.03), ny=(1.15, 0.06), tv=(0.75, 0.04), sim=0.60), se_sim=(0.02, 0.02))
    assert not any(r["equivalent"] for r in m["equivalence"].values())
    text = e11.report_text(m)
    assert "agree" not in text.lower()
    assert "None of the 4 statistics is shown equivalent at its margin." in text
    assert "median nx: not shown equivalent: difference -0.04, 90% CI [" in text
    assert "margin ±0.04" in text


def test_report_names_only_the_statistics_shown_equivalent():
    # TV distance and similarity equivalent, medians not
    m = metrics(scorer_metrics(nx=(0.40, 0.05), ny=(0.50, 0.1), tv=(0.30, 0.005), sim=0.60),
                scorer_metrics(nx=(0.45, 0.05), ny=(0.60, 0.1), tv=(0.31, 0.005), sim=0.61))
    shown = {k for k, r in m["equivalence"].items() if r["equivalent"]}
    assert shown == {"nxny_distance", "mean_similarity"}
    sentence = e11.population_sentence(m)
    assert "agree within the margins on nx–ny TV distance to V1, mean similarity;" in sentence
    assert "not shown for the other 2" in sentence
    # every line that says "agree" is backed by a passing test (matching fails here)
    for line in e11.report_text(m).splitlines():
        if "agree" in line.lower():
            assert line.startswith("- **Population statistics**")


@pytest.mark.parametrize("flags", [(a, b, c, d) for a in (0, 1) for b in (0, 1) for c in (0, 1) for d in (0, 1)])
def test_agree_appears_exactly_when_an_equivalence_test_passes(flags):
    tests = {}
    for stat, ok in zip(e11.STATISTICS, flags):
        tests[stat] = {"value_a": 0.5, "se_a": 0.01, "value_b": 0.5, "se_b": 0.01, "margin": 0.05, "reason": "r",
                       "tested": True, "difference": 0.0 if ok else 0.2, "se": 0.014, "p_value": 0.001 if ok else 0.9,
                       "lo": -0.02 if ok else 0.17, "hi": 0.02 if ok else 0.23, "equivalent": bool(ok)}
    m = metrics(scorer_metrics(), scorer_metrics())
    m["equivalence"] = tests
    text = e11.report_text(m).lower()
    assert ("agree" in text) == any(flags)


def test_equivalence_rows_follow_the_statistics_order():
    m = metrics(scorer_metrics(), scorer_metrics(nx=(0.5, 0.01)))
    shuffled = dict(sorted(m["equivalence"].items()))           # metrics.json stores keys sorted
    rows = e11.equivalence_rows(shuffled, [0, 1])
    assert rows[0].startswith("| statistic | seed 0 (SE) | seed 1 (SE) | difference [90% CI] | margin |")
    assert [r.split("|")[1].strip() for r in rows[2:]] == list(e11.STATISTICS.values())
    assert rows[2].endswith("| not shown equivalent |") and rows[3].endswith("| equivalent |")
    assert re.search(r"\| 0\.4 \(0\.01\) \| 0\.5 \(0\.01\) \| -0\.1 \[", rows[2])


def test_description_and_config():
    exp = get_experiment("11")
    assert "agree" not in exp.description.lower()
    assert set(SCORER_DEFAULTS) <= set(exp.defaults) and set(exp.quick) <= set(exp.defaults)
    assert exp.config(quick=True)["n_resamples"] <= exp.config()["n_resamples"]
