"""The report sections of experiments 06 and 07 are worded from saved metrics by pure functions:
hand-made metrics with known answers (claims only from significant paired tests, Holm's correction)."""

import json
import math

import numpy as np
import pytest

from effcode.errors import InputError
from effcode.experiments import e06_objective_sweep as e06
from effcode.experiments import e07_overcompleteness as e07
from effcode.experiments import sweep_report
from effcode.experiments.common import POINT_METRICS, SCORER_DEFAULTS
from effcode.stats import holm, paired_test, seed_interval

SETTINGS = {**SCORER_DEFAULTS, "n_bootstrap": 200}


def _row(seed, distance, **extra):
    """One per-seed row with every point metric (distance given, the rest plausible constants).  The ends of
    each bracket (:data:`sweep_report.BRACKET_ENDS`) are the point value unless given: every compared unit
    placed in one bin, so the bracket collapses onto the fitted values."""
    row = {m: 0.5 for m in POINT_METRICS}
    row.update({"seed": seed, "nxny_distance": distance, "active_fraction": 0.05, "n_compared": 30.0,
                "n_resolved": 20.0, "n_unresolved": 10.0, "nxny_p_value": 0.01})
    row.update(extra)
    for metric, ends in sweep_report.BRACKET_ENDS.items():
        for end in ends:
            if end not in extra:
                row[end] = row[metric]
    return row


def sweep06(distances: dict, **per_metric) -> dict:
    """The 06 summary of {(objective, level): [distance per seed]} (seeds 0, 1, 2, ...); ``per_metric``
    gives other metrics the same way."""
    rows = []
    for (objective, level), values in distances.items():
        for seed, d in enumerate(values):
            extra = {m: v[(objective, level)][seed] for m, v in per_metric.items() if (objective, level) in v}
            rows.append({"objective": objective, "level": level, **_row(seed, d, **extra)})
    return e06.summarise(rows)


# -- Holm's correction ------------------------------------------------------------------------

def test_holm_adjusts_step_down_in_the_given_order():
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4·0.005, 3·0.01, 2·0.03, max(0.06, 1·0.04)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])            # capped at 1
    assert holm([0.02]) == pytest.approx([0.02])                     # a family of one is not corrected
    assert holm([]) == []


def test_holm_leaves_untestable_out_of_the_family():
    out = holm([0.01, math.nan, 0.02])
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.02)


def test_holm_refuses_values_that_are_not_p_values():
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        holm([0.1, 1.5])


def test_family_marks_significance_after_the_correction():
    # m = 2 testable: 2·0.02 = 0.04, then max(0.04, 1·0.03) = 0.04; the NaN is not testable
    fam = sweep_report.family("f", [{"p_value": 0.02}, {"p_value": 0.03}, {"p_value": math.nan}])
    assert fam["n_tests"] == 2 and fam["alpha"] == 0.05
    assert [t["p_holm"] for t in fam["tests"][:2]] == pytest.approx([0.04, 0.04])
    assert [t["significant"] for t in fam["tests"]] == [True, True, False]
    fam = sweep_report.family("f", [{"p_value": 0.02}, {"p_value": 0.03}, {"p_value": 0.04}])   # 3·0.02 = 0.06
    assert not any(t["significant"] for t in fam["tests"])


# -- summary ----------------------------------------------------------------------------------

def test_summary_keeps_per_seed_values_and_their_interval():
    summary = sweep06({("l1", 1.0): [0.4, 0.5, 0.6], ("l0", 1.0): [0.3, 0.35, 0.2]})
    assert list(summary) == ["l1@1.0", "l0@1.0"]
    entry = summary["l1@1.0"]
    interval = seed_interval([0.4, 0.5, 0.6])
    assert entry["seeds"] == [0, 1, 2] and entry["values"]["nxny_distance"] == [0.4, 0.5, 0.6]
    assert (entry["nxny_distance"], entry["nxny_distance_lo"], entry["nxny_distance_hi"]) == pytest.approx(
        (interval["mean"], interval["lo"], interval["hi"]))
    table = e06.sweep_table(summary)
    assert f"0.50 [{interval['lo']:.2f}, {interval['hi']:.2f}]" in table and "±" not in table
    assert "3 of 3" in table    # every seed's population is told apart from V1 (p = 0.01)


