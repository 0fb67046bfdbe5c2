"""Experiment 13's report is worded from saved metrics by pure functions: hand-made per-seed rows
with known answers (a verdict only from significant tests, Holm's correction)."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from effcode.experiments import e13_v1_like_codes as e13
from effcode.experiments import get_experiment
from effcode.experiments.common import SCORER_DEFAULTS


#: the point metrics of each bracket's ends (undetermined units at the ends of their intervals): (least
#: V1-like end, most V1-like end)
ENDS = {"nxny_distance": ("nxny_distance_least", "nxny_distance_most"),
        "nxny_p_value": ("nxny_p_value_least", "nxny_p_value_most"),
        "blob_fraction": ("blob_fraction_least", "blob_fraction_most"),
        "fewer_blobs_p_value": ("fewer_blobs_p_value_least", "fewer_blobs_p_value_most")}


def _row(code, factor, seed, distance, **extra):
    """One point's row (``e13.METRICS``): the bracket's ends are the point values unless ``extra`` gives them
    (every compared unit placed in one bin)."""
    row = {m: 0.5 for m in e13.METRICS}
    row.update({"code": code, "factor": factor, "n_filters": int(factor * 144), "seed": seed,
                "nxny_distance": distance, "nxny_p_value": 0.001, "fewer_blobs_p_value": 0.001, "blob_fraction": 0.0,
                "n_compared": 100.0, "n_resolved": 80.0, "n_unresolved": 20.0,
                "unit_nx": [0.3 + seed], "unit_ny": [0.5]})
    row.update(extra)
    for metric, ends in ENDS.items():
        for end in ends:
            if end not in extra:
                row[end] = row[metric]
    return row


def _summary(table: dict, **per_metric) -> dict:
    """The summary of {(code, factor): [distance per seed]}; ``per_metric`` gives other metrics alike."""
    rows = []
    for (code, factor), values in table.items():
        for seed, d in enumerate(values):
            extra = {m: v[(code, factor)][seed] for m, v in per_metric.items() if (code, factor) in v}
            rows.append(_row(code, factor, seed, d, **extra))
    return e13.summarise(rows)


def test_sweep_points_cover_every_code_size_and_seed_with_the_same_patches():
    cfg = get_experiment("13").config()
    points = e13.sweep_points(SimpleNamespace(config=cfg, seed=3, device="cpu"))
    settings = len(cfg["sailnet_factors"]) + len(cfg["objectives"]) * len(cfg["factors"])
    assert len(points) == settings * cfg["n_seeds"] and cfg["n_seeds"] >= 3
    assert {p["seed"] for p in points} == set(range(3, 3 + cfg["n_seeds"]))
    assert {p["patch_size"] for p in points} == {cfg["patch_size"]}
    assert all(p[k] == cfg[k] for p in points for k in SCORER_DEFAULTS)
    l1 = {p["factor"]: p for p in points if p["code"] == "l1" and p["seed"] == 3}
    assert {f: p["n_filters"] for f, p in l1.items()} == {1.0: 144, 2.0: 288, 4.0: 576}
    assert {f: p["n_iter"] for f, p in l1.items()} == {1.0: 20, 2.0: 40, 4.0: 80}
    topk = [p for p in points if p["code"] == "topk"]
    assert {p["objective_params"]["k"] for p in topk} == {cfg["topk_k"]}      # k fixed across sizes
    assert {p["method"] for p in points if p["code"] == "sailnet"} == {"sailnet"}


def test_shape_spread_is_the_interquartile_range_of_log10():
    values = 10.0 ** np.linspace(-1, 1, 101)                   # log10 uniform on [-1, 1]: IQR 1
    assert e13.shape_spread(values) == pytest.approx(1.0)
    assert math.isnan(e13.shape_spread([0.3, 0.4, 0.0, np.nan]))    # fewer than 5 usable units


def test_pooled_units_keep_every_seed_and_code_order_follows_the_claims():
    rows = [_row("topk", 1.0, 1, 0.5), _row("l1", 1.0, 0, 0.5), _row("topk", 1.0, 0, 0.5)]
    units = e13.pooled_units(rows)
    assert units["topk@1x"]["nx"] == [0.3, 1.3] and units["topk@1x"]["seed"] == [0, 1]
    assert e13.code_order(["topk", "mine", "l1", "sailnet"]) == ["sailnet", "l1", "topk", "mine"]


HARD_WINS = {("l1", 1.0): [0.80, 0.82, 0.81], ("l1", 4.0): [0.70, 0.71, 0.69],
             ("l0", 1.0): [0.50, 0.52, 0.49], ("l0", 4.0): [0.30, 0.33, 0.31],
             ("topk", 1.0): [0.55, 0.54, 0.56], ("topk", 4.0): [0.35, 0.36, 0.33]}


def test_rehn_sommer_parts_hold_when_hard_codes_win_at_every_size_and_improve_with_size():
    tests = e13.comparisons(_summary(HARD_WINS))
    assert tests["rehn_sommer"]["n_tests"] == 4 and tests["rehn_sommer_size"]["n_tests"] == 2
    [v] = e13.rehn_sommer_verdicts(tests)
    assert v.part("closer").state == "holds" and v.part("closer_with_overcompleteness").state == "holds"
    # nx, ny and the blob fraction are the same in every seed here (no spread, no test): only partly reproduced
    assert v.verdict == "partly" and "lower median nx) in hard codes: not tested here" in v.sentence
    assert "l0 (hard) 1x against L1 sparse coding 1x: difference in nx–ny distance (hard − soft) -0.307" in v.sentence


def test_rehn_sommer_contradicted_when_hard_codes_are_farther():
    farther = {k: ([v + 0.4 for v in vals] if k[0] != "l1" else vals) for k, vals in HARD_WINS.items()}
    flat = {**farther, ("l0", 4.0): farther[("l0", 1.0)], ("topk", 4.0): [0.95, 0.94, 0.96]}
    [v] = e13.rehn_sommer_verdicts(e13.comparisons(_summary(flat)))
    assert v.verdict == "contradicted" and v.part("closer").state == "opposite"
    assert "contradicted (hard codes closer to V1 than soft codes: significantly the other way)" in v.sentence


def test_rehn_sommer_same_direction_without_significance_is_not_significant():
    noisy = {("l1", 1.0): [0.80, 0.60, 0.81], ("l0", 1.0): [0.70, 0.55, 0.80],
             ("l1", 4.0): [0.70, 0.50, 0.72], ("l0", 4.0): [0.50, 0.49, 0.50]}
    [v] = e13.rehn_sommer_verdicts(e13.comparisons(_summary(noisy)))
    assert v.part("closer").state == "not significant"


def test_olshausen_parts_are_the_spreads_and_the_blob_fraction():
    table = {("l1", 1.0): [0.8, 0.8, 0.8], ("l1", 4.0): [0.7, 0.7, 0.7]}
    wider = {("l1", 1.0): [0.20, 0.22, 0.21], ("l1", 4.0): [0.40, 0.43, 0.41]}
    same = {("l1", 1.0): [0.20, 0.22, 0.21], ("l1", 4.0): [0.22, 0.20, 0.21]}
    blobs = {("l1", 1.0): [0.01, 0.02, 0.01], ("l1", 4.0): [0.05, 0.07, 0.06]}
    [v] = e13.olshausen_verdicts(e13.comparisons(_summary(table, nx_spread=wider, ny_spread=wider,
                                                          blob_fraction=blobs)))
    assert v.verdict == "reproduced"
    [v] = e13.olshausen_verdicts(e13.comparisons(_summary(table, nx_spread=wider, ny_spread=same,
                                                          blob_fraction=blobs)))
    assert v.verdict == "partly" and v.part("wider_ny").state == "not significant"
    narrower = {("l1", 1.0): wider[("l1", 4.0)], ("l1", 4.0): wider[("l1", 1.0)]}
    [v] = e13.olshausen_verdicts(e13.comparisons(_summary(table, nx_spread=narrower)))
    assert v.verdict == "contradicted" and v.part("wider_nx").state == "opposite"


def test_sailnet_reproduced_only_with_no_rejection_in_any_seed_and_no_fewer_blobs():
    table = {("sailnet", 1.0): [0.30, 0.32, 0.31], ("l1", 1.0): [0.80, 0.82, 0.81]}
    like_v1 = {("sailnet", 1.0): [0.4, 0.6, 0.3]}
    summary = _summary(table, nxny_p_value=like_v1, fewer_blobs_p_value=like_v1)
    [v] = e13.sailnet_verdicts(summary, n_permutations=200)
    assert v.verdict == "reproduced" and v.subject == "SAILnet 1x"
    assert "3 seeds: nx–ny distance to V1 +0.300 to +0.320" in v.sentence
    one_rejected = {("sailnet", 1.0): [0.4, 1 / 201, 0.3]}
    bad = _summary(table, nxny_p_value=one_rejected, fewer_blobs_p_value=like_v1)
    [v] = e13.sailnet_verdicts(bad, n_permutations=200)
    assert v.verdict == "contradicted" and "raw p at the floor 1/201 in 1" in v.sentence
    # three p-values of 0.02: Holm across seeds adjusts all to 0.06, so no seed rejects at 5%
    borderline = _summary(table, nxny_p_value={("sailnet", 1.0): [0.02, 0.02, 0.02]}, fewer_blobs_p_value=like_v1)
    [v] = e13.sailnet_verdicts(borderline)
    assert v.part("like_v1").state == "holds"


#: SAILnet near V1 in every seed; its blob-like fraction significantly below V1's (19/79) with the undetermined
#: units at the upper ends of their intervals (fewest blobs), above it with them at the lower ends (most blobs)
SAILNET_BRACKET = {"nxny_p_value": {("sailnet", 1.0): [0.4, 0.6, 0.3]},
                   "nxny_distance_least": {("sailnet", 1.0): [0.35, 0.37, 0.36]},
                   "nxny_distance_most": {("sailnet", 1.0): [0.20, 0.22, 0.21]},
                   "blob_fraction": {("sailnet", 1.0): [0.15, 0.15, 0.15]},
                   "fewer_blobs_p_value": {("sailnet", 1.0): [0.1, 0.1, 0.1]},
                   "blob_fraction_least": {("sailnet", 1.0): [0.05, 0.05, 0.05]},
                   "fewer_blobs_p_value_least": {("sailnet", 1.0): [0.001, 0.001, 0.001]},
                   "blob_fraction_most": {("sailnet", 1.0): [0.30, 0.30, 0.30]},
                   "fewer_blobs_p_value_most": {("sailnet", 1.0): [0.9, 0.9, 0.9]}}


def test_sailnet_is_undetermined_when_the_blob_brackets_ends_disagree():
    table = {("sailnet", 1.0): [0.30, 0.32, 0.31], ("l1", 1.0): [0.80, 0.82, 0.81]}
    summary = _summary(table, **SAILNET_BRACKET)
    [v] = e13.sailnet_verdicts(summary, n_permutations=1999)
    assert v.part("like_v1").state == "holds"
    blobs = v.part("blobs_not_fewer")
    assert blobs.state == "undetermined" and blobs.ends == {"least": "opposite", "most": "holds"}
    # reproduced with the units at one end, contradicted at the other: no verdict can be stated
    assert v.verdict == "undetermined"
    assert ("undetermined (the bracket's ends disagree on blob-like fraction not lower than V1's)" in v.sentence)
    assert "least V1-like end, opposite: 3 seeds: difference in blob-like fraction (SAILnet − V1) -0.191" in v.sentence
    # the distance's ends are the per-seed tests at each end: estimates of the least and the most V1-like placement
    like_v1 = v.part("like_v1")
    assert [e.test["estimate"] for e in like_v1.elements["least"]] == pytest.approx([0.35, 0.37, 0.36])
    assert [e.test["estimate"] for e in like_v1.elements["most"]] == pytest.approx([0.20, 0.22, 0.21])
    assert {e.test["n_permutations"] for e in like_v1.elements["most"]} == {1999}


def test_settings_table_gives_compared_units_and_the_brackets():
    table = {("sailnet", 1.0): [0.30, 0.32, 0.31], ("l1", 1.0): [0.80, 0.82, 0.81]}
    text = e13.settings_table(_summary(table, **SAILNET_BRACKET))
    assert "| compared units (undetermined) | nx–ny distance [bracket] |" in text
    row = next(r for r in text.splitlines() if r.startswith("| SAILnet"))
    # compared (undetermined); distance [most–least V1-like]; largest p; blob-like fraction [lo–hi]
    assert row.startswith("| SAILnet | 1x | 144 | 3 | 72.0 | 0.50 [0.50, 0.50] | 100 (20) | "
                          "0.31 [0.29, 0.33] [0.21–0.36] | 0.600 | 0.15 [0.15, 0.15] [0.05–0.30] |")


def test_rehn_sommer_gets_nx_ny_and_blob_parts():
    soft_nx, soft_ny, soft_blobs = [0.60, 0.65, 0.62], [1.00, 1.10, 1.05], [0.02, 0.03, 0.02]
    noise = np.array([0.0, 0.01, -0.01])
    per_metric = {"median_nx": {}, "median_ny": {}, "blob_fraction": {}}
    for key in HARD_WINS:
        hard = key[0] != "l1"
        per_metric["median_nx"][key] = list(np.add(soft_nx, noise - 0.3) if hard else soft_nx)
        per_metric["median_ny"][key] = list(np.add(soft_ny, noise - 0.4) if hard else soft_ny)
        per_metric["blob_fraction"][key] = list(np.add(soft_blobs, noise + 0.2) if hard else soft_blobs)
    tests = e13.comparisons(_summary(HARD_WINS, **per_metric))
    fam = tests["rehn_sommer"]
    # four metrics x (l0, top-k) x (1x, 4x), every difference with spread
    assert [t["metric"] for t in fam["tests"]][::4] == list(e13.REHN_SOMMER_PARTS) and fam["n_tests"] == 16
    assert all("bracket" in t for t in fam["tests"] if t["metric"] in ("nxny_distance", "blob_fraction"))
    [v] = e13.rehn_sommer_verdicts(tests)
    assert [p.state for p in v.parts] == ["holds"] * 5 and v.verdict == "reproduced"
    assert "l0 (hard) 4x against L1 sparse coding 4x: difference in blob-like fraction (hard − soft) +0.200" in v.sentence


def test_report_text_names_each_paper_and_its_verdict():
    table = {**HARD_WINS, ("sailnet", 1.0): [0.6, 0.62, 0.61]}
    summary = _summary(table)
    tests = e13.comparisons(summary)
    text = e13.report_text(summary, tests, {**SCORER_DEFAULTS, "n_bootstrap": 200}, "Training: test.")
    for paper in ("Zylberberg", "Rehn & Sommer", "Olshausen (2013"):
        assert paper in text
    assert "| SAILnet | 1x | 144 | 3 | 72.0 |" in text
    assert "| Zylberberg, Murphy & DeWeese (2011) |" in text and "| SAILnet 1x: contradicted (" in text
    found = e13.verdicts(summary, tests)
    assert found["sailnet"][0].verdict == "contradicted"                  # p = 0.001 in every seed
    # the permutation test's floor is that of its own draws (n_permutations), not of the bootstrap's
    floor = _summary(table, nxny_p_value={("sailnet", 1.0): [1 / 2000] * 3})
    text = e13.report_text(floor, e13.comparisons(floor), {**SCORER_DEFAULTS, "n_bootstrap": 200}, "")
    assert "raw p at the floor 1/2000 in 3" in text and "1/201" not in text
    assert e13.answer(found, tests).count("reported that") == 3


def test_a_collapsed_code_is_reported_but_left_out_of_the_tests():
    table = dict(HARD_WINS)
    table[("l0", 4.0)] = [0.95, 0.96, 0.94]                 # far from V1, but with 0.2 active units per patch
    active = {("l0", 4.0): [0.2 / 576] * 3}
    summary = _summary(table, active_fraction=active)
    assert e13.collapsed(summary) == ["l0@4x"]
    tests = e13.comparisons(summary)
    assert tests["collapsed"] == {"l0@4x": pytest.approx(0.2)}
    assert all("l0 (hard) 4x" not in (t["a"], t["b"]) for name in ("rehn_sommer", "rehn_sommer_size")
               for t in tests[name]["tests"])
    assert "left out of every test as collapsed" in e13.collapsed_note(tests).lower()
    assert "l0@4x (0.20 active)" in e13.answer(e13.verdicts(summary, tests), tests)
    [v] = e13.rehn_sommer_verdicts(tests)
    assert v.part("closer").state == "holds" and v.part("closer_with_overcompleteness").state == "holds"
    assert "l0 (hard) (collapsed, not tested) | 4x" in e13.settings_table(summary)
