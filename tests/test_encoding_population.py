"""Population encoding models (`fit_encoding_model`): known answers on simulated V1 cells, the API, bad input."""

import numpy as np
import pytest

from effcode.encoding import (ENCODING_MODELS, bits_per_spike, bits_per_spike_per_cell, complex_gabor,
                              correlation_per_cell, feve_per_cell, fit_encoding_model, gabor, load_encoding_model,
                              make_complex_cell, make_simple_cell, natural_patches, phase_invariance)
from effcode.encoding.frontends import quadrature_partner
from effcode.errors import InputError

P = 16


@pytest.fixture(scope="module")
def patches():
    """Contrast-normalised whitened natural patches (the default images), 4000 for training, 1000 held out."""
    from effcode.data import load_images

    x = natural_patches(load_images("default"), P, 5000, random_state=0)
    return x[:4000], x[4000:]


@pytest.fixture(scope="module")
def population(patches):
    """Five LN simple cells (Gabor, exp output) and five energy-model complex cells, Poisson counts."""
    x_train, x_test = patches
    rng = np.random.default_rng(1)
    cells = []
    for kind in ("simple", "complex"):
        for _ in range(5):
            gabor_params = dict(theta=rng.uniform(0, np.pi), freq=0.2, sigma=2.5,
                                x0=7.5 + rng.uniform(-1.5, 1.5), y0=7.5 + rng.uniform(-1.5, 1.5))
            cells.append(make_simple_cell(x_train, **gabor_params, phase=rng.uniform(0, 2 * np.pi), drive_std=0.6)
                         if kind == "simple" else make_complex_cell(x_train, **gabor_params))
    rate = lambda x: np.stack([c.rate(x) for c in cells], axis=1)  # noqa: E731
    return {"cells": cells, "y_train": rng.poisson(rate(x_train)).astype(float), "true_test": rate(x_test),
            "train": x_train.reshape(-1, P, P), "test": x_test.reshape(-1, P, P)}


@pytest.fixture(scope="module")
def fitted(population, one_torch_thread):
    return {name: fit_encoding_model(population["train"], population["y_train"], model=name, random_state=0,
                                     n_epochs=20) if name == "cnn" else
            fit_encoding_model(population["train"], population["y_train"], model=name, random_state=0)
            for name in ("glm", "cnn")}


# -- known answers (issue 17 item 6) ---------------------------------------------------------------------------

def _true_correlation(model, population):
    return correlation_per_cell(model.predict(population["test"]), population["true_test"])


def test_the_glm_predicts_simple_cells(fitted, population):
    r = _true_correlation(fitted["glm"], population)
    assert fitted["glm"].noise_ == "poisson"     # counts: the default picks the Poisson likelihood
    assert np.all(r[:5] >= 0.8), r[:5]


def test_the_cnn_predicts_complex_cells_clearly_better_than_the_glm(fitted, population):
    cnn, glm = _true_correlation(fitted["cnn"], population), _true_correlation(fitted["glm"], population)
    assert np.all(cnn[5:] >= 0.7), cnn[5:]
    assert np.median(cnn[5:]) > np.median(glm[5:]) + 0.4, (cnn[5:], glm[5:])


def test_the_glm_filters_match_the_true_gabors(fitted, population):
    for filt, cell in zip(fitted["glm"].filters_[:5], population["cells"][:5]):
        assert abs(np.corrcoef(filt.ravel(), cell.filter.ravel())[0, 1]) >= 0.8


def test_the_smoothness_is_chosen_per_cell_on_the_validation_split(fitted):
    glm = fitted["glm"]
    assert glm.validation_loss_.shape == (6, 10)
    np.testing.assert_array_equal(glm.smoothness_, np.asarray(glm.smoothness)[np.argmin(glm.validation_loss_, axis=0)])


def test_scores_use_repeats_for_the_noise_ceiling(fitted, population):
    rng = np.random.default_rng(5)
    trials = rng.poisson(population["true_test"], size=(8, *population["true_test"].shape)).astype(float)
    scores = fitted["glm"].score_table(population["test"], trials)
    assert scores.correlation.shape == scores.feve.shape == scores.bits_per_spike.shape == (10,)
    assert np.all(scores.feve[:5] > 0.8) and np.all(scores.bits_per_spike[:5] > 0.1)
    medians = scores.medians(n_bootstrap=200)
    assert medians["feve"]["lo"] <= medians["feve"]["value"] <= medians["feve"]["hi"]
    assert medians["feve"]["value"] == np.median(scores.feve) and medians["feve"]["se"] > 0
    assert medians["feve"]["n_cells"] == 10
    single = fitted["glm"].score_table(population["test"], trials[0])
    assert np.all(np.isnan(single.feve)) and np.all(np.isfinite(single.bits_per_spike))