def test_a_seed_without_a_distance_is_left_out_of_the_pairs():
    summary = sweep06({("l1", 1.0): [0.4, math.nan, 0.6], ("l0", 1.0): [0.3, 0.35, 0.2]})
    test = e06.comparisons(summary)["hard_vs_soft"]["tests"][0]
    assert test["seeds"] == [0, 2] and test["n"] == 2
    assert "0.50 [" in sweep_report.interval(summary["l1@1.0"], "nxny_distance") and \
        sweep_report.interval(summary["l1@1.0"], "nxny_distance").endswith("(2 of 3 seeds)")
    assert test["difference"] == pytest.approx(paired_test([0.3, 0.2], [0.4, 0.6])["difference"])


# -- brackets of paired comparisons -----------------------------------------------------------

def test_a_paired_comparison_is_bracketed_at_the_extremes_of_the_difference():
    a_low, a_high = {0: 0.20, 1: 0.25, 2: 0.31}, {0: 0.30, 1: 0.36, 2: 0.40}
    b_low, b_high = {0: 0.40, 1: 0.44, 2: 0.50}, {0: 0.55, 1: 0.62, 2: 0.64}
    a, b = {0: 0.25, 1: 0.30, 2: 0.35}, {0: 0.45, 1: 0.50, 2: 0.57}
    test = sweep_report.comparison("A", "B", "nxny_distance", a, b, (a_low, a_high), (b_low, b_high))
    assert test["difference"] == pytest.approx(np.mean([-0.20, -0.20, -0.22]))
    least, most = test["bracket"]["least"], test["bracket"]["most"]
    # least = a's lower end − b's higher end, most = a's higher end − b's lower end
    assert least["difference"] == pytest.approx(np.mean([0.20 - 0.55, 0.25 - 0.62, 0.31 - 0.64]))
    assert most["difference"] == pytest.approx(np.mean([0.30 - 0.40, 0.36 - 0.44, 0.40 - 0.50]))
    assert least["difference"] < test["difference"] < most["difference"]
    expected = paired_test([0.30, 0.36, 0.40], [0.40, 0.44, 0.50])
    assert (most["p_value"], most["lo"], most["hi"]) == pytest.approx(
        (expected["p_value"], expected["lo"], expected["hi"]))
    assert least["seeds"] == most["seeds"] == [0, 1, 2]
    assert "bracket" not in sweep_report.comparison("A", "B", "median_nx", a, b)
    # a claim part's result is the bracket of the two ends, converted end by end
    result = sweep_report.claim_result(test, label="A against B")
    assert set(result) == {"least", "most"} and result["most"]["estimate"] == pytest.approx(most["difference"])
    assert result["least"]["label"] == "A against B"
    assert sweep_report.claim_result(sweep_report.comparison("A", "B", "median_nx", a, b))["estimate"] == \
        pytest.approx(test["difference"])


def test_entry_comparison_brackets_the_bin_based_statistics_only():
    summary = sweep06({("l1", 1.0): [0.4, 0.5, 0.6], ("l0", 1.0): [0.3, 0.35, 0.2]},
                      nxny_distance_most={("l1", 1.0): [0.3, 0.4, 0.5], ("l0", 1.0): [0.2, 0.3, 0.1]},
                      nxny_distance_least={("l1", 1.0): [0.5, 0.6, 0.7], ("l0", 1.0): [0.4, 0.45, 0.3]})
    hard, soft = summary["l0@1.0"], summary["l1@1.0"]
    test = sweep_report.entry_comparison("l0", "l1", "nxny_distance", hard, soft)
    # nxny_distance_most is the lower end of the distance, nxny_distance_least the higher
    assert sweep_report.BRACKET_ENDS["nxny_distance"] == ("nxny_distance_most", "nxny_distance_least")
    assert test["bracket"]["least"]["difference"] == pytest.approx(np.mean([0.2 - 0.5, 0.3 - 0.6, 0.1 - 0.7]))
    assert test["bracket"]["most"]["difference"] == pytest.approx(np.mean([0.4 - 0.3, 0.45 - 0.4, 0.3 - 0.5]))
    assert "bracket" not in sweep_report.entry_comparison("l0", "l1", "median_ny", hard, soft)


