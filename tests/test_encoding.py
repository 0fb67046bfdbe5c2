"""Simulated neurons, Poisson encoding models and their goodness-of-fit metrics."""

import numpy as np
import pytest
from scipy.stats import poisson

from effcode.encoding import (ComplexCell, PoissonCNN, PoissonGLM, SimpleCell, bits_per_spike, complex_gabor,
                              fev_from_repeats, fraction_explainable_variance, gabor, gratings, make_complex_cell,
                              make_simple_cell, poisson_log_likelihood, select_glm)
from effcode.errors import InputError


@pytest.fixture(scope="module")
def white():
    """White-noise stimuli of 8x8 patches."""
    return np.random.default_rng(0).standard_normal((8000, 64))


# -- neurons --------------------------------------------------------------------------------------

def test_gabor_orientation_and_norm():
    g = gabor(16, theta=np.pi / 3, freq=0.2, sigma=3.0)
    assert np.isclose(np.linalg.norm(g), 1.0)
    # the grating that drives it best has its orientation and frequency
    thetas = np.linspace(0, np.pi, 36, endpoint=False)
    resp = [max(abs(np.sum(g * gratings(16, t, 0.2, p))) for p in np.linspace(0, np.pi, 8)) for t in thetas]
    assert np.isclose(thetas[int(np.argmax(resp))], np.pi / 3, atol=np.pi / 36)


def test_complex_gabor_energy_is_phase_invariant():
    g = complex_gabor(16, theta=0.4, freq=0.2, sigma=3.0)
    stim = gratings(16, 0.4, 0.2, np.linspace(0, 2 * np.pi, 16, endpoint=False)).reshape(16, -1)
    energy = (stim @ g.real.ravel()) ** 2 + (stim @ g.imag.ravel()) ** 2
    linear = stim @ g.real.ravel()
    assert energy.std() / energy.mean() < 0.01
    assert linear.std() / np.abs(linear).mean() > 0.5


@pytest.mark.parametrize("nonlinearity", ["exp", "relu"])
def test_simple_cell_calibration(white, nonlinearity):
    cell = make_simple_cell(white, theta=0.3, freq=0.2, sigma=2.0, nonlinearity=nonlinearity, mean_rate=1.5)
    rate = cell.rate(white)
    assert np.isclose(rate.mean(), 1.5)
    assert rate.min() >= 0
    if nonlinearity == "exp":
        assert np.isclose(np.log(rate).std(), 1.0)
    else:
        assert np.isclose(np.mean(rate == 0), 0.5, atol=0.03)  # threshold 0 on a symmetric drive


def test_complex_cell_calibration_and_spikes(white):
    cell = make_complex_cell(white, theta=1.0, freq=0.2, sigma=2.0, mean_rate=3.0, baseline_fraction=0.2)
    rate = cell.rate(white)
    assert np.isclose(rate.mean(), 3.0) and np.isclose(rate.min(), 0.6, atol=0.05)
    y = cell.sample(white, random_state=1)
    assert np.array_equal(y, cell.sample(white, random_state=1))
    assert abs(y.mean() - 3.0) < 4 * np.sqrt(3.0 / y.size)
    reps = cell.sample(white[:100], random_state=2, n_repeats=400)
    assert reps.shape == (400, 100)
    assert np.allclose(reps.mean(0), rate[:100], atol=5 * np.sqrt(rate[:100].max() / 400))


def test_neuron_bad_inputs(white):
    with pytest.raises(InputError, match="nonlinearity"):
        SimpleCell(np.zeros((4, 4)), "sigmoid")
    with pytest.raises(InputError, match="same shape"):
        ComplexCell(np.zeros((4, 4)), np.zeros((5, 5)))
    with pytest.raises(InputError, match="square"):
        make_simple_cell(white[:, :60], theta=0, freq=0.2, sigma=2)
    with pytest.raises(InputError, match="columns"):
        make_complex_cell(white, theta=0, freq=0.2, sigma=2).rate(np.zeros((3, 10)))


# -- metrics --------------------------------------------------------------------------------------

def test_poisson_log_likelihood_matches_scipy():
    rng = np.random.default_rng(3)
    rate = rng.uniform(0.1, 5, 50)
    y = rng.poisson(rate).astype(float)
    assert np.allclose(poisson_log_likelihood(y, rate), poisson.logpmf(y, rate))


def test_bits_per_spike_known_values():
    rng = np.random.default_rng(4)
    rate = np.exp(rng.standard_normal(20000))
    y = rng.poisson(rate).astype(float)
    assert bits_per_spike(y, np.full_like(y, y.mean())) == pytest.approx(0.0, abs=1e-12)
    true = bits_per_spike(y, rate)
    # expected gain per spike: E[rate log(rate/mean) - rate + mean] / (mean ln 2)
    m = rate.mean()
    expected = np.mean(rate * np.log(rate / m) - rate + m) / (m * np.log(2))
    assert true == pytest.approx(expected, abs=0.03)
    assert bits_per_spike(y, rate * 3) < true


def test_fev_definitions_agree():
    rng = np.random.default_rng(5)
    rate = np.exp(rng.standard_normal(4000))
    pred = rate + 0.3 * rng.standard_normal(rate.size) * rate.std()
    assert fraction_explainable_variance(rate, rate) == 1.0
    assert fraction_explainable_variance(np.full_like(rate, rate.mean()), rate) == pytest.approx(0.0, abs=1e-12)
    fev = fraction_explainable_variance(np.abs(pred), rate)
    responses = rng.poisson(rate, size=(20, rate.size)).astype(float)
    assert fev_from_repeats(np.abs(pred), responses) == pytest.approx(fev, abs=0.05)
    with pytest.raises(InputError, match="n_repeats"):
        fev_from_repeats(pred, responses[:1])


