"""Experiment 05's report is made from its metrics by pure functions: known answers on hand-made metrics
in the scorer's format (:meth:`effcode.v1.V1PopulationScore.metrics`: every unit with R² ≥ threshold compared,
bin-based statistics with their bracket)."""

import math

import pytest

from effcode.experiments.e05_v1_comparison import (findings_text, funnel_table, headline_table, learners,
                                                   ordering_text, peak_sf_table, population_key, population_label,
                                                   populations, ringach_verdict, section_text, seed_summary,
                                                   similarity_note, spaces_table)
from effcode.v1.findings import conclusion

EXCLUDED = {"modulation_ratio": "same for every linear model", "peak_sf": "scales with pixels per degree"}
V1_BLOBS = 19 / 79
SETTINGS = {"r2_threshold": 0.7, "interval_level": 0.95, "pixels_per_degree": 20.0, "n_bootstrap": 1000,
            "n_permutations": 1999}


# -- hand-made metrics in the scorer's format ---------------------------------------------------

def larger(p, effect=0.7, n=60):
    """A test of "larger nx (ny) than V1" (effcode.v1.findings): one-sided p, P(model > V1), units."""
    return {"p_value": p, "p_opposite": 1 - p, "effect": effect, "holds": p < 0.05 and effect > 0.5,
            "opposite": 1 - p < 0.05 and effect < 0.5, "n_model": n}


def fewer(p, fraction, n=60):
    """A test of "fewer blob-like units than V1": Fisher's one-sided p and the model's fraction."""
    return {"p_value": p, "p_opposite": 1 - p, "fraction": fraction, "effect": fraction - V1_BLOBS,
            "v1_fraction": V1_BLOBS, "holds": p < 0.05, "opposite": 1 - p < 0.05, "n_model": n}


def bracketed(point, least=None, most=None):
    """A finding at the three placements, with the scorer's conclusion over the bracket's ends."""
    least, most = least or point, most or point
    return {"least": least, "most": most, "point": point, "conclusion": conclusion(least, most)}


def seed_metrics(distance=0.75, p=0.001, nx=0.5, subfields=(0.001, 0.7), blobs=(0.01, 0.05), resolved=60,
                 in_grid=50, similarity=0.6, blob_ends=None):
    """One seed's ``V1PopulationScore.metrics()``: 90 of 100 units compared, ``resolved`` of them placed in one
    bin.  The bracket: distance [d − 0.10 (most V1-like), d + 0.05 (least)], p [10·p, p / 2], blob-like
    fraction [f − 0.03, f + 0.10]; ``blob_ends`` = (test at the least, at the most V1-like end) of the blob
    finding (default: the point test at both ends)."""
    p_sub, effect = subfields
    p_blob, fraction = blobs
    blob_point = fewer(p_blob, fraction)
    least_blobs, most_blobs = blob_ends or (None, None)
    return {"name": "model", "population": "measured_rf", "settings": SETTINGS,
            "funnel": {"all units": 100, "fit succeeded": 100, "R² ≥ threshold": 90, "nx and ny resolved": resolved,
                       "inside the reference grid": in_grid},
            "n_unresolved": 90 - resolved,
            "classification": {"compared": 90, "placed": resolved, "undetermined": 90 - resolved, "at_bound": 0},
            "r2": {"median_r2": 0.9, "n_filters": 100, "frac_r2_0.7": 0.9, "frac_r2_0.8": 0.8, "frac_r2_0.9": 0.5},
            "median_nx": {"value": nx, "lo": nx, "hi": nx, "se": 0.0, "bracket_lo": nx - 0.1, "bracket_hi": nx + 0.2},
            "median_ny": {"value": 1.2, "lo": 1.2, "hi": 1.2, "se": 0.0, "bracket_lo": 1.0, "bracket_hi": 1.4},
            "nxny_distance": distance, "nxny_p_value": p,
            "nxny": {"distance": distance, "p_value": p, "p_floor": 1 / 2000, "null_95": 0.3, "n_model": 90,
                     "n_reference": 79},
            "nxny_bracket": {"least": {"distance": distance + 0.05, "p_value": p / 2},
                             "most": {"distance": distance - 0.1, "p_value": min(1.0, 10 * p)},
                             "conclusion": "differs from V1"},
            "nxny_in_grid": {"distance": distance - 0.1, "p_value": p},
            "blob_fraction": {"point": fraction, "lo": max(0.0, fraction - 0.03), "hi": fraction + 0.1,
                              "v1": V1_BLOBS},
            "mean_similarity": similarity,
            "similarity": {"circular_variance": 0.5, "sf_bandwidth": 0.7, "modulation_ratio": 0.9, "peak_sf": 0.8},
            "excluded_from_mean": EXCLUDED, "peak_sf_by_ppd": {"10": 0.4, "20": 0.8, "40": 0.6},
            "findings": {"more_subfields": bracketed(larger(p_sub, effect)),
                         "more_elongated": bracketed(larger(0.001, 0.9)),
                         "fewer_blobs": bracketed(blob_point, least_blobs, most_blobs)}}


