"""Encoding models in scikit-learn model selection (issue 26 item 3): a float scorer, cross-validation,
grid search, and save/load through an ``.npz`` of plain arrays."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score

from effcode.encoding import (EncodingModel, PopulationCNN, PopulationGLM, EncodingScores, correlation_per_cell,
                              load_encoding_model_file, mean_correlation_scorer)
from effcode.errors import InputError

P = 8


@pytest.fixture(scope="module")
def data():
    """Six LN cells (random smooth filters, exp output) on white-noise 8 x 8 images, Poisson counts."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, P, P))
    yy, xx = np.mgrid[:P, :P]
    filters = np.stack([np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 4.0) * np.cos(0.8 * xx + phase)
                        for cx, cy, phase in rng.uniform([2, 2, 0], [6, 6, 2 * np.pi], size=(6, 3))])
    rate = np.exp(0.3 * np.einsum("nhw,chw->nc", x, filters))
    return x, rng.poisson(rate).astype(float)


def small_glm(**params):
    return PopulationGLM(smoothness=(0.1, 0.01), max_iter=20, **params)


@pytest.fixture(scope="module")
def glm(data, one_torch_thread):
    x, y = data
    return small_glm().fit(x[:200], y[:200])


def test_cross_val_score_gives_one_finite_float_per_fold(data, one_torch_thread):
    x, y = data
    scores = cross_val_score(small_glm(), x, y, cv=3)                 # score() is the float: no scorer needed
    assert scores.shape == (3,) and scores.dtype == float and np.all(np.isfinite(scores))
    np.testing.assert_array_equal(scores, cross_val_score(small_glm(), x, y, cv=3, scoring=mean_correlation_scorer))
    assert np.all(scores > 0.2), scores


def test_grid_search_over_the_l2_weight_picks_a_value(data, one_torch_thread):
    x, y = data
    search = GridSearchCV(small_glm(), {"l2": [1e-4, 10.0]}, cv=3, scoring=mean_correlation_scorer).fit(x, y)
    assert search.best_params_["l2"] in (1e-4, 10.0)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert isinstance(search.best_estimator_, PopulationGLM)


def test_mean_correlation_is_the_mean_per_cell_correlation(glm, data):
    x, y = data
    value = glm.mean_correlation(x[200:], y[200:])
    pred = glm.predict(x[200:])
    by_hand = np.mean([np.corrcoef(pred[:, c], y[200:, c])[0, 1] for c in range(y.shape[1])])
    assert isinstance(value, float) and value == pytest.approx(by_hand, rel=1e-9)
    assert mean_correlation_scorer(glm, x[200:], y[200:]) == value
    np.testing.assert_allclose(correlation_per_cell(pred, y[200:]).mean(), value, rtol=1e-12)


def test_score_is_the_mean_of_the_per_cell_table(glm, data):
    x, y = data
    table, score = glm.score_table(x[200:], y[200:]), glm.score(x[200:], y[200:])
    assert isinstance(table, EncodingScores) and isinstance(score, float)
    assert np.nanmean(table.correlation) == pytest.approx(score, rel=1e-12)


def test_a_saved_glm_loads_with_identical_predictions(glm, data, tmp_path):
    x, _ = data
    path = glm.save(tmp_path / "glm.npz")
    for again in (PopulationGLM.load(path), EncodingModel.load(path), load_encoding_model_file(path)):
        assert isinstance(again, PopulationGLM)
        np.testing.assert_array_equal(again.predict(x[200:]), glm.predict(x[200:]))
        assert again.get_params() == {**glm.get_params(), "smoothness": list(glm.smoothness)}
    with np.load(path, allow_pickle=False) as archive:   # plain arrays only
        assert "filters_" in archive.files


def test_a_saved_cnn_loads_with_identical_predictions(data, tmp_path, one_torch_thread):
    x, y = data
    cnn = PopulationCNN(n_channels=2, hidden_channels=2, kernel_size=3, n_epochs=2, batch_size=64).fit(x[:200], y[:200])
    again = PopulationCNN.load(cnn.save(tmp_path / "cnn.npz"))
    np.testing.assert_array_equal(again.predict(x[200:]), cnn.predict(x[200:]))
    with pytest.raises(InputError, match="holds a PopulationCNN.*not a PopulationGLM"):
        PopulationGLM.load(tmp_path / "cnn.npz")


def test_bad_files_give_one_line_input_errors(glm, tmp_path):
    missing = tmp_path / "nowhere.npz"
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not an archive")
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    for path, why in ((missing, "does not exist"), (garbage, "not a readable .npz"), (other, "lacks")):
        with pytest.raises(InputError) as info:
            PopulationGLM.load(path)
        message = str(info.value)
        assert str(path) in message and why in message and "expected" in message and "\n" not in message
    with pytest.raises(InputError, match="not fitted"):
        small_glm().save(tmp_path / "unfitted.npz")
