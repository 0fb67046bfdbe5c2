"""Degenerate results warn in REPORT.md and on the command line (effcode.experiments.degenerate): all codes
zero, most units dead, Gabor R² no better than chance."""

import numpy as np

from effcode.cli import main
from effcode.experiments.degenerate import chance_r2, code_warning, dead_units_warning, r2_warning
from effcode.gabor import fit_gabors, synthetic_gabors
from effcode.learners import FilterBank
from effcode.v1 import ReceptiveFields


def bank_with_history(history: dict) -> FilterBank:
    atoms = np.random.default_rng(0).standard_normal((4, 8, 8)).astype(np.float32)
    return FilterBank(filters=atoms, basis=atoms, method="sparse_coding", history=history)


def receptive_fields(response_fraction) -> ReceptiveFields:
    k = len(response_fraction)
    rfs = np.zeros((k, 8, 8), np.float32)
    return ReceptiveFields(rfs=rfs, se=rfs, stimulus="hartley", n_stimuli=512, seed=0, contrast=1.0,
                           front_end="olshausen_field", window=22, response_fraction=np.asarray(response_fraction))


def test_all_codes_zero_is_a_warning_and_a_sparse_code_is_not():
    assert "all codes are zero" in code_warning(bank_with_history({"sparsity": [0.2, 0.01, 0.0]}), "sc")
    assert "all codes are zero" in code_warning(bank_with_history({"active_fraction": [0.1, 0.0]}), "cnn")
    assert code_warning(bank_with_history({"sparsity": [0.2, 0.05]}), "sc") is None
    assert code_warning(bank_with_history({}), "ica") is None   # a learner without codes


def test_most_units_dead_is_a_warning_half_is_not():
    assert "3 of 4 never responded" in dead_units_warning(receptive_fields([0.0, 0.0, 0.0, 0.4]), "sc")
    assert dead_units_warning(receptive_fields([0.0, 0.0, 0.3, 0.4]), "sc") is None


def test_r2_at_chance_is_a_warning_and_gabors_are_not():
    shape = (12, 12)
    chance = chance_r2(shape)
    assert 0.0 < chance < 0.5
    noise = np.random.default_rng(9).standard_normal((40, *shape)).astype(np.float32)
    noise_r2 = fit_gabors(noise, progress=False)["r2"]
    assert np.median(noise_r2) < chance + 0.1          # another draw of noise sits at the chance level
    assert "no higher than chance" in r2_warning(np.full(10, chance), shape, "noise")
    gabors = synthetic_gabors(20, shape, snr=10.0, random_state=0)[0].astype(np.float32)
    assert r2_warning(fit_gabors(gabors, progress=False)["r2"], shape, "gabors") is None


def test_a_run_that_codes_nothing_says_so_in_the_report_and_on_stderr(tmp_path, capsys):
    status = main(["run", "01", "--quick", "--set", "lam=1e9", "--set", "n_seeds=1", "--set", "n_steps=20",
                   "--set", "n_filters=16", "--results", str(tmp_path)])
    assert status == 0
    captured = capsys.readouterr()
    assert "1 warning (degenerate result)" in captured.out
    assert "experiment 01: warning: sparse_coding, seed 0: all codes are zero" in captured.err
    report = (tmp_path / "REPORT.md").read_text()
    assert "**Warning: degenerate result.** sparse_coding, seed 0: all codes are zero" in report

    status = main(["run", "01", "--quick", "--set", "n_seeds=1", "--set", "n_steps=20", "--set", "n_filters=16",
                   "--results", str(tmp_path), "--force"])   # other settings: --force replaces the run
    assert status == 0 and "warning" not in capsys.readouterr().err.replace("effcode: warning", "")
    assert "Warning: degenerate result" not in (tmp_path / "REPORT.md").read_text()   # old warnings are gone