def metrics_of(per_seed: dict, alternatives: dict | None = None) -> dict:
    """experiment 05's ``metrics.json`` for {learner: [seed metrics]} (headline: Hartley-measured RFs), with
    ``alternatives`` {population key: {learner: [seed metrics]}} scored beside it."""
    out = {"learners": list(per_seed), "population": "measured_rf", "rf_stimulus": "hartley",
           "headline": "measured_rf/hartley", "seeds": [0, 1, 2], "settings": SETTINGS,
           "per_seed": per_seed, "summary": {label: seed_summary(ms) for label, ms in per_seed.items()},
           "v1": {"n_cells": 79, "median_nx": 0.37, "median_ny": 0.44, "blob_count": 19, "blob_fraction": V1_BLOBS,
                  "blob_edge": 0.302, "grid": [0.1, 1.585]}}
    if alternatives is not None:
        out["alternatives"] = {key: {"per_seed": ps, "summary": {label: seed_summary(ms) for label, ms in ps.items()}}
                               for key, ps in alternatives.items()}
    return out


def row_of(table: str, start: str) -> str:
    return next(r for r in table.splitlines() if r.startswith(start))


@pytest.fixture
def three_seeds():
    return metrics_of({
        "sparse coding": [seed_metrics(0.7, 0.001, resolved=58), seed_metrics(0.8, 0.004, resolved=60),
                          seed_metrics(0.75, 0.002, resolved=62)],
        "ICA": [seed_metrics(0.30, 0.2, subfields=(0.3, 0.55)), seed_metrics(0.31, 0.01),
                seed_metrics(0.32, 0.03)]})


# -- summary --------------------------------------------------------------------------------------

def test_seed_summary_known_answers(three_seeds):
    s = three_seeds["summary"]["sparse coding"]
    assert s["nxny_distance"]["mean"] == pytest.approx(0.75)
    assert s["nxny_distance"]["lo"] == pytest.approx(0.75 - 4.302653 * 0.05 / math.sqrt(3), abs=1e-6)
    assert s["nxny_p_value"]["max"] == 0.004 and s["nxny_p_value"]["n_significant"] == 3
    assert s["n_unresolved"]["values"] == [32, 30, 28] and s["n_r2_ok"]["values"] == [90] * 3
    assert s["peak_sf"]["40"]["mean"] == pytest.approx(0.6)
    # the bracket's ends: least V1-like 0.05 above the fitted distance, most V1-like 0.10 below
    assert s["nxny_distance_least"]["values"] == pytest.approx([0.75, 0.85, 0.80])
    assert s["nxny_distance_most"]["mean"] == pytest.approx(0.65)
    assert s["nxny_p_value_least"]["values"] == pytest.approx([0.0005, 0.002, 0.001])
    assert s["nxny_p_value_most"]["values"] == pytest.approx([0.01, 0.04, 0.02])
    assert (s["blob_fraction"]["mean"], s["blob_fraction_lo"]["mean"], s["blob_fraction_hi"]["mean"]) == \
        pytest.approx((0.05, 0.02, 0.15))
    assert (s["median_nx_bracket_lo"]["mean"], s["median_nx_bracket_hi"]["mean"]) == pytest.approx((0.4, 0.7))
    assert s["findings"]["more_subfields"] == {"holds": 3, "n": 3, "conclusions": ["holds"] * 3,
                                               "p_values": [0.001] * 3, "effects": [0.7] * 3, "n_units": [60] * 3}
    assert s["findings"]["fewer_blobs"]["effects"] == [0.05] * 3
    assert s["findings"]["fewer_blobs"]["v1_fraction"] == pytest.approx(V1_BLOBS)
    ica = three_seeds["summary"]["ICA"]
    assert ica["nxny_p_value"]["n_significant"] == 2 and ica["findings"]["more_subfields"]["holds"] == 2
    assert ica["findings"]["more_subfields"]["conclusions"] == ["does not hold", "holds", "holds"]


