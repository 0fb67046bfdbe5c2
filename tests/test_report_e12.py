"""Experiment 12's plateau verdict (equivalence tests and atom stability) and report are pure functions of
per-seed rows: known answers on hand-made metrics."""

import math

import numpy as np
import pytest

from effcode.errors import InputError
from effcode.experiments.e12_training_length import (ATOM_MATCHING, STABILITY_THRESHOLD, STATISTICS, atom_cosines,
                                                     change_test, convergence_sentence, first_plateau,
                                                     length_summary, lengths_of, margins_text, plateau_verdict,
                                                     section_text, verdict_table, verdict_text)

T_95_2 = 2.919986          # t(0.95, 2 degrees of freedom): three seeds


def rows_of(learner, table, stability=None):
    """``table[length]`` = per-seed values of every statistic (the same values for all of them);
    ``stability[length]`` = per-seed median |cos| to the longest length (1 where not given)."""
    stability = stability or {}
    return [{"learner": learner, "length": length, "seed": seed, **{stat: v for stat in STATISTICS},
             "atom_stability": stability.get(length, [1.0] * len(values))[seed]}
            for length, values in table.items() for seed, v in enumerate(values)]


# every seed moves by exactly +0.06 (outside every margin) / by exactly +0.01 (inside the margins of
# median nx, ny and the distance; not inside ±0.01, the margins of median R² and the blob-like fraction)
STILL_MOVING = rows_of("sparse coding", {150: [0.70, 0.71, 0.72], 300: [0.79, 0.80, 0.81], 600: [0.85, 0.86, 0.87]},
                       {150: [0.99, 0.99, 0.99], 300: [0.998, 0.998, 0.998]})
NEARLY_FLAT = rows_of("ICA", {100: [0.60, 0.70, 0.80], 200: [0.79, 0.80, 0.81], 400: [0.80, 0.81, 0.82]},
                      {100: [0.99, 0.99, 0.99], 200: [0.9995, 0.9996, 0.9999]})


def test_margins_are_stated_for_the_five_statistics_with_their_reasons():
    assert set(STATISTICS) == {"median_nx", "median_ny", "median_r2", "nxny_distance", "blob_fraction"}
    assert {k: v["margin"] for k, v in STATISTICS.items()} == {"median_nx": 0.02, "median_ny": 0.05,
                                                               "median_r2": 0.01, "nxny_distance": 0.03,
                                                               "blob_fraction": 0.01}
    text = margins_text()
    for spec in STATISTICS.values():
        assert f"{spec['label']}: ±{spec['margin']:g} — {spec['reason']}." in text
    assert "median per-atom |cos| ≥ 0.999 in every seed — an atom turned by less than 2.6°" in text
    assert STABILITY_THRESHOLD == 0.999 and ATOM_MATCHING["sparse coding"] == "index"


def test_change_test_is_the_paired_t_tost():
    """Changes 0, 0.01, 0.02: mean 0.01, SE 0.01 / sqrt(3); the 90% paired-t interval is 0.01 ± t(0.95, 2) SE,
    [-0.00686, 0.02686]: inside ±0.03, not inside ±0.02."""
    base, long = {0: 0.5, 1: 0.5, 2: 0.5}, {0: 0.5, 1: 0.51, 2: 0.52}
    half = T_95_2 * 0.01 / math.sqrt(3)
    wide = change_test(base, long, 0.03)
    assert wide["change"] == pytest.approx(0.01) and wide["n"] == 3
    assert (wide["lo"], wide["hi"]) == (pytest.approx(0.01 - half, rel=1e-5), pytest.approx(0.01 + half, rel=1e-5))
    assert wide["equivalent"] is True
    # the upper one-sided test decides: z = (0.01 - 0.03) / (SE * t / z_0.95), p = Phi(z)
    z = -0.02 / (0.01 / math.sqrt(3) * T_95_2 / 1.644854)
    assert wide["p_value"] == pytest.approx(0.5 * math.erfc(-z / math.sqrt(2)), rel=1e-4)
    assert change_test(base, long, 0.02)["equivalent"] is False


def test_a_change_without_spread_is_equivalent_only_inside_the_margin():
    base, long = {0: 0.79, 1: 0.80, 2: 0.81}, {0: 0.80, 1: 0.81, 2: 0.82}
    assert change_test(base, long, 0.02)["equivalent"] is True
    assert change_test(base, long, 0.01)["equivalent"] is False        # |0.01| is not < 0.01
    one_seed = change_test({0: 0.8}, {0: 0.9}, 0.02)
    assert one_seed["equivalent"] is None and one_seed["change"] == pytest.approx(0.1)
    assert math.isnan(one_seed["p_value"])
    with_nan = change_test({0: 0.8, 1: math.nan, 2: 0.8}, {0: 0.8, 1: 0.8, 2: 0.8}, 0.02)
    assert with_nan["n"] == 2 and with_nan["equivalent"] is True


