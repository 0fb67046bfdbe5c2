"""Compiled active-set coordinate descent and support statistics against known answers."""

import numpy as np
import pytest
import torch

from effcode.errors import InputError
from effcode.learners import inference
from effcode.learners.coordinate_descent import lasso_coordinate_descent, support_statistics
from effcode.learners.sparse_coding import SparseCoding
from effcode.objectives import make_objective


def problem(n_atoms=96, n_features=32, n_rows=200, seed=3, dtype=np.float64):
    rng = np.random.default_rng(seed)
    dictionary = rng.standard_normal((n_atoms, n_features))
    dictionary /= np.linalg.norm(dictionary, axis=1, keepdims=True)
    X = rng.standard_normal((n_rows, n_features))
    return X.astype(dtype), dictionary.astype(dtype)


@pytest.mark.parametrize("objective_name", ["l1", "nonneg_l1"])
@pytest.mark.parametrize("max_add", [1, 4, 96])
def test_coordinate_descent_gives_the_fista_codes(objective_name, max_add):
    """The same minimiser as FISTA run to a tight tolerance, whether atoms join the active set one at a
    time (many optimality checks) or all violators at once."""
    X, dictionary = problem()
    objective = make_objective(objective_name, 0.4)
    reference, _ = inference.solve(torch.from_numpy(X), torch.from_numpy(dictionary), objective, n_iter=5000,
                                   tol=1e-10)
    codes, _ = lasso_coordinate_descent(X @ dictionary.T, dictionary @ dictionary.T, 0.4,
                                        nonneg=objective_name == "nonneg_l1", n_iter=5000, tol=1e-10, slack=0.0,
                                        max_add=max_add)
    reference = reference.numpy()
    assert 4 <= (reference != 0).sum(axis=1).mean() < 32
    np.testing.assert_allclose(codes, reference, atol=2e-5)   # FISTA itself is converged to about 1e-5
    if objective_name == "nonneg_l1":
        assert codes.min() >= 0


def test_coordinate_descent_satisfies_the_optimality_conditions():
    """KKT of the lasso at every row: g = c - G a equals lam * sign(a) on the support and |g| <= lam off it."""
    X, dictionary = problem(seed=5)
    correlations, gram = X @ dictionary.T, dictionary @ dictionary.T
    lam = 0.5
    codes, sweeps = lasso_coordinate_descent(correlations, gram, lam, n_iter=1000, tol=1e-10, slack=0.0)
    assert codes.dtype == np.float64 and 1 <= sweeps <= 1000
    gradient = correlations - codes @ gram
    on = codes != 0
    np.testing.assert_allclose(gradient[on], lam * np.sign(codes[on]), atol=1e-7)
    assert np.abs(gradient[~on]).max() <= lam + 1e-7
    # in float32 the same codes to float32 precision
    codes32, _ = lasso_coordinate_descent(correlations.astype(np.float32), gram.astype(np.float32), lam,
                                          n_iter=1000, tol=1e-6, slack=0.0)
    assert codes32.dtype == np.float32
    np.testing.assert_allclose(codes32, codes, atol=5e-4)   # float32 rounding, amplified where atoms correlate


def test_rows_without_a_violator_get_zero_codes():
    X, dictionary = problem(n_rows=5)
    codes, _ = lasso_coordinate_descent(X @ dictionary.T, dictionary @ dictionary.T, lam=1e6)
    assert not codes.any()


def test_support_statistics_equal_the_dense_products():
    X, dictionary = problem(dtype=np.float32)
    correlations, gram = X @ dictionary.T, dictionary @ dictionary.T
    codes, _ = lasso_coordinate_descent(correlations, gram, 0.4)
    code_gram, code_data, residual_energy = support_statistics(codes, X, correlations, gram)
    np.testing.assert_allclose(code_gram, codes.T @ codes, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(code_data, codes.T @ X, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(residual_energy, np.sum((X - codes @ dictionary) ** 2, axis=1), rtol=1e-4, atol=1e-4)


def test_a_training_step_from_the_supports_equals_the_dense_step():
    """One dictionary update with inference='cd': its statistics, loss and reconstruction error, built
    from the codes' supports, equal the dense products of the same codes."""
    from effcode.learners.sparse_coding import WINDOW_GROWTH, _check_settings, _Trainer

    X, dictionary = problem(n_atoms=40, n_features=24, n_rows=512, dtype=np.float32)
    settings = _check_settings(lam=0.5, objective="l1", objective_params=None, inference_method="cd", n_iter=200,
                               tol=1e-6, learning_rate=None, dictionary_update="gradient", resample_after=None,
                               resample_until=None, window_growth=WINDOW_GROWTH, device="cpu")
    X, dictionary = torch.from_numpy(X), torch.from_numpy(dictionary)
    trainer = _Trainer(dictionary.clone(), settings)
    record = trainer.step(X)
    codes, _ = inference.solve(X, dictionary, settings.objective, method="cd", n_iter=200, tol=1e-6)
    residual = X - codes @ dictionary
    torch.testing.assert_close(trainer.code_gram, codes.T @ codes / 512, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(trainer.code_data, codes.T @ X / 512, rtol=1e-5, atol=1e-6)
    dense_loss = float((0.5 * residual.pow(2).sum() + 0.5 * codes.abs().sum()) / 512)
    assert record["loss"] == pytest.approx(dense_loss, rel=1e-5)
    assert record["reconstruction_error"] == pytest.approx(float(residual.pow(2).sum() / X.pow(2).sum()), rel=1e-5)
    assert record["sparsity"] == pytest.approx(float((codes != 0).float().mean()))


def test_cd_runs_on_the_cpu_only(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    X, _ = problem(n_atoms=8, n_features=8, n_rows=16)
    with pytest.raises(InputError, match="inference='cd' runs on the CPU only"):
        SparseCoding(8, inference="cd", device="cuda").fit(X)
    assert inference.fastest_method("l1", torch.device("cuda")) == "active_set"
    assert inference.fastest_method("l1", torch.device("cpu")) == "cd"


@pytest.mark.parametrize("params, expected", [({"inference": "cd"}, 1e-2), ({"inference": "auto"}, 1e-2),
                                              ({"inference": "fista"}, 1e-3), ({"inference": "cd", "tol": 1e-5}, 1e-5)])
def test_each_inference_method_has_its_own_default_tolerance(params, expected):
    assert SparseCoding(8, **params)._settings().tol == expected


def test_compiled_kernels_are_cached_on_disk_for_the_next_process(tmp_path):
    """The JIT is paid once per installation: ``compile_kernels()`` in one process fills an empty cache, and a
    fresh process then loads both kernels for both dtypes from it (numba counts 4 cache hits, no misses)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "OMP_NUM_THREADS": "1"}
    compile_command = "from effcode.learners.coordinate_descent import compile_kernels; compile_kernels()"
    subprocess.run([sys.executable, "-c", compile_command], env=env, check=True)
    assert len(list(tmp_path.rglob("*.nbi"))) == 2 and len(list(tmp_path.rglob("*.nbc"))) == 4   # 2 kernels x 2 dtypes
    probe = ("from effcode.learners import coordinate_descent as cd\n"
             "cd.compile_kernels()\n"
             "stats = [cd._lasso_rows.stats, cd._support_statistics.stats]\n"
             "print(sum(sum(s.cache_hits.values()) for s in stats), sum(sum(s.cache_misses.values()) for s in stats))")
    hits, misses = subprocess.run([sys.executable, "-c", probe], env=env, check=True, capture_output=True,
                                  text=True).stdout.split()
    assert (int(hits), int(misses)) == (4, 0)