# -- claims from tests ------------------------------------------------------------------------

def test_all_seeds_closer_but_not_significant_makes_no_claim():
    hard, soft = [0.30, 0.31, 0.40], [0.31, 0.50, 0.41]          # hard lower in 3 of 3 seeds
    tests = e06.comparisons(sweep06({("l1", 1.0): soft, ("l0", 1.0): hard}))
    test = tests["hard_vs_soft"]["tests"][0]
    assert test["wins_a"] == 3 and test["p_value"] > 0.05
    answer = e06.harder_sparseness_answer(tests)
    assert "closer to V1 than" not in answer
    assert "None is significant" in answer and "no such claim is made" in answer
    assert f"p = {test['p_value']:.3f}" in answer and "1 paired test across seeds" in answer


def test_a_significant_difference_is_claimed_with_its_statistic():
    hard, soft = [0.20, 0.25, 0.30], [0.40, 0.46, 0.49]
    tests = e06.comparisons(sweep06({("l1", 1.0): soft, ("l0", 1.0): hard}))
    test = tests["hard_vs_soft"]["tests"][0]
    expected = paired_test(hard, soft)
    assert test["p_value"] == pytest.approx(expected["p_value"]) and test["p_value"] < 0.05
    answer = e06.harder_sparseness_answer(tests)
    assert "l0 at level 1 is closer to V1 than l1 at level 1" in answer
    assert (f"difference {expected['difference']:+.3f} [95% CI {expected['lo']:+.3f}, {expected['hi']:+.3f}]"
            in answer)
    assert f"d_z = {expected['cohens_dz']:.2f}" in answer and "3 seeds" in answer


def test_a_raw_p_below_5_percent_is_not_claimed_when_holm_lifts_it():
    # two hard x two soft penalties at one level: a family of four tests
    soft = [0.40, 0.42, 0.38]
    distances = {("l1", 1.0): soft, ("cauchy", 1.0): [0.35, 0.45, 0.30],
                 ("l0", 1.0): [0.30, 0.30, 0.30], ("topk", 1.0): [0.50, 0.20, 0.45]}
    tests = e06.comparisons(sweep06(distances))
    fam = tests["hard_vs_soft"]
    assert fam["n_tests"] == 4
    first = fam["tests"][0]                                     # l0 against l1
    assert (first["a"], first["b"]) == ("l0 at level 1", "l1 at level 1")
    assert first["p_value"] < 0.05 < first["p_holm"] and not first["significant"]
    answer = e06.harder_sparseness_answer(tests)
    assert "4 paired tests across seeds, Holm-corrected at 0.05 over these 4" in answer
    assert "closer to V1 than" not in answer


def test_a_significantly_farther_setting_is_said_to_be_farther():
    tests = e06.comparisons(sweep06({("l1", 0.5): [0.2, 0.21, 0.19], ("l1", 2.0): [0.5, 0.53, 0.49]}))
    answer = e06.harder_sparseness_answer(tests)
    assert "l1 at level 2 is farther from V1 than l1 at level 0.5" in answer


def test_the_level_family_compares_highest_with_lowest_level_within_each_objective():
    distances = {(o, level): [0.3, 0.4, 0.5] for o in ("l1", "l0") for level in (0.5, 1.0, 2.0)}
    fam = e06.comparisons(sweep06(distances))["level"]
    assert [(t["a"], t["b"]) for t in fam["tests"]] == [("l1 at level 2", "l1 at level 0.5"),
                                                        ("l0 at level 2", "l0 at level 0.5")]
    assert all(t["constant"] and math.isnan(t["p_value"]) and not t["significant"] for t in fam["tests"])
    assert fam["n_tests"] == 0                                      # no difference at all: nothing to test
    summary = sweep_report.family_summary(fam, "Levels")
    assert summary.startswith("Levels: no test could be made (every difference is the same in every seed)")
    assert "l1 at level 2 and l1 at level 0.5 have the same nx–ny distance in every one of 3 seeds" in summary
    hard_vs_soft = e06.comparisons(sweep06(distances))["hard_vs_soft"]
    assert [t["a"] for t in hard_vs_soft["tests"]] == ["l0 at level 0.5", "l0 at level 1", "l0 at level 2"]


