"""Experiment 05's report is made from its metrics by pure functions: known answers on hand-made metrics."""

import math

import pytest

from effcode.experiments.e05_v1_comparison import (findings_text, funnel_table, headline_table, learners,
                                                   ordering_text, peak_sf_table, ringach_verdict, section_text,
                                                   seed_summary, similarity_note)

EXCLUDED = {"modulation_ratio": "same for every linear model", "peak_sf": "scales with pixels per degree"}


def finding(holds, p, effect=0.7, n=60):
    return {"holds": holds, "p_value": p, "effect": effect, "n_model": n}


def seed_metrics(distance=0.75, p=0.001, nx=0.5, subfields=(True, 0.001, 0.7), blobs=(True, 0.01, 0.05),
                 resolved=60, in_grid=50, similarity=0.6):
    holds, p_sub, effect = subfields
    b_holds, p_blob, fraction = blobs
    return {"population": "basis", "r2": {"median_r2": 0.9}, "median_nx": {"value": nx}, "median_ny": {"value": 1.2},
            "nxny_distance": distance, "nxny_p_value": p, "nxny": {"distance": distance, "p_value": p, "null_95": 0.3},
            "nxny_in_grid": {"distance": distance - 0.1, "p_value": p},
            "funnel": {"all units": 100, "fit succeeded": 100, "R² ≥ threshold": 90, "nx and ny resolved": resolved,
                       "inside the reference grid": in_grid},
            "n_unresolved": 90 - resolved, "mean_similarity": similarity,
            "similarity": {"circular_variance": 0.5, "sf_bandwidth": 0.7, "modulation_ratio": 0.9, "peak_sf": 0.8},
            "excluded_from_mean": EXCLUDED, "peak_sf_by_ppd": {"10": 0.4, "20": 0.8, "40": 0.6},
            "findings": {"more_subfields": finding(holds, p_sub, effect), "more_elongated": finding(True, 0.001, 0.9),
                         "fewer_blobs": {"holds": b_holds, "p_value": p_blob, "fraction": fraction, "n_model": 60,
                                         "v1_fraction": 19 / 79}}}


def metrics_of(per_seed: dict) -> dict:
    return {"learners": list(per_seed), "population": "basis", "seeds": [0, 1, 2],
            "settings": {"r2_threshold": 0.7, "max_relative_se": 0.2, "n_bootstrap": 1000},
            "per_seed": per_seed, "summary": {label: seed_summary(ms) for label, ms in per_seed.items()},
            "v1": {"n_cells": 79, "median_nx": 0.37, "median_ny": 0.44, "blob_count": 19, "blob_fraction": 19 / 79,
                   "blob_edge": 0.302, "grid": [0.1, 1.585]}}


@pytest.fixture
def three_seeds():
    return metrics_of({
        "sparse coding": [seed_metrics(0.7, 0.001, resolved=58), seed_metrics(0.8, 0.004, resolved=60),
                          seed_metrics(0.75, 0.002, resolved=62)],
        "ICA": [seed_metrics(0.30, 0.2, subfields=(False, 0.3, 0.55)), seed_metrics(0.31, 0.01),
                seed_metrics(0.32, 0.03)]})


def test_seed_summary_known_answers(three_seeds):
    s = three_seeds["summary"]["sparse coding"]
    assert s["nxny_distance"]["mean"] == pytest.approx(0.75)
    assert s["nxny_distance"]["lo"] == pytest.approx(0.75 - 4.302653 * 0.05 / math.sqrt(3), abs=1e-6)
    assert s["nxny_p_value"]["max"] == 0.004 and s["nxny_p_value"]["n_significant"] == 3
    assert s["n_unresolved"]["values"] == [32, 30, 28]
    assert s["peak_sf"]["40"]["mean"] == pytest.approx(0.6)
    assert s["findings"]["more_subfields"] == {"holds": 3, "n": 3, "p_values": [0.001] * 3, "effects": [0.7] * 3,
                                               "n_units": [60] * 3}
    ica = three_seeds["summary"]["ICA"]
    assert ica["nxny_p_value"]["n_significant"] == 2 and ica["findings"]["more_subfields"]["holds"] == 2


