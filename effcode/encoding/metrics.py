"""Goodness of fit of an encoding model: Poisson log-likelihood in bits/spike and explainable variance.

Notation: ``y`` observed spike counts per bin, ``rate`` a model's predicted mean count per bin
(spikes/bin), ``n`` stimuli.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln

from ..errors import InputError
from ..validation import check_array, check_float

_MIN_RATE = 1e-12


def _pair(y, rate):
    y = check_array("y", y, ndim=1)
    rate = check_array("rate", rate, ndim=1)
    if y.shape != rate.shape:
        raise InputError(f"y {y.shape} and rate {rate.shape} must have the same shape")
    if np.any(y < 0) or np.any(rate < 0):
        raise InputError("spike counts y and rates must be non-negative")
    return y, rate


def poisson_log_likelihood(y: ArrayLike, rate: ArrayLike) -> np.ndarray:
    """Per-bin Poisson log-likelihood ``y log(rate) - rate - log(y!)`` in nats, shape (n,).

    Parameters
    ----------
    y : array_like
        Spike counts per bin, shape (n,).
    rate : array_like
        Predicted rates, spikes per bin, shape (n,).
    """
    y, rate = _pair(y, rate)
    return y * np.log(np.maximum(rate, _MIN_RATE)) - rate - gammaln(y + 1)


def bits_per_spike(y: ArrayLike, rate: ArrayLike, null_rate: float | None = None) -> float:
    """Log-likelihood gain over a homogeneous Poisson model, in bits per spike.

    ``(sum LL(y | rate) - sum LL(y | null_rate)) / (ln 2 * sum y)``; ``null_rate`` (spikes/bin)
    is the constant rate of the null model - pass the training-set mean count for a held-out
    score; by default the mean of ``y``.  0 means no better than the mean rate.

    Parameters
    ----------
    y : array_like
        Spike counts per bin, shape (n,).
    rate : array_like
        Predicted rates, spikes per bin, shape (n,).
    null_rate : float or None, default None
        The null model's constant rate, spikes per bin (None: the mean of ``y``).
    """
    y, rate = _pair(y, rate)
    null = float(y.mean()) if null_rate is None else check_float("null_rate", null_rate, minimum=0.0,
                                                                  strict_minimum=True)
    if y.sum() <= 0:
        raise InputError("y holds no spikes: bits per spike is undefined")
    gain = poisson_log_likelihood(y, rate).sum() - poisson_log_likelihood(y, np.full_like(y, null)).sum()
    return float(gain / (np.log(2.0) * y.sum()))


def fraction_explainable_variance(pred: ArrayLike, true_rate: ArrayLike) -> float:
    """FEV against a known rate: ``1 - mean((pred - true_rate)^2) / var(true_rate)``.

    With Poisson noise the explainable variance is the variance of the true rate over stimuli
    (the rest is spiking noise, which no model can predict).  1 is a perfect rate prediction;
    0 is no better than predicting the mean rate; it is negative for worse predictions.

    Parameters
    ----------
    pred : array_like
        Predicted rates, shape (n,).
    true_rate : array_like
        The true rates, shape (n,).
    """
    pred, true_rate = _pair(pred, true_rate)
    var = true_rate.var()
    if var <= 0:
        raise InputError("true_rate is constant: explainable variance is zero")
    return float(1.0 - np.mean((pred - true_rate) ** 2) / var)


def fev_from_repeats(pred: ArrayLike, responses: ArrayLike) -> float:
    """FEV estimated from ``responses`` (n_repeats, n), repeated trials, without the true rate.

    With ``m`` the trial-averaged response, ``s2`` the across-trial variance of each stimulus
    (ddof 1) and ``R`` repeats, ``mean(s2) / R`` estimates the noise variance left in ``m``, so
    ``var(m) - mean(s2)/R`` estimates ``var(true rate)`` and ``mean((pred - m)^2) - mean(s2)/R``
    estimates ``mean((pred - true rate)^2)``; FEV is one minus their ratio (unbiased terms for
    any noise distribution, not only Poisson).

    Parameters
    ----------
    pred : array_like
        Predicted responses, shape (n,).
    responses : array_like
        Repeated trials, shape (n_repeats, n).
    """
    responses = check_array("responses", responses, ndim=2)
    pred = check_array("pred", pred, ndim=1)
    if responses.shape[0] < 2 or responses.shape[1] != pred.size:
        raise InputError(f"responses must have shape (n_repeats >= 2, {pred.size}), got {responses.shape}")
    m = responses.mean(axis=0)
    noise = responses.var(axis=0, ddof=1).mean() / responses.shape[0]
    explainable = m.var() - noise
    if explainable <= 0:
        raise InputError("the responses hold no explainable variance above the trial-to-trial noise")
    return float(1.0 - (np.mean((pred - m) ** 2) - noise) / explainable)


def filter_r2(estimate: ArrayLike, reference: ArrayLike) -> float:
    """How well a recovered filter matches the true one(s), up to scale and offset.

    ``estimate`` (h, w); ``reference`` (h, w) or (m, h, w).  The R² of the least-squares fit of
    the estimate's pixels by ``c_0 + sum_j c_j reference_j``: the squared correlation for one
    reference; for a quadrature pair, the fraction of the estimate that lies in the pair's span.

    Parameters
    ----------
    estimate : array_like
        The recovered filter, shape (h, w).
    reference : array_like
        The true filter (h, w) or filters (m, h, w).
    """
    est = check_array("estimate", estimate, ndim=2)
    ref = check_array("reference", reference, ndim=(2, 3))
    if ref.shape[-2:] != est.shape:
        raise InputError(f"reference must hold filters of the estimate's shape {est.shape}, got {ref.shape}")
    est, ref = est.ravel(), ref.reshape(-1, est.size)
    design = np.column_stack([np.ones(est.size), ref.T])
    coef, *_ = np.linalg.lstsq(design, est, rcond=None)
    resid = est - design @ coef
    total = np.sum((est - est.mean()) ** 2)
    if total <= 0:
        raise InputError("estimate is constant: R² is undefined")
    return float(1.0 - np.sum(resid ** 2) / total)


# -- populations: one value per cell ------------------------------------------------------------------


def _per_cell(pred, responses):
    """``pred`` (n, cells) and ``responses`` as (repeats, n, cells)."""
    pred = check_array("predictions", pred, ndim=2)
    responses = check_array("responses", responses, ndim=(2, 3))
    trials = responses if responses.ndim == 3 else responses[None]
    if trials.shape[1:] != pred.shape:
        raise InputError(f"responses {responses.shape} must be (n, cells) or (repeats, n, cells) with (n, cells) = "
                         f"{pred.shape}, the predictions' shape")
    return pred, trials


def correlation_per_cell(pred: ArrayLike, responses: ArrayLike) -> np.ndarray:
    """Pearson correlation of each cell's prediction with its trial-averaged response, (cells,);
    NaN for a cell whose prediction or response is constant over the stimuli.

    Parameters
    ----------
    pred : array_like
        Predicted responses, shape (n, cells).
    responses : array_like
        Recorded responses, shape (n, cells) or (repeats, n, cells).
    """
    pred, trials = _per_cell(pred, responses)
    mean = trials.mean(axis=0)
    a, b = pred - pred.mean(axis=0), mean - mean.mean(axis=0)
    denominator = np.sqrt(np.sum(a ** 2, axis=0) * np.sum(b ** 2, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, np.sum(a * b, axis=0) / denominator, np.nan)


def feve_per_cell(pred: ArrayLike, responses: ArrayLike) -> np.ndarray:
    """Fraction of explainable variance explained of each cell, from repeated trials, (cells,).

    ``responses`` (repeats R >= 2, n, cells).  The estimator of :func:`fev_from_repeats`, per cell:
    with ``m`` the trial mean and ``s2`` the across-trial variance (ddof 1) of each stimulus,
    ``noise = mean(s2) / R`` is the noise variance left in ``m``, and
    ``FEVE = 1 - (mean((pred - m)^2) - noise) / (var(m) - noise)``.  NaN for a cell whose
    responses hold no explainable variance above the noise (``var(m) <= noise``).

    Parameters
    ----------
    pred : array_like
        Predicted responses, shape (n, cells).
    responses : array_like
        Repeated trials, shape (repeats, n, cells), at least two repeats.
    """
    pred, trials = _per_cell(pred, responses)
    if trials.shape[0] < 2:
        raise InputError(f"FEVE needs repeated trials, (repeats >= 2, n, cells); got responses of shape "
                         f"{np.shape(responses)}")
    m = trials.mean(axis=0)
    noise = trials.var(axis=0, ddof=1).mean(axis=0) / trials.shape[0]
    explainable = m.var(axis=0) - noise
    with np.errstate(invalid="ignore", divide="ignore"):
        feve = 1.0 - (np.mean((pred - m) ** 2, axis=0) - noise) / explainable
    return np.where(explainable > 0, feve, np.nan)


def bits_per_spike_per_cell(pred: ArrayLike, responses: ArrayLike, null_rate: ArrayLike) -> np.ndarray:
    """Held-out Poisson log-likelihood gain over a constant rate, bits per spike, per cell (cells,).

    ``pred`` (n, cells) rates; ``responses`` counts (n, cells) or (repeats, n, cells), every trial
    scored; ``null_rate`` (cells,) the constant rate of the null model (the training mean).
    ``sum_trials [y log(pred / null) - (pred - null)] / (ln 2 sum y)``; NaN for a cell without
    spikes in ``responses``.

    Parameters
    ----------
    pred : array_like
        Predicted responses, shape (n, cells).
    responses : array_like
        Recorded responses, shape (n, cells) or (repeats, n, cells).
    null_rate : array_like
        The null model's constant rate per cell, shape (cells,).
    """
    pred, trials = _per_cell(pred, responses)
    null = check_array("null_rate", null_rate, ndim=1)
    if null.shape != pred.shape[1:] or np.any(null <= 0):
        raise InputError(f"null_rate must hold one positive rate per cell ({pred.shape[1]}), got {null}")
    if np.any(trials < 0) or np.any(pred < 0):
        raise InputError("bits per spike needs non-negative counts and rates")
    rate = np.maximum(pred, _MIN_RATE)
    gain = np.sum(trials * np.log(rate / null) - (rate - null), axis=(0, 1))
    spikes = trials.sum(axis=(0, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(spikes > 0, gain / (np.log(2.0) * spikes), np.nan)


def _pooled_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per cell (last axis): the Pearson correlation of ``a`` and ``b`` over all other axes; NaN where constant."""
    a = a.reshape(-1, a.shape[-1]) - a.reshape(-1, a.shape[-1]).mean(axis=0)
    b = b.reshape(-1, b.shape[-1]) - b.reshape(-1, b.shape[-1]).mean(axis=0)
    denominator = np.sqrt(np.sum(a ** 2, axis=0) * np.sum(b ** 2, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, np.sum(a * b, axis=0) / denominator, np.nan)


def oracle_correlation_per_cell(responses: ArrayLike) -> np.ndarray:
    """The oracle of Klindt et al. (2017) per cell, (cells,): the correlation, over every trial of every
    stimulus, of a trial with the mean of the other trials of its stimulus (the leave-one-out mean).

    ``responses`` (repeats R >= 2, n, cells).  It bounds what a prediction of single trials can reach.

    Parameters
    ----------
    responses : array_like
        Repeated trials, shape (repeats, n, cells), at least two repeats.
    """
    trials = check_array("responses", responses, ndim=3)
    if trials.shape[0] < 2:
        raise InputError(f"the oracle needs repeated trials, (repeats >= 2, n, cells); got {trials.shape}")
    leave_one_out = (trials.sum(axis=0) - trials) / (trials.shape[0] - 1)
    return _pooled_correlation(trials, leave_one_out)


def single_trial_correlation_per_cell(pred: ArrayLike, responses: ArrayLike) -> np.ndarray:
    """Per cell: the correlation of the prediction with every single trial (the test correlation that
    Klindt et al. 2017 and neuralpredictors divide by the oracle), (cells,).

    Parameters
    ----------
    pred : array_like
        Predicted responses, shape (n, cells).
    responses : array_like
        Recorded trials, shape (repeats, n, cells) or (n, cells).
    """
    pred, trials = _per_cell(pred, responses)
    return _pooled_correlation(trials, np.broadcast_to(pred, trials.shape))


def fraction_of_oracle_per_cell(pred: ArrayLike, responses: ArrayLike) -> np.ndarray:
    """Per cell: :func:`single_trial_correlation_per_cell` over :func:`oracle_correlation_per_cell`;
    NaN where the oracle is not positive.

    Parameters
    ----------
    pred : array_like
        Predicted responses, shape (n, cells).
    responses : array_like
        Repeated trials, shape (repeats, n, cells), at least two repeats.
    """
    oracle = oracle_correlation_per_cell(responses)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(oracle > 0, single_trial_correlation_per_cell(pred, responses) / oracle, np.nan)


def gaussian_log_likelihood_gain_per_cell(pred: ArrayLike, responses: ArrayLike, null_mean: ArrayLike) -> np.ndarray:
    """Held-out Gaussian log-likelihood gain over a constant prediction, nats per trial, per cell (cells,).

    For continuous responses (inferred rates): every trial ``y`` is scored under ``N(pred, s2)`` and under
    ``N(null_mean, s2)``, with ``s2`` the cell's across-trial variance (ddof 1, averaged over stimuli: the
    noise variance); the gain is ``mean[(y - null_mean)^2 - (y - pred)^2] / (2 s2)``.  0: no better than the
    training mean; NaN where the trials do not vary.

    Parameters
    ----------
    pred : array_like
        Predicted responses, shape (n, cells).
    responses : array_like
        Repeated trials, shape (repeats, n, cells), at least two repeats.
    null_mean : array_like
        The null model's constant prediction per cell, shape (cells,).
    """
    pred, trials = _per_cell(pred, responses)
    null = check_array("null_mean", null_mean, ndim=1)
    if null.shape != pred.shape[1:] or trials.shape[0] < 2:
        raise InputError(f"null_mean must hold one value per cell ({pred.shape[1]}) and responses >= 2 repeats; got "
                         f"{null.shape} and {np.shape(responses)}")
    noise = trials.var(axis=0, ddof=1).mean(axis=0)
    gain = np.mean((trials - null) ** 2 - (trials - pred) ** 2, axis=(0, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(noise > 0, gain / (2 * noise), np.nan)