# -- Rehn & Sommer (2007) ---------------------------------------------------------------------

def _rehn_sommer(hard, soft):
    distances = {("l1", 1.0): soft, ("l0", 1.0): hard}
    nx = {"median_nx": {("l1", 1.0): [0.6, 0.7, 0.65], ("l0", 1.0): [0.3, 0.32, 0.29]}}
    return e06.comparisons(sweep06(distances, **nx))


def test_rehn_sommer_partly_reproduced_when_hard_codes_are_closer_with_fewer_subfields_only():
    tests = _rehn_sommer([0.20, 0.25, 0.30], [0.40, 0.46, 0.49])
    fam = tests["rehn_sommer"]
    assert [t["metric"] for t in fam["tests"]] == ["nxny_distance", "median_nx", "median_ny", "blob_fraction"]
    text = e06.rehn_sommer_answer(tests)
    assert text.startswith("Test here: hard sparseness (l0) against soft sparseness (l1), each seed's values averaged")
    assert "Rehn & Sommer (2007) reported that a hard-sparse code" in text
    # the verdict and its wording are effcode.v1.claims': closer and fewer subfields hold, ny and blobs do not
    assert ("partly reproduced (holds: hard codes closer to V1 than soft codes; fewer subfields (lower median nx) in "
            "hard codes; does not hold: less elongated (lower median ny) in hard codes (not tested); more "
            "blob-like units in hard codes (not tested); hard codes closer to V1 as overcompleteness grows "
            "(not tested))") in text
    # ny and the blob fraction are 0.5 everywhere: the same difference in every seed has no p-value
    assert ("less elongated (lower median ny) in hard codes: not tested here (difference in median ny (hard − soft) "
            "+0.000 in every one of 3 seeds, no spread and so no test)") in text
    dist = fam["tests"][0]
    assert (f"difference in nx–ny distance (hard − soft) {dist['difference']:+.3f} [95% CI {dist['lo']:+.3f}, "
            f"{dist['hi']:+.3f}], p < 0.001, Holm-adjusted p = {dist['p_holm']:.3f}, 3 seeds") in text


def test_rehn_sommer_not_significant_on_the_distance_is_said_with_its_statistic():
    tests = _rehn_sommer([0.30, 0.31, 0.40], [0.31, 0.50, 0.41])
    text = e06.rehn_sommer_answer(tests)
    dist = tests["rehn_sommer"]["tests"][0]
    assert "hard codes closer to V1 than soft codes: not significant (difference in nx–ny distance" in text
    assert f"p = {dist['p_value']:.3f}, Holm-adjusted p = {dist['p_holm']:.3f}" in text


def test_rehn_sommer_contradicted_when_hard_codes_are_significantly_farther():
    text = e06.rehn_sommer_answer(_rehn_sommer([0.40, 0.46, 0.49], [0.20, 0.25, 0.30]))
    assert "contradicted (hard codes closer to V1 than soft codes: significantly the other way)" in text