def test_learner_order_is_kept(three_seeds):
    assert learners(three_seeds) == ["sparse coding", "ICA"]
    table = headline_table(three_seeds)
    assert table.index("| sparse coding |") < table.index("| ICA |")


def test_funnel_table_counts_every_stage_and_the_unresolved_class(three_seeds):
    table = funnel_table(three_seeds)
    assert "basis functions (basis), mean over 3 seeds" in table
    row = [r for r in table.splitlines() if r.startswith("| sparse coding")][0]
    # all, fit, R² ok, resolved (range over seeds), unresolved (range), in grid, resolved outside the grid
    assert row == "| sparse coding | 100 | 100 | 90 | 60 (58–62) | 30 (28–32) | 50 | 10 (8–12) |"
    assert "unresolved (R² ≥ 0.70, SE of nx or ny > 0.20·value)" in table


def test_headline_table_gives_intervals_the_largest_p_and_the_own_size_null(three_seeds):
    table = headline_table(three_seeds)
    row = [r for r in table.splitlines() if r.startswith("| sparse coding")][0]
    assert "| 0.75 [0.63, 0.87] | 0.004 (3/3) | 0.30 [0.30, 0.30] | 0.65 [0.53, 0.77] |" in row
    assert "| 0.90 [0.90, 0.90] | 0.50 [0.50, 0.50] | 1.20 [1.20, 1.20] |" in row
    ica = [r for r in table.splitlines() if r.startswith("| ICA")][0]
    assert "| 0.200 (2/3) |" in ica
    assert "V1: 19/79 = 0.24" in table and "| V1 (Ringach 2002, 79 cells) | – | 0.37 | 0.44 |" in table
    assert "own size" in table


def test_intervals_are_clipped_to_the_possible_range():
    m = metrics_of({"ICA": [seed_metrics(nx=v) for v in (0.1, 0.9, 0.2)]})
    row = [r for r in headline_table(m).splitlines() if r.startswith("| ICA")][0]
    assert "| 0.40 [0.00, 1.48] |" in row                  # raw interval -0.68 to 1.48; nx cannot be negative


def test_one_seed_gives_no_interval():
    m = metrics_of({"ICA": [seed_metrics(0.5, 1 / 1001)]})
    row = [r for r in headline_table(m).splitlines() if r.startswith("| ICA")][0]
    assert "| 0.50 | < 0.001 (1/1) |" in row


def test_similarity_note_says_what_is_averaged_and_what_is_left_out_and_why(three_seeds):
    note = similarity_note(three_seeds)
    assert "averaged over 2 properties: circular_variance, sf_bandwidth." in note
    assert "modulation_ratio (same for every linear model)" in note
    assert "peak_sf (scales with pixels per degree)" in note


def test_peak_sf_table_has_every_sampling(three_seeds):
    table = peak_sf_table(three_seeds)
    assert "| learner | 10 px/deg | 20 px/deg | 40 px/deg |" in table
    assert "| sparse coding | 0.40 [0.40, 0.40] | 0.80 [0.80, 0.80] | 0.60 [0.60, 0.60] |" in table


def test_findings_are_worded_by_the_claims_verdict_per_learner(three_seeds):
    text = findings_text(three_seeds)
    assert "**The literature, tested.** Ringach (2002) reported that" in text
    # every finding holds in every seed (Holm across 3 seeds: 0.003, 0.003, 0.03)
    assert "- sparse coding: Ringach (2002) reported that" in text
    assert ringach_verdict(three_seeds, "sparse coding").verdict == "reproduced"
    ica = ringach_verdict(three_seeds, "ICA")
    assert ica.verdict == "partly" and ica.part("more_subfields").state == "not significant"   # p 0.3 in one seed
    assert ("partly reproduced (holds: more elongated (larger ny) than V1 cells; fewer blob-like units (nx and ny "
            "< 0.30) than V1; does not hold: more subfields (larger nx) than V1 cells (not significant))") in text
    assert "| ICA | not significant (p: 0.300, 0.001, 0.001; mean P(model > V1) 0.65) |" in text
    assert text.count("| reproduced |") == 1 and "| partly |" in text


