"""The report logic of experiments 01-04: sentences and tables from hand-made per-seed metrics.

Every number in these sections comes from pure functions of the saved metrics; these tests feed them
small metrics dicts and check the numbers, the 95% t-intervals across seeds, and the rule that a
section claims a difference only where a paired test over seeds shows it.
"""

import json
import math

import numpy as np
import pytest

from effcode.errors import InputError
from effcode.experiments import get_experiment
from effcode.experiments import e01_sparse_coding as e01
from effcode.experiments import e02_ica as e02
from effcode.experiments import e03_sparse_cnn as e03
from effcode.experiments import e04_gabor_likeness as e04
from effcode.experiments import seed_report
from effcode.stats import holm
from effcode.experiments.common import BankSpec, standard_spec
from effcode.stats import paired_test

# t(0.975, df=2) = 4.3027: three values with SD s give the half-width 4.3027 * s / sqrt(3) = 2.484 s


def r2_row(median, f7=0.9, f8=0.8, f9=0.6, n=64):
    return {"median_r2": median, "frac_r2_0.7": f7, "frac_r2_0.8": f8, "frac_r2_0.9": f9, "n_filters": n}


# ----------------------------------------------------------------- shared helpers


def test_interval_text_gives_mean_and_t_interval():
    assert seed_report.interval_text([0.94, 0.95, 0.96]) == "0.95 [0.93, 0.97]"
    assert seed_report.interval_text([0.94, 0.95, 0.96], 3) == "0.950 [0.925, 0.975]"
    assert seed_report.interval_text([0.5, 0.6, 0.7], percent=True) == "60% [35%, 85%]"
    assert seed_report.interval_text([0.95]) == "0.95 (one seed)"
    assert seed_report.interval_text([]) == "–"


def test_intervals_are_clipped_to_the_range_of_the_statistic():
    assert seed_report.interval_text([0.8, 0.9, 1.0], percent=True) == "90% [65%, 100%]"
    assert seed_report.interval_text([0.0, 0.0, 0.1], percent=True) == "3% [0%, 18%]"
    assert seed_report.interval_text([0.8, 0.9, 1.0], bounds=seed_report.R2_BOUNDS) == "0.90 [0.65, 1.00]"
    assert seed_report.interval_text([0.8, 0.9, 1.0]) == "0.90 [0.65, 1.15]"  # unbounded statistic: as computed


def test_seed_table_has_a_row_per_seed_and_the_interval_row():
    per_seed = [{"seed": s, "median_r2": m, "frac_r2_0.8": f} for s, m, f in ((3, 0.94, 0.8), (4, 0.95, 0.9),
                                                                                (5, 0.96, 1.0))]
    table = seed_report.seed_table(per_seed, [("median_r2", "median R²", 2, False), ("frac_r2_0.8", "R² ≥ 0.8", 0, True)])
    lines = table.splitlines()
    assert lines[0] == "| seed | median R² | R² ≥ 0.8 |"
    assert lines[2:5] == ["| 3 | 0.94 | 80% |", "| 4 | 0.95 | 90% |", "| 5 | 0.96 | 100% |"]
    assert lines[5] == "| mean [95% CI] | 0.95 [0.93, 0.97] | 90% [65%, 100%] |"
    assert len(seed_report.seed_table(per_seed[:1], [("median_r2", "m", 2, False)]).splitlines()) == 3  # no interval row


def test_seed_list_and_notes():
    assert seed_report.seed_list({"n_seeds": 3}, 5) == [5, 6, 7]
    with pytest.raises(InputError, match="n_seeds"):
        seed_report.seed_list({"n_seeds": 0}, 0)
    assert "95% t-interval over 3 seeds" in seed_report.seeds_note(3)
    assert "no interval" in seed_report.seeds_note(1)
    assert seed_report.seeds_phrase([{"seed": 0}, {"seed": 1}]) == "2 seeds (0, 1)"