def test_a_fitted_model_survives_its_arrays(fitted, population):
    for model in fitted.values():
        again = load_encoding_model(model.to_arrays())
        np.testing.assert_allclose(again.predict(population["test"][:50]), model.predict(population["test"][:50]),
                                   rtol=1e-6)


def test_the_phase_test_applies_to_fitted_models(fitted, population):
    x = population["test"][:400]
    truth = phase_invariance(lambda im: np.stack([c.rate(im.reshape(len(im), -1)) for c in population["cells"]], 1),
                             x, random_state=0)
    assert np.all(truth["local phase shift"][5:] > 0.97)        # energy model: invariant
    assert np.all(truth["local phase shift"][:5] < 0.6)         # simple cells: not
    cnn = phase_invariance(fitted["cnn"], x, random_state=0)
    glm = phase_invariance(fitted["glm"], x, random_state=0)
    assert np.median(cnn["local phase shift"][5:]) > 0.9 > np.median(glm["local phase shift"][5:])


# -- the efficient model ---------------------------------------------------------------------------------------

def test_a_quadrature_partner_is_the_odd_gabor():
    g = complex_gabor(12, theta=0.7, freq=0.2, sigma=2.5)
    assert abs(np.corrcoef(quadrature_partner(g.real).ravel(), g.imag.ravel())[0, 1]) > 0.98


def test_an_energy_front_end_of_the_true_filters_predicts_complex_cells(patches, tmp_path):
    from effcode.learners import FilterBank

    x_train, x_test = patches
    cells = [make_complex_cell(x_train, theta=t, freq=0.2, sigma=2.5) for t in (0.3, 1.9)]
    filters = np.stack([gabor(P, theta=t, freq=0.2, sigma=2.5) for t in (0.3, 1.2, 1.9, 2.6)])
    path = FilterBank(filters=filters, basis=filters, method="gabor").save(tmp_path / "bank.npz")
    y = np.random.default_rng(0).poisson(np.stack([c.rate(x_train) for c in cells], 1)).astype(float)
    model = fit_encoding_model(x_train.reshape(-1, P, P), y, model="efficient", bank=str(path), front_end="energy",
                               random_state=0, readout_l1=[0.001], n_epochs=20)
    true = np.stack([c.rate(x_test) for c in cells], 1)
    assert np.all(correlation_per_cell(model.predict(x_test.reshape(-1, P, P)), true) > 0.9)
    assert model.bank_filters_.shape == (4, P, P) and model.spatial_masks_.shape == (2, 1, 1)


@pytest.mark.parametrize("front_end, channels", [("rectified", 8), ("subunit", 8), ("energy", 4)])
def test_front_ends_give_their_channels(front_end, channels):
    from effcode.encoding.frontends import FilterBankFrontEnd

    import torch

    front = FilterBankFrontEnd(np.random.default_rng(0).normal(size=(4, 5, 5)), front_end)
    maps = front(torch.randn(3, 1, 12, 12))
    assert maps.shape == (3, channels, 8, 8) and front.out_channels == channels
    assert torch.all(maps >= 0)


# -- noise models ----------------------------------------------------------------------------------------------

def test_gaussian_noise_for_continuous_signals_recovers_a_linear_filter():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1500, 8, 8))
    w = gabor(8, theta=0.5, freq=0.2, sigma=1.5)
    y = (x.reshape(len(x), -1) @ w.ravel())[:, None] * [1.0, -2.0] + 0.3 * rng.normal(size=(1500, 2)) + 5.0
    model = fit_encoding_model(x, y, model="glm", random_state=0)
    assert model.noise_ == "gaussian" and model.output_ == "linear"   # non-integer responses
    for filt in model.filters_:
        assert abs(np.corrcoef(filt.ravel(), w.ravel())[0, 1]) > 0.95


# -- metrics --------------------------------------------------------------------------------------------------

def test_population_metrics_known_answers():
    rng = np.random.default_rng(0)
    rate = rng.gamma(2.0, 1.0, size=(400, 3))
    trials = rng.poisson(rate, size=(20, 400, 3)).astype(float)
    assert np.allclose(feve_per_cell(rate, trials), 1.0, atol=0.05)
    assert np.allclose(feve_per_cell(np.full_like(rate, rate.mean(0)), trials), 0.0, atol=0.05)
    assert np.all(correlation_per_cell(rate, trials) > 0.9)
    null = trials.mean(axis=(0, 1))
    per_cell = bits_per_spike_per_cell(rate, trials[0], null)
    assert per_cell[1] == pytest.approx(bits_per_spike(trials[0, :, 1], rate[:, 1], null[1]))
    flat = np.ones((400, 1))
    assert np.isnan(feve_per_cell(flat, np.ones((5, 400, 1))))[0]