def test_plateau_verdict_known_answers():
    v = plateau_verdict(STILL_MOVING + NEARLY_FLAT, {"sparse coding": 300, "ICA": 200})
    moving = v["sparse coding"]
    assert moving["committed_length"] == 300 and moving["longest_length"] == 600
    assert all(t["equivalent"] is False for t in moving["statistics"].values())
    assert moving["statistics"]["median_nx"]["change"] == pytest.approx(0.06)
    assert moving["statistics"]["median_nx"]["committed"] == pytest.approx(0.80)
    assert moving["stability"]["stable"] is False and moving["stability"]["lowest"] == pytest.approx(0.998)
    assert moving["past_plateau"] is False
    flat = v["ICA"]["statistics"]
    equivalent = {stat: t["equivalent"] for stat, t in flat.items()}
    assert equivalent == {"median_nx": True, "median_ny": True, "nxny_distance": True, "median_r2": False,
                          "blob_fraction": False}
    assert v["ICA"]["stability"]["stable"] is True and v["ICA"]["past_plateau"] is False


def test_every_part_must_hold_and_the_atoms_must_stop_moving():
    tiny = rows_of("x", {1: [0.800, 0.810, 0.820], 2: [0.801, 0.811, 0.821]},
                   {1: [0.9995, 0.9992, 0.9991]})
    assert plateau_verdict(tiny, {"x": 1})["x"]["past_plateau"] is True
    drifting = rows_of("x", {1: [0.800, 0.810, 0.820], 2: [0.801, 0.811, 0.821]},
                       {1: [0.9995, 0.9992, 0.9989]})            # one seed's atoms still turn
    v = plateau_verdict(drifting, {"x": 1})["x"]
    assert all(t["equivalent"] for t in v["statistics"].values())
    assert v["stability"]["stable"] is False and v["past_plateau"] is False


def test_no_verdict_without_a_longer_length_or_a_second_seed():
    only_committed = rows_of("x", {1: [0.79, 0.80, 0.81], 0.5: [0.1, 0.2, 0.3]})
    v = plateau_verdict(only_committed, {"x": 1})["x"]
    assert v["past_plateau"] is None and v["stability"]["stable"] is None
    assert all(t["equivalent"] is None for t in v["statistics"].values())
    one_seed = plateau_verdict(rows_of("x", {1: [0.8], 2: [0.8]}), {"x": 1})["x"]
    assert one_seed["past_plateau"] is None and one_seed["stability"]["stable"] is True


def test_first_plateau_is_the_shortest_length_already_equivalent_and_stable():
    rows = rows_of("x", {1: [0.50, 0.60, 0.70], 2: [0.79, 0.80, 0.81], 4: [0.84, 0.85, 0.86],
                         8: [0.845, 0.855, 0.865]}, {1: [0.9, 0.9, 0.9], 2: [0.99, 0.99, 0.99]})
    assert first_plateau(rows, "x") == 4              # 4 -> 8 moves 0.005 in every seed, atoms stable
    assert first_plateau(STILL_MOVING, "sparse coding") is None


def test_atom_cosines_pair_atoms_by_index_or_by_assignment():
    """Orthonormal atoms: a permuted, sign-flipped, rescaled copy matches with |cos| 1 by assignment and 0 by
    index (off the permutation's fixed points); a rotation by 10° in the plane of atoms 0 and 1 gives cos 10°."""
    reference = np.linalg.qr(np.random.default_rng(0).standard_normal((16, 16)))[0].T[:6]
    perm = np.array([1, 2, 0, 4, 3, 5])
    shuffled = -2.0 * reference[perm]
    np.testing.assert_allclose(atom_cosines(shuffled, reference, matching="hungarian"), 1.0, atol=1e-12)
    np.testing.assert_allclose(atom_cosines(shuffled, reference, matching="index"), [0, 0, 0, 0, 0, 1], atol=1e-12)
    angle = math.radians(10.0)
    rotated = reference.copy()
    rotated[0] = math.cos(angle) * reference[0] + math.sin(angle) * reference[1]
    rotated[1] = -math.sin(angle) * reference[0] + math.cos(angle) * reference[1]
    expected = [math.cos(angle)] * 2 + [1.0] * 4
    np.testing.assert_allclose(atom_cosines(rotated.reshape(6, 4, 4), reference.reshape(6, 4, 4),
                                            matching="hungarian"), expected, atol=1e-12)
    with pytest.raises(InputError, match="same shape"):
        atom_cosines(reference[:5], reference, matching="index")
    with pytest.raises(InputError, match="matching"):
        atom_cosines(reference, reference, matching="greedy")