def test_verdict_needs_two_seeds_an_interval_excluding_zero_and_a_small_p():
    higher = paired_test([0.90, 0.92, 0.94], [0.50, 0.51, 0.55])
    assert seed_report.verdict(higher) == "higher"
    assert seed_report.verdict(paired_test([0.50, 0.51, 0.55], [0.90, 0.92, 0.94])) == "lower"
    noisy = paired_test([0.9, 0.5, 0.8], [0.6, 0.7, 0.6])
    assert noisy["p_value"] > 0.05 and seed_report.verdict(noisy) == "not shown"
    assert seed_report.verdict(paired_test([0.9], [0.1])) == "no test"
    assert seed_report.verdict(higher, p_value=0.2) == "not shown"  # an adjusted p-value decides
    assert seed_report.difference_text(higher) == "+0.40 [0.38, 0.42], p < 0.001, Cohen's dz = 40.0 [6.3, 76.8]"
    assert seed_report.difference_text(noisy) == (f"+0.10 [-0.56, 0.76], p = {noisy['p_value']:.3f}, Cohen's dz = "
                                                  f"0.4 [{noisy['dz_lo']:.1f}, {noisy['dz_hi']:.1f}]")
    same = paired_test([0.35, 0.36, 0.37], [0.30, 0.31, 0.32])
    assert seed_report.verdict(same) == "no test"
    assert seed_report.difference_text(same) == "+0.05 in every seed (3 seeds; no p-value or dz without spread)"
    assert seed_report.difference_text(paired_test([0.2, 0.3], [0.2, 0.3])) == "identical in every seed (2 seeds)"


# ----------------------------------------------------------------- experiment 01


def e01_metrics(n=3):
    rows = [{"seed": s, **r2_row(m, f8=f8, f9=f9, n=256), "final_loss": 80.0, "final_reconstruction_error": e,
             "final_sparsity": a, "n_steps": 300}
            for s, m, f8, f9, e, a in [(0, 0.94, 0.88, 0.70, 0.45, 0.11), (1, 0.95, 0.89, 0.71, 0.46, 0.12),
                                       (2, 0.96, 0.90, 0.72, 0.47, 0.13)][:n]]
    return {"n_filters": 256, "patch_size": 16, "seeds": [r["seed"] for r in rows], "per_seed": rows}


def test_e01_summary_states_means_and_intervals_over_seeds():
    text = e01.summary_text(e01_metrics())
    assert text.startswith("256 atoms of 16x16 pixels after 300 dictionary updates, learned with 3 seeds (0, 1, 2)")
    assert "median Gabor R² 0.95 [0.93, 0.97]" in text
    assert "R² ≥ 0.8: 89% [87%, 91%]" in text
    assert "reconstruction error 0.460 [0.435, 0.485]" in text
    assert "95% t-interval over 3 seeds" in text
    assert "| mean [95% CI] | 0.95 [0.93, 0.97] |" in text
    one = e01.summary_text(e01_metrics(1))
    assert "1 seed (0)" in one and "0.94 (one seed)" in one and "no interval" in one


def test_e01_captions_say_which_seeds_a_figure_shows():
    captions = e01.figure_captions(e01_metrics())
    assert "seed 0" in captions["basis"] and "pooled over the 3 seeds" in captions["r2_ecdf"]


# ----------------------------------------------------------------- experiment 02


def e02_metrics(basis, filters):
    return {"n_filters": 64, "patch_size": 16, "algorithm": "fastica", "seeds": list(range(len(basis))),
            "per_seed": [{"seed": s, "basis": r2_row(b), "filters": r2_row(f)}
                         for s, (b, f) in enumerate(zip(basis, filters))]}


def test_e02_reports_both_populations_labelled():
    text = e02.summary_text(e02_metrics([0.90, 0.91, 0.92], [0.80, 0.85, 0.78]))
    assert "Basis functions (columns of the mixing matrix, synthesis): median Gabor R² 0.91 [0.89, 0.93]" in text
    assert "Filters (rows of the unmixing matrix, analysis): median Gabor R² 0.81 [0.72, 0.90]" in text
    assert text.count("| mean [95% CI] |") == 2


