"""Experiment 12's plateau verdict and report are pure functions of per-seed rows: known answers."""

import math

import pytest

from effcode.experiments.e12_training_length import (first_plateau, length_summary, lengths_of, plateau_verdict,
                                                     section_text, verdict_table, verdict_text)


def rows_of(learner, table):
    """``table[length]`` = per-seed values of every statistic (the same values for all four)."""
    return [{"learner": learner, "length": length, "seed": seed, "median_r2": v, "median_nx": v, "median_ny": v,
             "nxny_distance": v} for length, values in table.items() for seed, v in enumerate(values)]


# committed 300: mean 0.80, SD 0.01, half-width t(0.975, 2) * 0.01 / sqrt(3) = 0.0248
STILL_MOVING = rows_of("sparse coding", {150: [0.70, 0.71, 0.72], 300: [0.79, 0.80, 0.81], 1200: [0.84, 0.85, 0.86]})
FLAT = rows_of("ICA", {100: [0.60, 0.70, 0.80], 200: [0.79, 0.80, 0.81], 400: [0.80, 0.81, 0.82]})


def test_plateau_verdict_known_answers():
    v = plateau_verdict(STILL_MOVING + FLAT, {"sparse coding": 300, "ICA": 200})
    moving = v["sparse coding"]["nxny_distance"]
    assert moving["committed"] == pytest.approx(0.80) and moving["longest"] == pytest.approx(0.85)
    assert moving["change"] == pytest.approx(0.05)
    assert moving["half_width"] == pytest.approx(4.302653 * 0.01 / math.sqrt(3), rel=1e-5)
    assert moving["past_plateau"] is False and moving["longest_length"] == 1200 and moving["n_seeds"] == 3
    assert moving["paired_p"] == 0.0                       # every seed moved by exactly +0.05
    flat = v["ICA"]["median_r2"]
    assert flat["change"] == pytest.approx(0.01) and flat["past_plateau"] is True
    assert set(v["ICA"]) == {"median_r2", "median_nx", "median_ny", "nxny_distance"}


def test_a_decrease_counts_like_an_increase():
    rows = rows_of("x", {1: [0.79, 0.80, 0.81], 2: [0.70, 0.70, 0.70]})
    assert plateau_verdict(rows, {"x": 1})["x"]["median_r2"]["past_plateau"] is False


def test_no_verdict_without_a_longer_length_or_an_interval():
    only_committed = rows_of("x", {1: [0.79, 0.80, 0.81], 0.5: [0.1, 0.2, 0.3]})
    assert plateau_verdict(only_committed, {"x": 1})["x"]["median_r2"]["past_plateau"] is None
    one_seed = rows_of("x", {1: [0.8], 2: [0.8]})
    v = plateau_verdict(one_seed, {"x": 1})["x"]["median_r2"]
    assert v["past_plateau"] is None and math.isnan(v["half_width"]) and math.isnan(v["paired_p"])


def test_first_plateau_is_the_shortest_length_already_within_the_interval():
    rows = rows_of("x", {1: [0.5, 0.6, 0.7], 2: [0.79, 0.80, 0.81], 4: [0.83, 0.84, 0.85], 8: [0.84, 0.85, 0.86]})
    assert first_plateau(rows, "x") == 4                   # 2 -> 8 moves 0.05 > 0.025; 4 -> 8 moves 0.01
    assert first_plateau(STILL_MOVING, "sparse coding") is None


def test_lengths_include_the_committed_one():
    assert lengths_of(300, [0.25, 0.5, 2, 4]) == [75, 150, 300, 600, 1200]
    assert lengths_of(3, [0.1]) == [1, 3]


def test_summary_gives_intervals_per_length():
    s = length_summary(STILL_MOVING)["sparse coding"]["nxny_distance"]
    assert s["length"] == [150, 300, 1200] and s["n"] == [3, 3, 3]
    assert s["mean"] == pytest.approx([0.71, 0.80, 0.85])
    assert s["hi"][1] - s["mean"][1] == pytest.approx(4.302653 * 0.01 / math.sqrt(3), rel=1e-5)


def metrics_of(rows, committed):
    return {"learners": list(committed), "population": "basis", "seeds": [0, 1, 2], "committed": committed,
            "length_params": {"sparse coding": "n_steps", "ICA": "max_iter"}, "rows": rows,
            "summary": length_summary(rows), "verdict": plateau_verdict(rows, committed),
            "first_plateau": {k: first_plateau(rows, k) for k in committed}}


def test_report_says_which_committed_length_is_past_the_plateau():
    m = metrics_of(STILL_MOVING + FLAT, {"sparse coding": 300, "ICA": 200})
    text = verdict_text(m)
    assert "**sparse coding** (n_steps = 300 dictionary updates): **not past the plateau** — from 300 to 1200" in text
    assert "median R², median nx, median ny, nx–ny TV distance move by more than" in text
    assert "train longer than 1200" in text
    assert "**ICA** (max_iter = 200" in text and "past the plateau — from 200 to 400 every statistic" in text
    table = verdict_table(m)
    assert ("| sparse coding | nx–ny TV distance | 300 | 0.800 [±0.025] | 1200 | 0.850 | +0.050 | **no** | < 0.001 |"
            in table)
    assert "| ICA | median R² | 200 | 0.800 [±0.025] | 400 | 0.810 | +0.010 | yes |" in table
    assert "Not run at these settings: sparse CNN." in section_text(m)


def test_identical_results_are_explained_and_undecided_ones_said():
    same = rows_of("ICA", {200: [0.79, 0.80, 0.81], 400: [0.79, 0.80, 0.81]})
    assert "identical" in verdict_text(metrics_of(same, {"ICA": 200}))
    short = rows_of("ICA", {100: [0.7, 0.7, 0.7], 200: [0.79, 0.80, 0.81]})
    text = verdict_text(metrics_of(short, {"ICA": 200}))
    assert "not decided — no length beyond the committed one was measured" in text