def test_a_finding_reversed_in_every_seed_contradicts_and_one_that_holds_in_none_is_not_significant():
    m = metrics_of({
        "ICA": [seed_metrics(subfields=(False, 0.4, 0.52), blobs=(False, 0.6, 0.2)) for _ in range(3)],
        "sparse CNN": [seed_metrics(subfields=(False, 0.999, 0.3), blobs=(False, 0.6, 0.2)) for _ in range(3)]})
    ica = ringach_verdict(m, "ICA")
    assert [p.state for p in ica.parts] == ["not significant", "holds", "not significant"]
    cnn = ringach_verdict(m, "sparse CNN")
    assert cnn.verdict == "contradicted" and cnn.part("more_subfields").state == "opposite"
    text = findings_text(m)
    assert "sparse CNN: Ringach (2002) reported that" in text
    assert "contradicted (more subfields (larger nx) than V1 cells: significantly the other way)" in text


def test_contradiction_needs_every_seed_reversed():
    def verdict_of(ps, effects):
        return ringach_verdict(metrics_of({"ICA": [seed_metrics(subfields=(False, p, e)) for p, e in
                                                   zip(ps, effects)]}), "ICA").part("more_subfields").state
    assert verdict_of([0.99, 0.97, 0.5], [0.3, 0.35, 0.45]) == "not significant"
    assert verdict_of([0.999, 0.995, 0.99], [0.3, 0.3, 0.3]) == "opposite"
    # a blob-like fraction above V1's in every seed (Fisher's one-sided p near 1) reverses "fewer blobs"
    blobs = metrics_of({"ICA": [seed_metrics(blobs=(False, 0.999, 0.5)) for _ in range(3)]})
    assert ringach_verdict(blobs, "ICA").part("fewer_blobs").state == "opposite"


def test_closer_is_claimed_only_with_a_test():
    far_apart = metrics_of({"ICA": [seed_metrics(d) for d in (0.30, 0.31, 0.32)],
                            "sparse coding": [seed_metrics(d) for d in (0.70, 0.75, 0.80)]})
    text = ordering_text(far_apart)
    assert "ICA is closer to V1 than sparse coding (Welch t-test over seeds, p = 0.0" in text
    overlapping = metrics_of({"ICA": [seed_metrics(d) for d in (0.5, 0.7, 0.9)],
                              "sparse coding": [seed_metrics(d) for d in (0.6, 0.7, 0.8)]})
    text = ordering_text(overlapping)
    assert "closer" not in text
    assert "ICA and sparse coding are not distinguished (Welch t-test over seeds, p = 1.000)" in text
    assert "for ICA in 3 of 3 seeds; sparse coding in 3 of 3 seeds" in text


def test_a_learner_without_resolved_units_reads_as_missing():
    empty = seed_metrics()
    empty.update(nxny_distance=math.nan, nxny_p_value=math.nan, nxny={"n_model": 2}, nxny_in_grid={"n_model": 1},
                 median_nx={"value": math.nan}, mean_similarity=math.nan, similarity={}, peak_sf_by_ppd={})
    for name in ("more_subfields", "more_elongated"):
        empty["findings"][name] = {"holds": False, "p_value": math.nan, "effect": math.nan, "n_model": 0}
    empty["findings"]["fewer_blobs"] = {"holds": False, "p_value": math.nan, "fraction": math.nan, "n_model": 0}
    m = metrics_of({"sparse CNN": [empty, empty], "ICA": [seed_metrics(), seed_metrics()]})
    row = [r for r in headline_table(m).splitlines() if r.startswith("| sparse CNN")][0]
    assert "| – | – (0/0) | – |" in row
    text = section_text(m)
    assert ("more subfields (larger nx) than V1 cells: not tested here (too few units for a test)" in
            ringach_verdict(m, "sparse CNN").sentence)
    assert "- sparse CNN: Ringach (2002) reported that" in text and "not tested here." in text
    assert "sparse CNN and" not in ordering_text(m) and "ICA in 2 of 2 seeds." in ordering_text(m)


def test_seeds_without_a_distance_are_said():
    few = seed_metrics()
    few.update(nxny_distance=math.nan, nxny_p_value=math.nan)
    m = metrics_of({"sparse CNN": [seed_metrics(), few]})
    assert "sparse CNN in 1 of 1 seeds (1 more had fewer than 5 resolved units: no distance)" in ordering_text(m)