def test_e02_claims_a_difference_only_where_the_paired_test_shows_it():
    shown = e02.comparison_text(e02_metrics([0.90, 0.91, 0.92], [0.80, 0.82, 0.81])["per_seed"])
    assert "the basis functions are more Gabor-like than the filters" in shown
    reverse = e02.comparison_text(e02_metrics([0.80, 0.82, 0.81], [0.90, 0.91, 0.92])["per_seed"])
    assert "the filters are more Gabor-like than the basis functions" in reverse
    noisy = e02.comparison_text(e02_metrics([0.90, 0.70, 0.85], [0.80, 0.85, 0.75])["per_seed"])
    assert "more Gabor-like" not in noisy and "no difference shown at the 5% level" in noisy
    one = e02.comparison_text(e02_metrics([0.95], [0.10])["per_seed"])
    assert "more Gabor-like" not in one and "one seed: no test" in one


# ----------------------------------------------------------------- experiment 03


def test_e03_summary_and_the_default_number_of_steps():
    rows = [{"seed": s, **r2_row(m, f8=f8, n=32), "example_relative_error": e, "example_active_fraction": a,
             "final_loss": 0.4, "n_steps": 1500}
            for s, m, f8, e, a in [(0, 0.85, 0.70, 0.15, 0.05), (1, 0.86, 0.72, 0.16, 0.05),
                                   (2, 0.87, 0.74, 0.17, 0.05)]]
    text = e03.summary_text({"n_filters": 32, "patch_size": 16, "seeds": [0, 1, 2], "per_seed": rows})
    assert "32 convolutional filters of 16x16 after 1500 training steps, trained with 3 seeds (0, 1, 2)" in text
    assert "median Gabor R² 0.86 [0.84, 0.88], 72% [67%, 77%] with R² ≥ 0.8" in text
    assert "interior reconstruction error is 16.0% [13.5%, 18.5%] of the signal energy with 5.0% [5.0%, 5.0%]" in text
    from effcode.learners.sparse_cnn import SparseCNN

    spec = e03.bank_spec(get_experiment("03").config(), 7)
    assert spec.params["n_steps"] == SparseCNN().n_steps == 1500 and spec.seed == 7


# ----------------------------------------------------------------- experiment 04


def e04_metrics(values: dict, population="basis"):
    """values: label -> median R² per seed."""
    n = len(next(iter(values.values())))
    return {"population": population, "learners": ["sparse coding", "ICA"], "controls": ["PCA components",
                                                                                         "random filters"],
            "seeds": list(range(n)),
            "per_seed": [{"seed": s, **{label: r2_row(v[s]) for label, v in values.items()}} for s in range(n)]}


VALUES = {"sparse coding": [0.93, 0.94, 0.95], "ICA": [0.60, 0.85, 0.62],
          "PCA components": [0.55, 0.56, 0.58], "random filters": [0.07, 0.06, 0.08]}


def test_holm_adjusts_and_keeps_nan():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    out = holm([0.02, math.nan, 0.5])
    assert out[0] == pytest.approx(0.04) and math.isnan(out[1]) and out[2] == pytest.approx(0.5)


def test_e04_comparisons_are_paired_by_seed_and_holm_corrected():
    rows = {(r["learner"], r["control"]): r for r in e04.comparisons(e04_metrics(VALUES))}
    assert len(rows) == 4
    sc_random = rows[("sparse coding", "random filters")]
    assert sc_random["difference"] == pytest.approx(0.87) and sc_random["learner_higher"] == 3
    assert sc_random["p_holm"] >= sc_random["p_value"] and sc_random["verdict"] == "higher"
    assert rows[("ICA", "PCA components")]["verdict"] == "not shown"  # ICA's seeds vary too much


def test_e04_claims_only_what_the_tests_show():
    text = e04.claims_text(e04.comparisons(e04_metrics(VALUES)))
    assert "Sparse coding is more Gabor-like than PCA components and random filters." in text
    # ICA's seeds vary: only its difference from random filters survives the Holm correction
    assert "ICA is more Gabor-like than random filters; a difference from PCA components is not shown." in text
    assert "Holm-corrected over the 4 comparisons" in text
    one = e04.claims_text(e04.comparisons(e04_metrics({k: v[:1] for k, v in VALUES.items()})))
    assert "more Gabor-like" not in one and "without a claim" in one