def test_rehn_sommer_part_is_undetermined_when_its_bracket_ends_disagree():
    # blob-like fraction, hard − soft: at the fitted values hard codes have more blobs; at the extremes of the
    # difference, least = hard's lower end − soft's higher end (no difference), most = hard's higher end −
    # soft's lower end (clearly more)
    l0, l1 = ("l0", 1.0), ("l1", 1.0)
    blobs = {"blob_fraction": {l0: [0.20, 0.22, 0.25], l1: [0.10, 0.11, 0.12]},
             "blob_fraction_least": {l0: [0.12, 0.10, 0.16], l1: [0.08, 0.10, 0.11]},
             "blob_fraction_most": {l0: [0.30, 0.31, 0.33], l1: [0.11, 0.12, 0.14]}}
    tests = e06.comparisons(sweep06({l1: [0.40, 0.46, 0.49], l0: [0.20, 0.25, 0.30]}, **blobs))
    test = tests["rehn_sommer"]["tests"][3]
    assert test["metric"] == "blob_fraction"
    assert test["bracket"]["least"]["difference"] == pytest.approx(np.mean([0.01, -0.02, 0.02]))
    assert test["bracket"]["most"]["difference"] == pytest.approx(np.mean([0.22, 0.21, 0.22]))
    assert test["bracket"]["least"]["p_value"] > 0.5 and test["bracket"]["most"]["p_value"] < 0.001
    assert "bracket" not in tests["rehn_sommer"]["tests"][1]                 # median nx has no bracket
    text = e06.rehn_sommer_answer(tests)
    assert ("more blob-like units in hard codes: undetermined, the bracket's ends disagree (least V1-like end, not "
            "significant: difference in blob-like fraction (hard − soft) +0.003") in text
    assert "; most V1-like end, holds: difference in blob-like fraction (hard − soft) +0.217" in text
    # closer holds, nx and ny are not tested: partly reproduced at either end of the blobs' bracket
    assert ("partly reproduced (holds: hard codes closer to V1 than soft codes; does not hold: fewer subfields "
            "(lower median nx) in hard codes (not tested); less elongated (lower median ny) in hard codes (not "
            "tested); more blob-like units in hard codes (undetermined);") in text


def test_rehn_sommer_untested_without_both_kinds_of_penalty():
    tests = e06.comparisons(sweep06({("l1", 1.0): [0.3, 0.4, 0.5], ("cauchy", 1.0): [0.3, 0.4, 0.6]}))
    assert "not tested" in e06.rehn_sommer_answer(tests)
    assert "nothing to test" in e06.harder_sparseness_answer(tests)


def test_rehn_sommer_pools_each_seed_over_objectives_and_levels():
    distances = {("l1", 1.0): [0.4, 0.5, 0.6], ("l1", 2.0): [0.6, 0.5, 0.4],
                 ("l0", 1.0): [0.1, 0.2, 0.3], ("topk", 1.0): [0.3, 0.2, math.nan]}
    test = e06.comparisons(sweep06(distances))["rehn_sommer"]["tests"][0]
    hard = [np.mean([0.1, 0.3]), np.mean([0.2, 0.2]), 0.3]
    soft = [0.5, 0.5, 0.5]
    assert test["difference"] == pytest.approx(np.mean(np.subtract(hard, soft)))


# -- other sentences --------------------------------------------------------------------------

def test_dense_objectives_remark():
    summary = sweep06({("l1", 1.0): [0.3, 0.4, 0.5], ("cauchy", 1.0): [0.3, 0.4, 0.5]},
                      active_fraction={("cauchy", 1.0): [1.0, 1.0, 1.0]})
    remark = e06.dense_objectives_remark(summary)
    assert remark.startswith("cauchy leaves no exact zeros")
    assert e06.dense_objectives_remark(sweep06({("l1", 1.0): [0.3, 0.4, 0.5]})) == ""


def test_the_06_section_names_the_population_and_survives_a_json_round_trip(tmp_path):
    from effcode.runs import read_json, write_json

    summary = sweep06({(o, level): list(np.add([0.3, 0.4, 0.5], i / 10)) for i, o in enumerate(("l1", "l0"))
                       for level in (1.0, 2.0)})
    write_json(tmp_path / "m.json", summary)
    write_json(tmp_path / "c.json", {"settings": SETTINGS, "tests": e06.comparisons(summary)})
    saved = read_json(tmp_path / "c.json")
    text = e06.report_text(read_json(tmp_path / "m.json"), saved["tests"], saved["settings"])
    assert ("Scored population: **measured_rf** (the learner's receptive fields measured by reverse correlation with "
            "Hartley gratings in stimulus space)") in text
    assert "every unit with Gabor R² ≥ 0.7 enters" in text and "95% profile-likelihood intervals" in text
    assert "1999 permutations of the nx–ny test and 200 bootstrap draws" in text
    assert "Mean [95% t-interval] across 3 seeds" in text and "Rehn & Sommer (2007" in text
    assert "| A | B | metric | A − B [95% CI] | p | Holm p | d_z [95% CI] | seeds A < B | verdict |" in text
    assert text.index("l1 | 1 |") < text.index("l0 | 1 |")     # the sweep's order, not the JSON's sorted keys
    json.dumps(saved)