# -- models ---------------------------------------------------------------------------------------

def test_glm_recovers_known_filter(white):
    w = gabor(8, theta=0.8, freq=0.25, sigma=1.5)
    y = np.random.default_rng(6).poisson(np.exp(white @ w.ravel() + 0.3)).astype(float)
    glm = PoissonGLM(l2=0.0).fit(white, y)
    assert glm.filter_.shape == (8, 8)
    assert np.corrcoef(glm.coef_, w.ravel())[0, 1] ** 2 > 0.98
    assert np.allclose(glm.coef_, w.ravel(), atol=0.05)
    assert glm.intercept_ == pytest.approx(0.3, abs=0.05)
    assert np.allclose(glm.predict(white), np.exp(white @ glm.coef_ + glm.intercept_))


def test_glm_penalties_shrink_and_smooth(white):
    w = 0.5 * gabor(8, theta=0.8, freq=0.25, sigma=1.5)
    y = np.random.default_rng(6).poisson(np.exp(white @ w.ravel())).astype(float)
    free, shrunk = PoissonGLM().fit(white, y), PoissonGLM(l2=1.0).fit(white, y)
    assert np.linalg.norm(shrunk.coef_) < 0.5 * np.linalg.norm(free.coef_)
    rough = lambda f: np.sum(np.diff(f, axis=0) ** 2) + np.sum(np.diff(f, axis=1) ** 2)  # noqa: E731
    assert rough(PoissonGLM(smoothness=1.0).fit(white, y).filter_) < 0.5 * rough(free.filter_)
    model, scores = select_glm(white, y, smoothness=[0.0, 0.01, 100.0])
    assert scores.shape == (3,) and np.argmax(scores) < 2 and model.smoothness in (0.0, 0.01)


def test_glm_bad_inputs(white):
    with pytest.raises(InputError, match="non-negative"):
        PoissonGLM().fit(white[:5], -np.ones(5))
    with pytest.raises(InputError, match="rows"):
        PoissonGLM().fit(white[:5], np.ones(4))
    with pytest.raises(InputError, match="l2"):
        PoissonGLM(l2=-1).fit(white[:5], np.ones(5))


def test_cnn_captures_complex_cell_glm_does_not(white):
    cell = make_complex_cell(white, theta=0.5, freq=0.25, sigma=1.5, mean_rate=2.0)
    y = cell.sample(white, random_state=7)
    train, test = slice(0, 6000), slice(6000, None)
    params = dict(n_channels=8, kernel_size=7, hidden_channels=8, pool=2, n_epochs=10, learning_rate=1e-2,
                  random_state=0)
    cnn = PoissonCNN(**params).fit(white[train], y[train])
    glm = PoissonGLM(l2=1e-3).fit(white[train], y[train])
    true = cell.rate(white[test])
    assert fraction_explainable_variance(cnn.predict(white[test]), true) > 0.8
    assert fraction_explainable_variance(glm.predict(white[test]), true) < 0.1
    assert bits_per_spike(y[test], cnn.predict(white[test]), y[train].mean()) > 0.5 * bits_per_spike(y[test], true)
    # same seed, same fit (bitwise); a saved state predicts the same
    again = PoissonCNN(**params).fit(white[train], y[train])
    assert np.array_equal(again.predict(white[test]), cnn.predict(white[test]))
    restored = PoissonCNN(**params).load_state_arrays(cnn.state_arrays())
    assert np.array_equal(restored.predict(white[test]), cnn.predict(white[test]))
    assert cnn.conv_filters_.shape == (8, 7, 7) and len(cnn.history_["val_loss"]) == 10


def test_cnn_bad_inputs(white):
    y = np.ones(len(white))
    with pytest.raises(InputError, match="kernel_size"):
        PoissonCNN(kernel_size=9).fit(white, y)
    with pytest.raises(InputError, match="output"):
        PoissonCNN(output="linear", kernel_size=3).fit(white, y)
    with pytest.raises(InputError, match="square"):
        PoissonCNN().fit(white[:, :60], y)


@pytest.mark.slow
def test_experiments_08_and_09_quick(tmp_path):
    """Quick runs on the default images reproduce the expected verdicts."""
    from effcode.cli import main
    from effcode.runs import read_json

    assert main(["run", "08", "09", "--quick", "--quiet", "--results", str(tmp_path)]) == 0
    by_type = read_json(tmp_path / "08_encoding" / "metrics.json")["by_type"]
    assert by_type["simple (exp)"]["glm_fev"] > 0.9 and by_type["simple (exp)"]["glm_filter_r2"] > 0.9
    assert by_type["complex (energy)"]["glm_fev"] < 0.1 and by_type["complex (energy)"]["cnn_fev"] > 0.7
    assert min(m["cnn_fev"] for m in by_type.values()) > 0.7
    groups = read_json(tmp_path / "09_phase_scrambling" / "metrics.json")["groups"]
    assert groups["energy model (ground truth)"]["fraction_passing"] == 1
    assert groups["CNN fitted to complex cell"]["fraction_passing"] == 1
    for name in ("simple cell (LN) (ground truth)", "GLM fitted to simple cell", "CNN fitted to simple cell"):
        assert groups[name]["fraction_passing"] == 0
    assert groups["energy model (ground truth)"]["global phase scramble median"] < 0.9