def test_e04_table_names_the_population_and_gives_intervals():
    text = e04.summary_text(e04_metrics(VALUES))
    assert 'the basis functions (synthesis) of each learner' in text and 'population = "basis"' in text
    assert "| sparse coding (learner) | 64 | 0.94 [0.92, 0.96] |" in text
    assert "| random filters (control) | 64 | 0.07 [0.05, 0.09] |" in text
    assert "| sparse coding | random filters | +0.87 [" in text
    filters = e04.summary_text(e04_metrics(VALUES, population="filters"))
    assert "the filters (analysis) of each learner" in filters
    bars = e04.threshold_intervals(e04_metrics(VALUES))
    assert bars["ICA"][0.8]["mean"] == pytest.approx(0.8) and bars["ICA"][0.8]["n"] == 3


# ----------------------------------------------------------------- configs and bank specs


@pytest.mark.parametrize("number", ["01", "02", "03", "04"])
def test_seed_counts(number):
    exp = get_experiment(number)
    assert exp.config()["n_seeds"] >= 3 and exp.config(quick=True)["n_seeds"] == 2


def test_e04_scores_the_scorer_default_population():
    assert get_experiment("04").config()["population"] == "basis"


@pytest.mark.parametrize("label, number", [("sparse coding", "01"), ("ICA", "02"), ("sparse CNN", "03")])
def test_standard_specs_come_from_each_experiment(label, number):
    exp = get_experiment(number)
    for quick in (False, True):
        spec = standard_spec(label, quick=quick, seed=4)
        assert isinstance(spec, BankSpec) and spec.seed == 4
        assert spec == exp.bank(exp.config(quick=quick), 4)           # pure: same config and seed, same spec
        assert spec.n_filters == exp.config(quick=quick)["n_filters"]


# ----------------------------------------------------------------- the sparse CNN rebuilt from its bank


def test_sparse_cnn_rebuilt_from_its_atoms_encodes_like_the_trained_model(one_torch_thread):
    from effcode.learners.sparse_cnn import SparseCNN

    rng = np.random.default_rng(0)
    images = rng.standard_normal((3, 40, 40))
    params = dict(n_components=4, kernel_size=6, lam=0.5, n_iter=3, n_steps=3, crop_size=20, batch_size=2)
    trained = SparseCNN(**params).fit(images)
    rebuilt = SparseCNN(**{**params, "n_components": 1, "kernel_size": 2}).set_atoms(
        trained.basis_.reshape(4, 6, 6), scale=trained.scale_)
    assert (rebuilt.n_components, rebuilt.kernel_size) == (4, 6)
    crops = images[:2, :24, :24].astype(np.float32)
    np.testing.assert_allclose(rebuilt.transform(crops), trained.transform(crops), atol=1e-6)
    with pytest.raises(InputError, match="unit norm"):
        SparseCNN().set_atoms(2 * trained.basis_)


# ----------------------------------------------------------------- the sections are these functions' output


def test_sections_are_the_pure_functions_of_the_saved_metrics(tmp_path, small_image_folder, one_torch_thread):
    from effcode.cli import main

    common = ["--quiet", "--results", str(tmp_path), "--set", f"source={small_image_folder}", "--set", "n_seeds=2",
              "--set", "patch_size=6"]
    sizes = {"01": ["n_filters=8", "n_steps=5"], "02": ["n_filters=8", "n_patches=2000"],
             "03": ["n_filters=4", "n_steps=3", "example_size=24"]}
    for number, module in (("01", e01), ("02", e02), ("03", e03)):
        argv = ["run", number, *common]
        for setting in sizes[number]:
            argv += ["--set", setting]
        assert main(argv) == 0
        folder = tmp_path / get_experiment(number).slug
        metrics = json.loads((folder / "metrics.json").read_text())
        assert [row["seed"] for row in metrics["per_seed"]] == [0, 1]
        section = json.loads((folder / "section.json").read_text())
        assert section["text"] == module.summary_text(metrics)
        assert [c for _, c in section["figures"]] == list(module.figure_captions(metrics).values())