def test_a_seed_without_a_bracket_has_nan_ends():
    few = seed_metrics()
    few.update(nxny_bracket={"least": {"n_model": 3}, "most": {"n_model": 3}, "conclusion": "undetermined"},
               blob_fraction={})
    s = seed_summary([few])
    assert math.isnan(s["nxny_distance_least"]["mean"]) and math.isnan(s["nxny_p_value_most"]["mean"])
    assert math.isnan(s["blob_fraction"]["mean"]) and math.isnan(s["blob_fraction_hi"]["mean"])


def test_learner_order_is_kept(three_seeds):
    assert learners(three_seeds) == ["sparse coding", "ICA"]
    table = headline_table(three_seeds)
    assert table.index("| sparse coding |") < table.index("| ICA |")


# -- tables ---------------------------------------------------------------------------------------

def test_funnel_table_counts_every_stage_and_the_undetermined_class(three_seeds):
    table = funnel_table(three_seeds)
    assert "Units of the measured receptive fields (Hartley gratings), mean over 3 seeds" in table
    assert "Every unit with R² ≥ 0.70 is compared with V1: none is dropped" in table
    assert "95% profile-likelihood intervals for nx and ny" in table
    # all, fit, compared, placed in one bin (range over seeds), undetermined (range), fitted inside the grid
    assert row_of(table, "| sparse coding") == "| sparse coding | 100 | 100 | 90 | 60 (58–62) | 30 (28–32) | 50 |"
    assert "| compared (R² ≥ 0.70) | placed in one bin | undetermined |" in table


def test_headline_table_gives_intervals_brackets_the_largest_p_and_the_own_size_null(three_seeds):
    table = headline_table(three_seeds)
    row = row_of(table, "| sparse coding")
    # distance 0.75 [0.63, 0.87], its bracket [most 0.65 – least 0.80]; largest p at the fitted values 0.004,
    # at the most V1-like end 0.040, at the least V1-like end 0.002; the null's 95th percentile
    assert "| 0.75 [0.63, 0.87] [0.65–0.80] | 0.004 [0.040, 0.002] | 0.30 [0.30, 0.30] |" in row
    assert "| 0.05 [0.05, 0.05] [0.02–0.15] | 0.60 [0.60, 0.60] |" in row          # blob-like fraction [lo–hi]
    assert "| 0.90 [0.90, 0.90] | 0.50 [0.50, 0.50] | 1.20 [1.20, 1.20] |" in row
    ica = row_of(table, "| ICA")
    assert "| 0.200 [1.000, 0.100] |" in ica                                       # 10·0.2 capped at 1
    assert "V1: 19/79 = 0.24" in table and "| V1 (Ringach 2002, 79 cells) | – | 0.37 | 0.44 | 0 |" in table
    assert "own size" in table and "Headline comparison of the measured receptive fields (Hartley gratings)" in table


def test_intervals_are_clipped_to_the_possible_range():
    m = metrics_of({"ICA": [seed_metrics(nx=v) for v in (0.1, 0.9, 0.2)]})
    row = row_of(headline_table(m), "| ICA")
    assert "| 0.40 [0.00, 1.48] |" in row                  # raw interval -0.68 to 1.48; nx cannot be negative


def test_one_seed_gives_no_interval():
    m = metrics_of({"ICA": [seed_metrics(0.5, 1 / 2000)]})
    row = row_of(headline_table(m), "| ICA")
    assert "| 0.50 [0.40–0.55] | < 0.001 [0.005, < 0.001] |" in row


