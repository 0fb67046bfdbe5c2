"""The README's "Results at a glance" is made from the scorer's metrics by pure functions."""

import math

from effcode.experiments.glance import (END, START, findings_sentences, glance_block, glance_table, interval,
                                        update_readme)


def metrics(distance, p, nx, holds_subfields, population="basis"):
    return {"population": population, "nxny_distance": distance, "nxny_p_value": p, "r2": {"median_r2": 0.9},
            "median_nx": {"value": nx}, "median_ny": {"value": 1.2}, "nxny_in_grid": {"distance": 0.5}, "mean_similarity": 0.6,
            "funnel": {"all units": 100, "fit succeeded": 100, "R² ≥ threshold": 90, "nx and ny resolved": 60,
                       "inside the reference grid": 50},
            "findings": {"more_subfields": {"holds": holds_subfields}, "more_elongated": {"holds": True},
                         "fewer_blobs": {"holds": False, "fraction": 0.1}},
            "settings": {"r2_threshold": 0.7, "max_relative_se": 0.2}}


def test_interval_known_answer():
    assert interval([1.0, 2.0, 3.0]) == "2.00 [-0.48, 4.48]"
    assert interval([0.5]) == "0.50"
    assert interval([math.nan]) == "–"
    assert interval([1.0, 2.0, 3.0], low=0.0) == "2.00 [0.00, 4.48]"
    assert interval([0.5, math.nan]) == "0.50 (1 of 2 seeds)"


def test_table_rows_carry_intervals_population_and_the_largest_p():
    table = glance_table({"ICA": [metrics(0.7, 0.001, 0.5, True), metrics(0.8, 0.004, 0.6, True),
                                  metrics(0.75, 0.002, 0.55, True)]})
    row = table.splitlines()[2]
    assert row.startswith("| ICA (basis functions) | 3 | 0.90 [0.90, 0.90] | 60 / 90 / 100 |")
    assert "| 0.75 [0.63, 0.87] (p ≤ 0.004) | 0.50 [0.50, 0.50] |" in row


def test_findings_are_counted_per_seed_not_claimed():
    text = findings_sentences({"sparse coding": [metrics(0.7, 0.001, 0.5, True), metrics(0.7, 0.001, 0.5, False)],
                               "ICA": [metrics(0.7, 0.001, 0.5, True), metrics(0.7, 0.001, 0.5, True)]})
    assert "more subfields" in text and "holds in every seed for ICA (2/2); in some seeds for sparse coding (1/2)" in text
    assert "fewer blob-like units" in text and "in no seed for sparse coding (0/2), ICA (0/2)" in text


def test_readme_block_is_replaced_between_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{START}\nOLD TEXT\n{END}\nrest\n")
    block = glance_block({"ICA": [metrics(0.7, 0.001, 0.5, True)]}, "Sweeps: none.")
    assert update_readme(readme, block)
    text = readme.read_text()
    assert "OLD TEXT" not in text and "Sweeps: none." in text and text.endswith(f"{END}\nrest\n")
    assert not update_readme(readme, block)


def test_the_block_says_which_properties_are_averaged():
    text = glance_block({"ICA": [metrics(0.7, 0.001, 0.5, True)]})
    assert "averages circular variance" in text and "leaves out modulation ratio (F1/F0" in text
    assert "peak sf (peak SF in cycles/degree scales" in text


def test_convergence_sentence_names_what_is_not_past_the_plateau():
    from effcode.experiments.glance import convergence_sentence

    entry = {"committed_length": 2400, "longest_length": 4800, "half_width": 0.008}
    verdict = {"sparse coding": {"median_nx": {**entry, "change": -0.016, "past_plateau": False},
                                 "nxny_distance": {**entry, "change": 0.002, "past_plateau": True}}}
    text = convergence_sentence(verdict, {"sparse coding": 2400})
    assert ("sparse coding at 2400: past the plateau for nx–ny distance; not past it for median nx "
            "(-0.016 from 2400 to 4800, beyond ±0.008)") in text