# -- experiment 07 ----------------------------------------------------------------------------

CURRENT, BEFORE = [5.0, 2.0, 300.0], 2.0
CURRENT_LABEL, BEFORE_LABEL = "window growth 5 to 2 over 300 updates (default)", "constant window growth 2"


def rows07(distances: dict, window_growth=CURRENT) -> list[dict]:
    """07 rows of {(patch_size, n_filters): [distance per seed]} (seeds 0, 1, 2, ...) trained with ``window_growth``."""
    return [{"patch_size": p, "n_filters": k, "n_iter": 20 * max(1, k // p ** 2), "window_growth": window_growth,
             **_row(s, d)} for (p, k), values in distances.items() for s, d in enumerate(values)]


def sweep07(distances: dict) -> dict:
    """The 07 summary of {(patch_size, n_filters): [distance per seed]}, one schedule (the current one)."""
    return e07.summarise(rows07(distances))


#: nx–ny distances of 1x, 2x and 4x (8x8 patches) over 3 seeds: 4x clearly closer than 1x, 2x not different
CLEAR = {(8, 64): [0.50, 0.55, 0.60], (8, 128): [0.49, 0.56, 0.58], (8, 256): [0.30, 0.36, 0.40]}


def test_07_tests_each_overcompleteness_against_1x_as_one_family():
    summary = sweep07({**CLEAR, (6, 36): [0.7, 0.7, 0.7]})
    tests = e07.comparisons(summary, patch_size=8, schedules=[CURRENT_LABEL])
    fam = tests["overcompleteness"]
    assert tests["other_schedules"] == [] and fam["schedule"] == CURRENT_LABEL
    assert [(t["a"], t["b"]) for t in fam["tests"]] == [("2x", "1x"), ("4x", "1x")] and fam["n_tests"] == 2
    two, four = fam["tests"]
    expected = paired_test([0.30, 0.36, 0.40], [0.50, 0.55, 0.60])
    assert four["p_value"] == pytest.approx(expected["p_value"])
    assert [two["p_holm"], four["p_holm"]] == pytest.approx(holm([two["p_value"], four["p_value"]]))
    assert four["significant"] and not two["significant"]
    answer = e07.overcompleteness_answer(tests)
    assert "2 paired tests across seeds" in answer and "4x is closer to V1 than 1x" in answer
    assert "2x is" not in answer and "bracket" not in answer


def test_07_no_claim_when_not_significant():
    summary = sweep07({(8, 64): [0.50, 0.55, 0.60], (8, 128): [0.45, 0.56, 0.59]})
    answer = e07.overcompleteness_answer(e07.comparisons(summary, patch_size=8, schedules=[CURRENT_LABEL]))
    assert "None is significant" in answer and "closer to V1 than" not in answer


def test_07_results_from_before_the_bracket_are_worded_as_one_family():
    """comparisons.json written before the bracket (no ``other_schedules``) reads as the one family it holds."""
    tests = e07.comparisons(sweep07(CLEAR), patch_size=8, schedules=[CURRENT_LABEL])
    old = {"overcompleteness": {k: v for k, v in tests["overcompleteness"].items() if k != "schedule"}}
    assert e07.overcompleteness_answer(old) == e07.overcompleteness_answer(tests)


def bracket07(current: dict, before: dict) -> dict:
    """The 07 tests with the current schedule's distances ``current`` and the constant g = 2's ``before``."""
    summary = e07.summarise(rows07(current) + rows07(before, BEFORE))
    return e07.comparisons(summary, patch_size=8, schedules=[CURRENT_LABEL, BEFORE_LABEL])


def test_07_a_verdict_holds_only_where_both_ends_of_the_schedule_bracket_agree():
    """4x is closer than 1x at both schedules (its verdict holds, with both statistics); 2x is farther at the
    current schedule only (significant there, not at g = 2): undetermined, the bracket's ends disagree."""
    farther = {(8, 64): [0.50, 0.55, 0.60], (8, 128): [0.60, 0.66, 0.70], (8, 256): [0.30, 0.36, 0.40]}
    tests = bracket07(farther, CLEAR)
    current, (before,) = tests["overcompleteness"], tests["other_schedules"]
    assert (current["schedule"], before["schedule"]) == (CURRENT_LABEL, BEFORE_LABEL)
    assert [t["significant"] for t in current["tests"]] == [True, True]
    assert [t["significant"] for t in before["tests"]] == [False, True]
    answer = e07.overcompleteness_answer(tests)
    assert "bracketed over sparse coding's training schedule (2 ends: " + CURRENT_LABEL + "; " + BEFORE_LABEL in answer
    two = answer[answer.index("2x against 1x"):answer.index("4x against 1x")]
    four = answer[answer.index("4x against 1x"):]
    assert two.startswith("2x against 1x: undetermined, the bracket's ends disagree (")
    assert f"{CURRENT_LABEL}, farther from V1: {sweep_report.statistic_text(current['tests'][0])}" in two
    assert f"{BEFORE_LABEL}, no significant difference: {sweep_report.statistic_text(before['tests'][0])}" in two
    assert four.startswith("4x against 1x: holds, 4x is closer to V1 than 1x at both ends (")
    assert sweep_report.statistic_text(current["tests"][1]) in four
    assert sweep_report.statistic_text(before["tests"][1]) in four


def test_07_no_significant_difference_at_either_end_is_said_as_such():
    flat = {(8, 64): [0.50, 0.55, 0.60], (8, 256): [0.49, 0.56, 0.58]}
    answer = e07.overcompleteness_answer(bracket07(flat, flat))
    assert "4x against 1x: no significant difference at both ends (" in answer
    assert "holds" not in answer and "undetermined" not in answer


def test_07_the_verdicts_flip_sides_is_undetermined_too():
    """Closer at one end, farther at the other (both significant): the ends disagree."""
    closer = {(8, 64): [0.50, 0.55, 0.60], (8, 256): [0.30, 0.36, 0.40]}
    farther = {(8, 64): [0.50, 0.55, 0.60], (8, 256): [0.70, 0.76, 0.80]}
    answer = e07.overcompleteness_answer(bracket07(closer, farther))
    assert "4x against 1x: undetermined, the bracket's ends disagree (" in answer
    assert f"{CURRENT_LABEL}, closer to V1:" in answer and f"{BEFORE_LABEL}, farther from V1:" in answer


def test_07_table_and_section():
    summary = e07.summarise(rows07({(8, 64): [0.50, 0.55, 0.60], (8, 256): [0.30, 0.36, 0.40]})
                            + rows07({(8, 64): [0.50, 0.55, 0.60], (8, 256): [0.45, 0.56, 0.59]}, BEFORE))
    tests = e07.comparisons(summary, patch_size=8, schedules=[CURRENT_LABEL, BEFORE_LABEL])
    summary = json.loads(json.dumps(summary, sort_keys=True))   # as saved: the JSON's keys sorted, not the sweep's order
    text = e07.report_text(summary, tests, SETTINGS)
    interval = seed_interval([0.30, 0.36, 0.40])
    assert f"| 8 | 256 | 4x | {CURRENT_LABEL} | 80 | 3 |" in text and f"| 8 | 256 | 4x | {BEFORE_LABEL} | 80 | 3 |" in text
    assert text.index(f"| 8 | 64 | 1x | {CURRENT_LABEL}") < text.index(f"| 8 | 64 | 1x | {BEFORE_LABEL}")
    assert f"{interval['mean']:.2f} [{interval['lo']:.2f}, {interval['hi']:.2f}]" in text
    assert "Scored population: **measured_rf**" in text and "Holm-corrected" in text
    assert f"*overcompleteness against 1x (8x8 patches, {CURRENT_LABEL})* (1 tests" in text
    assert f"*overcompleteness against 1x (8x8 patches, {BEFORE_LABEL})* (1 tests" in text
    basis = e07.report_text(summary, tests, {**SETTINGS, "population": "basis"})
    assert "Scored population: **basis** (the learner's synthesis functions)" in basis
    json.dumps(tests)


def test_07_points_bracket_the_overcompleteness_over_the_schedules_and_scale_the_inference_cap():
    from types import SimpleNamespace

    from effcode.experiments import get_experiment

    cfg = get_experiment("07").config(quick=True)
    assert cfg["window_growths"] == [CURRENT, BEFORE] == get_experiment("07").config()["window_growths"]
    points = e07.sweep_points(SimpleNamespace(config=cfg, seed=5, device="cpu"))
    seeds = sorted({p["seed"] for p in points})
    assert seeds == [5 + s for s in range(cfg["n_seeds"])]
    per_seed_points = [p for p in points if p["seed"] == 5]
    assert len(points) == cfg["n_seeds"] * len(per_seed_points)
    for schedule in (CURRENT, BEFORE):
        at = {p["n_filters"]: p["n_iter"] for p in per_seed_points
              if p["patch_size"] == cfg["patch_size"] and p["window_growth"] == schedule}
        assert at == {int(f * cfg["patch_size"] ** 2): int(round(cfg["n_iter"] * max(1.0, f))) for f in cfg["factors"]}
    # the patch-size comparison (complete dictionaries, no test) is trained with the first schedule only
    sizes = {p["patch_size"] for p in per_seed_points if p["window_growth"] == BEFORE}
    assert sizes == {cfg["patch_size"]} and len(per_seed_points) == 2 * len(cfg["factors"]) + len(
        set(cfg["patch_sizes"]) - {cfg["patch_size"]})
    assert all(p[k] == cfg[k] for p in points for k in SCORER_DEFAULTS)


def test_07_schedules_are_named_and_a_bad_one_is_refused_in_one_line():
    from effcode.experiments import get_experiment

    assert e07.schedule_label([5, 2, 300]) == CURRENT_LABEL and e07.schedule_label(2) == BEFORE_LABEL
    assert e07.schedule_label([3.0, 1.5, 100.0]) == "window growth 3 to 1.5 over 100 updates"
    with pytest.raises(InputError, match="window_growths' element 1 tau must be > 0") as caught:
        get_experiment("07").config(overrides={"window_growths": [2.0, [5.0, 2.0, 0.0]]})
    assert "\n" not in str(caught.value)


def test_06_points_carry_the_scorer_keys_and_one_n_steps():
    from types import SimpleNamespace

    from effcode.experiments import get_experiment

    cfg = get_experiment("06").config(quick=True, overrides={"n_steps": 1234})
    points = e06.sweep_points(SimpleNamespace(config=cfg, seed=0, device="cpu"))
    assert len(points) == len(cfg["objectives"]) * len(cfg["levels"]) * cfg["n_seeds"]
    assert all(p["n_steps"] == 1234 and all(p[k] == cfg[k] for k in SCORER_DEFAULTS) for p in points)
    assert get_experiment("06").config()["population"] == "measured_rf"
    assert get_experiment("06").config()["rf_stimulus"] == "hartley"
    assert get_experiment("06").config()["n_jobs"] == get_experiment("07").config()["n_jobs"] == 2


def test_a_users_objective_runs_in_process():
    from effcode.experiments import get_experiment
    from effcode.objectives import OBJECTIVES

    cfg = get_experiment("06").config()
    assert e06.worker_jobs(cfg) == 2

    class Mine(OBJECTIVES.get("l1")):
        pass

    OBJECTIVES.register("mine_e06", Mine)
    try:
        assert e06.worker_jobs({**cfg, "objectives": ["l1", "mine_e06"]}) == 1
    finally:
        OBJECTIVES.unregister("mine_e06")