def test_spaces_table_sets_the_basis_functions_beside_the_measured_receptive_fields():
    measured = {"sparse coding": [seed_metrics(0.3, 0.2, nx=0.35, blobs=(0.6, 0.2)) for _ in range(3)],
                "ICA": [seed_metrics(0.5, 0.01) for _ in range(3)]}
    basis = {"sparse coding": [seed_metrics(0.7, 0.001, nx=0.9, resolved=80) for _ in range(3)],
             "ICA": [seed_metrics(0.6, 0.001) for _ in range(3)]}
    m = metrics_of(measured, {"basis": basis})
    assert list(populations(m)) == ["measured_rf/hartley", "basis"]
    table = spaces_table(m)
    lines = table.splitlines()
    head = lines.index(row_of(table, "| sparse coding | measured receptive fields (Hartley gratings)"))
    beside = lines[head + 1]
    assert beside.startswith("| sparse coding | basis functions | 90 (10) | 0.90 [0.90, 0.90] |")
    assert ("| sparse coding | measured receptive fields (Hartley gratings) | 90 (30) | 0.35 [0.35, 0.35] | "
            "1.20 [1.20, 1.20] | 0.30 [0.30, 0.30] [0.20–0.35] | 0.20 [0.20, 0.20] [0.17–0.30] |") in lines[head]
    # the conclusion depends on the space: blobs are not fewer than V1's in the measured fields, are in the basis
    assert lines[head].endswith("does not hold: fewer blob-like units (nx and ny < 0.30) than V1 (not significant)) |")
    assert beside.endswith("| reproduced (every part holds) |")
    assert table.index("| sparse coding |") < table.index("| ICA |")
    assert spaces_table(metrics_of(measured)) == ""                  # nothing beside the headline: no table


def test_population_keys_and_labels():
    assert population_key("measured_rf", "hartley") == "measured_rf/hartley"
    assert population_key("basis", None) == "basis" and population_key("filters", "hartley") == "filters"
    assert population_label("measured_rf/hartley") == "measured receptive fields (Hartley gratings)"
    assert population_label("measured_rf/white_noise") == "measured receptive fields (white noise)"
    assert population_label("basis") == "basis functions"


def test_similarity_note_says_what_is_averaged_and_what_is_left_out_and_why(three_seeds):
    note = similarity_note(three_seeds)
    assert "averaged over 2 properties: circular_variance, sf_bandwidth." in note
    assert "modulation_ratio (same for every linear model)" in note
    assert "peak_sf (scales with pixels per degree)" in note


def test_peak_sf_table_has_every_sampling(three_seeds):
    table = peak_sf_table(three_seeds)
    assert "| learner | 10 px/deg | 20 px/deg | 40 px/deg |" in table
    assert "| sparse coding | 0.40 [0.40, 0.40] | 0.80 [0.80, 0.80] | 0.60 [0.60, 0.60] |" in table


# -- Ringach's findings ---------------------------------------------------------------------------

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
    assert ("| ICA | not significant (p at the fitted values: 0.300, 0.001, 0.001; mean P(model > V1) 0.65) |"
            in text)
    assert text.count("| reproduced |") == 1 and "| partly |" in text


def test_a_finding_whose_bracket_ends_disagree_is_undetermined():
    # the blob-like fraction is significantly below V1's with the undetermined units at the upper ends of their
    # intervals (fewest blobs), not with them at the lower ends (most blobs): the bracket's ends disagree
    ends = (fewer(0.001, 0.02), fewer(0.4, 0.2))
    m = metrics_of({"sparse coding": [seed_metrics(blob_ends=ends) for _ in range(3)]})
    s = m["summary"]["sparse coding"]["findings"]["fewer_blobs"]
    assert s["holds"] == 0 and s["conclusions"] == ["undetermined"] * 3
    v = ringach_verdict(m, "sparse coding")
    assert v.part("fewer_blobs").state == "undetermined"
    assert v.part("fewer_blobs").ends == {"least": "holds", "most": "not significant"}
    # reproduced at one end, partly at the other: no verdict can be stated
    assert v.verdict == "undetermined"
    text = findings_text(m)
    assert "undetermined (the bracket's ends disagree on fewer blob-like units" in text
    assert "| undetermined (p at the fitted values: 0.010, 0.010, 0.010; mean blob-like fraction 0.05) |" in text