# -- the API: same seed, same result; bad input --------------------------------------------------------------

def test_the_registry_and_seeding():
    assert set(ENCODING_MODELS.names()) == {"glm", "cnn", "efficient"}
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 10, 10))
    y = rng.poisson(np.exp(0.3 * x[:, 4:6, 4:6].sum(axis=(1, 2)))[:, None] * [1, 2]).astype(float)
    a, b = (fit_encoding_model(x, y, model="cnn", random_state=3, n_channels=4, hidden_channels=4, kernel_size=5,
                               n_epochs=3).predict(x[:20]) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    repeated = fit_encoding_model(x, np.stack([y, y]), model="glm", random_state=0)   # (repeats, n, cells) accepted
    assert repeated.predict(x).shape == (300, 2)


def test_random_state_takes_generators_as_scikit_learn_does():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 10, 10))
    y = rng.poisson(np.exp(0.3 * x[:, 4:6, 4:6].sum(axis=(1, 2)))[:, None] * [1, 2]).astype(float)
    model = ENCODING_MODELS.get("cnn")

    def fit(random_state):
        return model(random_state=random_state, n_channels=4, hidden_channels=4, kernel_size=5, n_epochs=2).fit(x, y)

    first, second = fit(np.random.RandomState(4)), fit(np.random.RandomState(4))
    assert first.seed_ == second.seed_
    np.testing.assert_array_equal(first.predict(x[:20]), second.predict(x[:20]))
    assert fit(np.random.default_rng(4)).seed_ == fit(np.random.default_rng(4)).seed_
    assert fit(7).seed_ == 7 and isinstance(fit(None).seed_, int)
    with pytest.raises(InputError, match="random_state must be None, an integer"):
        fit("seven")


@pytest.mark.parametrize("change, message", [
    (lambda x, y: (x, y[:-1]), "hold 299 stimuli"),
    (lambda x, y: (x[..., 0], y), "stimuli must be a 3-D array"),
    (lambda x, y: (x, np.where(np.arange(300)[:, None] == 7, np.nan, y)), "responses contains NaN"),
    (lambda x, y: (x, y - 3), "negative values"),
    (lambda x, y: (x[:60], y[:60]), "needs at least 101 for fitting"),
    (lambda x, y: (x, y * 0), "never respond"),
])
def test_bad_input_is_a_one_line_error(change, message):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 10, 10))
    y = rng.poisson(2.0, size=(300, 2)).astype(float)
    x, y = change(x, y)
    with pytest.raises(InputError, match=message) as info:
        fit_encoding_model(x, y, model="glm", noise="poisson" if message != "never respond" else "auto")
    assert "\n" not in str(info.value)


def test_unknown_models_and_parameters_are_refused():
    x, y = np.zeros((50, 8, 8)), np.ones((50, 1))
    with pytest.raises(InputError, match="unknown encoding model 'lnp'"):
        fit_encoding_model(x, y, model="lnp")
    with pytest.raises(InputError, match="unexpected keyword argument 'kernel'"):
        fit_encoding_model(x, y, model="cnn", kernel=3)


def test_oracle_and_fraction_of_oracle_known_answers():
    """Gaussian trials around a known mean: the oracle and the single-trial correlation have closed forms."""
    from effcode.encoding import (fraction_of_oracle_per_cell, gaussian_log_likelihood_gain_per_cell,
                                  oracle_correlation_per_cell, single_trial_correlation_per_cell)

    rng = np.random.default_rng(0)
    R, n = 10, 20000
    signal = rng.normal(size=(n, 2))
    trials = signal + rng.normal(size=(R, n, 2))      # signal variance 1, noise variance 1
    # oracle: corr(trial, mean of R-1 others) = 1 / sqrt(2 (1 + 1/(R-1))); single trial vs the truth: 1/sqrt(2)
    np.testing.assert_allclose(oracle_correlation_per_cell(trials), 1 / np.sqrt(2 * (1 + 1 / (R - 1))), atol=0.01)
    np.testing.assert_allclose(single_trial_correlation_per_cell(signal, trials), 1 / np.sqrt(2), atol=0.01)
    np.testing.assert_allclose(fraction_of_oracle_per_cell(signal, trials), np.sqrt(1 + 1 / (R - 1)), atol=0.02)
    # log-likelihood gain of the truth over the mean: var(signal) / (2 noise variance) = 0.5 nats per trial
    np.testing.assert_allclose(gaussian_log_likelihood_gain_per_cell(signal, trials, np.zeros(2)), 0.5, atol=0.02)
    assert np.all(np.abs(gaussian_log_likelihood_gain_per_cell(np.zeros((n, 2)), trials, np.zeros(2))) < 1e-12)
    with pytest.raises(InputError, match="repeated trials"):
        oracle_correlation_per_cell(trials[:1])