def test_lengths_include_the_committed_one():
    assert lengths_of(300, [0.25, 0.5, 2, 4]) == [75, 150, 300, 600, 1200]
    assert lengths_of(3, [0.1]) == [1, 3]


def test_summary_gives_intervals_per_length_and_the_stability():
    s = length_summary(STILL_MOVING)["sparse coding"]
    assert s["nxny_distance"]["length"] == [150, 300, 600] and s["nxny_distance"]["n"] == [3, 3, 3]
    assert s["nxny_distance"]["mean"] == pytest.approx([0.71, 0.80, 0.86])
    assert s["nxny_distance"]["hi"][1] - 0.80 == pytest.approx(4.302653 * 0.01 / math.sqrt(3), rel=1e-5)
    assert s["atom_stability"]["mean"] == pytest.approx([0.99, 0.998, 1.0])


def metrics_of(rows, committed, seeds=(0, 1, 2)):
    return {"learners": list(committed), "population": "basis", "seeds": list(seeds), "committed": committed,
            "length_params": {"sparse coding": "n_steps", "ICA": "max_iter", "x": "n_steps"}, "rows": rows,
            "summary": length_summary(rows), "verdict": plateau_verdict(rows, committed),
            "first_plateau": {k: first_plateau(rows, k) for k in committed}}


def test_report_says_which_committed_length_is_past_the_plateau_and_which_parts_fail():
    m = metrics_of(STILL_MOVING + NEARLY_FLAT, {"sparse coding": 300, "ICA": 200})
    text = verdict_text(m)
    assert ("- **sparse coding** (n_steps = 300 dictionary updates): **not past the plateau** — from 300 to 600, "
            "not shown within the margin: median nx, median ny, median R², nx–ny distance, blob-like fraction, "
            "atom stability (lowest seed's median |cos| 0.9980 < 0.999); no measured length below 600 is past it"
            in text)
    assert "**ICA** (max_iter = 200" in text and "not shown within the margin: median R², blob-like fraction;" in text
    table = verdict_table(m)
    assert ("| sparse coding | median nx | 300 | 0.800 | 600 | 0.860 | +0.060 [+0.060, +0.060] | ±0.02 | "
            "**no** (1.000) |") in table
    assert "| ICA | median nx | 200 | 0.800 | 400 | 0.810 | +0.010 [+0.010, +0.010] | ±0.02 | yes (< 0.001) |" in table
    assert ("| ICA | atom stability: median per-atom \\|cos\\|, 200 to 400 | 200 | – | 400 | – | per seed: 0.9995, "
            "0.9996, 0.9999 | ≥ 0.999 in every seed | yes |") in table
    section = section_text(m)
    assert "Not run at these settings: sparse CNN." in section and margins_text() in section
    assert convergence_sentence(m) == (
        "Training length (experiment 12; past the plateau = every statistic equivalent within its margin from the "
        "committed to the longest length, and median per-atom |cos| ≥ 0.999): sparse coding at 300 (against 600): "
        "not past it for median nx (+0.060, margin ±0.02), median ny (+0.060, margin ±0.05), median R² (+0.060, "
        "margin ±0.01), nx–ny distance (+0.060, margin ±0.03), blob-like fraction (+0.060, margin ±0.01), atom "
        "stability (0.9980); ICA at 200 (against 400): not past it for median R² (+0.010, margin ±0.01), blob-like "
        "fraction (+0.010, margin ±0.01).")


def test_a_converged_learner_identical_results_and_undecided_ones_are_said():
    converged = rows_of("x", {1: [0.800, 0.810, 0.820], 2: [0.801, 0.811, 0.821]}, {1: [0.9995] * 3})
    m = metrics_of(converged, {"x": 1})
    assert "past the plateau — from 1 to 2 every statistic is equivalent within its margin" in verdict_text(m)
    assert "x at 1 (against 2): past the plateau." in convergence_sentence(m)
    same = rows_of("ICA", {200: [0.79, 0.80, 0.81], 400: [0.79, 0.80, 0.81]})
    assert "identical" in verdict_text(metrics_of(same, {"ICA": 200}))
    short = rows_of("ICA", {100: [0.7, 0.7, 0.7], 200: [0.79, 0.80, 0.81]})
    text = verdict_text(metrics_of(short, {"ICA": 200}))
    assert "not decided — no length beyond the committed one was measured" in text
    one_seed = rows_of("ICA", {200: [0.8], 400: [0.8]})
    text = verdict_text(metrics_of(one_seed, {"ICA": 200}, seeds=(0,)))
    assert "not decided — median nx, median ny, median R², nx–ny distance, blob-like fraction cannot be judged " \
           "(one seed)" in text