def test_a_finding_reversed_in_every_seed_contradicts_and_one_that_holds_in_none_is_not_significant():
    m = metrics_of({
        "ICA": [seed_metrics(subfields=(0.4, 0.52), blobs=(0.6, 0.2)) for _ in range(3)],
        "sparse CNN": [seed_metrics(subfields=(0.999, 0.3), blobs=(0.6, 0.2)) for _ in range(3)]})
    ica = ringach_verdict(m, "ICA")
    assert [p.state for p in ica.parts] == ["not significant", "holds", "not significant"]
    cnn = ringach_verdict(m, "sparse CNN")
    assert cnn.verdict == "contradicted" and cnn.part("more_subfields").state == "opposite"
    assert m["summary"]["sparse CNN"]["findings"]["more_subfields"]["conclusions"] == ["opposite"] * 3
    text = findings_text(m)
    assert "sparse CNN: Ringach (2002) reported that" in text
    assert "contradicted (more subfields (larger nx) than V1 cells: significantly the other way)" in text


def test_contradiction_needs_every_seed_reversed():
    def verdict_of(ps, effects):
        return ringach_verdict(metrics_of({"ICA": [seed_metrics(subfields=(p, e)) for p, e in
                                                   zip(ps, effects)]}), "ICA").part("more_subfields").state
    assert verdict_of([0.99, 0.97, 0.5], [0.3, 0.35, 0.45]) == "not significant"
    assert verdict_of([0.999, 0.995, 0.99], [0.3, 0.3, 0.3]) == "opposite"
    # a blob-like fraction above V1's in every seed (Fisher's one-sided p near 1) reverses "fewer blobs"
    blobs = metrics_of({"ICA": [seed_metrics(blobs=(0.999, 0.5)) for _ in range(3)]})
    assert ringach_verdict(blobs, "ICA").part("fewer_blobs").state == "opposite"


# -- sentences ------------------------------------------------------------------------------------

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


def _too_few_units():
    """A seed with fewer compared units than the scorer's minimum: no population statistic."""
    empty = seed_metrics()
    empty.update(nxny_distance=math.nan, nxny_p_value=math.nan, nxny={"n_model": 2}, nxny_in_grid={"n_model": 1},
                 nxny_bracket={"least": {"n_model": 2}, "most": {"n_model": 2}, "conclusion": "undetermined"},
                 blob_fraction={}, median_nx={"value": math.nan}, mean_similarity=math.nan, similarity={},
                 peak_sf_by_ppd={})
    untested = {"p_value": math.nan, "p_opposite": math.nan, "effect": math.nan, "holds": False, "opposite": False,
                "n_model": 0}
    for name in ("more_subfields", "more_elongated"):
        empty["findings"][name] = bracketed(dict(untested))
    empty["findings"]["fewer_blobs"] = bracketed({**untested, "fraction": math.nan, "v1_fraction": V1_BLOBS})
    return empty


def test_a_learner_without_compared_units_reads_as_missing():
    empty = _too_few_units()
    m = metrics_of({"sparse CNN": [empty, empty], "ICA": [seed_metrics(), seed_metrics()]})
    row = row_of(headline_table(m), "| sparse CNN")
    cells = [c.strip() for c in row.split("|")]
    # median nx, the distance and its bracket, the largest p, the null and the blob-like fraction read as missing
    assert cells[3] == "–" and cells[5] == "– –" and cells[6] == "– [–, –]" and cells[7] == "–"
    assert cells[8] == "– –" and not any(c[:1].isdigit() for c in cells[5:9])
    text = section_text(m)
    assert ("more subfields (larger nx) than V1 cells: not tested here (too few units for a test)" in
            ringach_verdict(m, "sparse CNN").sentence)
    assert "- sparse CNN: Ringach (2002) reported that" in text and "not tested here." in text
    assert "sparse CNN and" not in ordering_text(m) and "ICA in 2 of 2 seeds." in ordering_text(m)


def test_seeds_without_a_distance_are_said():
    few = seed_metrics()
    few.update(nxny_distance=math.nan, nxny_p_value=math.nan)
    m = metrics_of({"sparse CNN": [seed_metrics(), few]})
    assert "sparse CNN in 1 of 1 seeds (1 more had fewer than 5 compared units: no distance)" in ordering_text(m)


def test_the_section_carries_every_table():
    measured = {"ICA": [seed_metrics() for _ in range(3)]}
    text = section_text(metrics_of(measured, {"basis": measured, "measured_rf/white_noise": measured}))
    assert "| ICA | measured receptive fields (white noise) |" in text and "| ICA | basis functions |" in text
    assert text.index("Headline comparison") < text.index("The same banks scored") < text.index("The literature")
