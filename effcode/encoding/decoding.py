"""Bayesian decoding of grating orientation from a population of simulated energy neurons.

The encoder gives the likelihood ``p(n | theta)`` of a vector of spike counts ``n`` (independent
Poisson counts with the neurons' rates); a decoder also needs a prior ``p(theta)``:
``p(theta | n) ∝ p(n | theta) p(theta)``.  Orientation lives on [0, pi); the grating phase is a
nuisance variable, uniform and marginalised out.  All densities are evaluated on a grid of
orientations and returned as probabilities per grid cell.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln, logsumexp

from ..errors import InputError
from ..validation import check_array, check_float, check_int
from .neurons import ComplexCell, SimpleCell, complex_gabor
from .stimuli import gratings


def orientation_population(n_neurons: int, size: int, *, freq: float, sigma: float, peak_rate: float = 5.0,
                           baseline: float = 0.1) -> list[ComplexCell]:
    """``n_neurons`` energy cells with preferred orientations ``k pi / n_neurons``.

    Each rate is ``gain * energy + baseline``, with the gain making the response to a
    unit-contrast grating at the preferred orientation and frequency ``peak_rate`` spikes/bin
    above baseline.

    Parameters
    ----------
    n_neurons : int
        How many cells.
    size : int
        Side of the square stimulus, pixels.
    freq : float
        Preferred spatial frequency of every cell, cycles per pixel.
    sigma : float
        Envelope standard deviation of the cells' (isotropic) Gabor filters, pixels.
    peak_rate : float, default 5.0
        Response above baseline to a unit-contrast grating at the preferred orientation and
        frequency, spikes per bin.
    baseline : float, default 0.1
        Rate without a stimulus, spikes per bin.
    """
    n_neurons = check_int("n_neurons", n_neurons, minimum=2)
    peak_rate = check_float("peak_rate", peak_rate, minimum=0.0, strict_minimum=True)
    baseline = check_float("baseline", baseline, minimum=0.0)
    cells = []
    for k in range(n_neurons):
        theta = k * np.pi / n_neurons
        g = complex_gabor(size, theta=theta, freq=freq, sigma=sigma)
        cell = ComplexCell(g.real, g.imag, baseline=baseline, params=dict(theta=theta, freq=freq, sigma=sigma))
        cell.gain = peak_rate / cell.energy(gratings(size, theta, freq, 0.0).reshape(1, -1))[0]
        cells.append(cell)
    return cells


def population_rates(cells: Sequence[SimpleCell | ComplexCell], thetas: ArrayLike, phases: ArrayLike, *, freq: float,
                     contrast: float) -> np.ndarray:
    """Rates (spikes/bin) of every cell to gratings at every orientation and phase:
    shape (n_thetas, n_phases, n_cells).

    Parameters
    ----------
    cells : sequence of SimpleCell or ComplexCell
        The population.
    thetas : array_like
        Grating orientations (the direction across the bars), radians.
    phases : array_like
        Grating phases at the patch centre, radians.
    freq : float
        Grating spatial frequency, cycles per pixel.
    contrast : float
        Grating amplitude, as in :func:`~effcode.encoding.stimuli.gratings`.
    """
    thetas = check_array("thetas", thetas, ndim=1)
    phases = check_array("phases", phases, ndim=1)
    size = cells[0].patch_shape[0]
    stim = gratings(size, thetas[:, None], freq, phases[None, :], contrast).reshape(-1, size * size)
    return np.stack([c.rate(stim) for c in cells], axis=-1).reshape(thetas.size, phases.size, len(cells))


def log_likelihood(counts: ArrayLike, rates: ArrayLike) -> np.ndarray:
    """``log p(n | theta)`` for spike-count vectors ``counts`` (T, n_cells) on the grid of ``rates``
    (n_thetas, n_phases, n_cells), averaging the likelihood over the phases: shape (T, n_thetas),
    in nats.

    Parameters
    ----------
    counts : array_like
        Spike counts, shape (T, n_cells).
    rates : array_like
        Rates on the grid, spikes per bin, shape (n_thetas, n_phases, n_cells).
    """
    counts = check_array("counts", counts, ndim=2)
    rates = check_array("rates", rates, ndim=3)
    if counts.shape[1] != rates.shape[2]:
        raise InputError(f"counts has {counts.shape[1]} cells but rates has {rates.shape[2]}")
    log_rates = np.log(np.maximum(rates, 1e-12))
    per_phase = (np.einsum("tc,opc->top", counts, log_rates) - rates.sum(axis=-1)[None]
                 - gammaln(counts + 1).sum(axis=1)[:, None, None])
    return logsumexp(per_phase, axis=2) - np.log(rates.shape[1])


def von_mises_prior(thetas: ArrayLike, mean: float, kappa: float) -> np.ndarray:
    """Prior probabilities on an orientation grid (sums to 1): ``∝ exp(kappa cos 2 (theta - mean))``
    (``kappa = 0``: uniform).

    Parameters
    ----------
    thetas : array_like
        The orientation grid, radians.
    mean : float
        The prior's preferred orientation, radians.
    kappa : float
        Concentration (0: uniform).
    """
    thetas = check_array("thetas", thetas, ndim=1)
    kappa = check_float("kappa", kappa, minimum=0.0)
    logp = kappa * np.cos(2 * (thetas - mean))
    p = np.exp(logp - logp.max())
    return p / p.sum()


def posterior(loglik: ArrayLike, prior: ArrayLike) -> np.ndarray:
    """``p(theta | n)`` on the grid (T, n_thetas), rows summing to 1.

    Parameters
    ----------
    loglik : array_like
        Log-likelihoods on the grid, shape (T, n_thetas), nats.
    prior : array_like
        Prior probabilities on the grid, shape (n_thetas,).
    """
    loglik = check_array("loglik", loglik, ndim=2)
    prior = check_array("prior", prior, ndim=1)
    if prior.size != loglik.shape[1] or np.any(prior < 0) or prior.sum() <= 0:
        raise InputError(f"prior must be {loglik.shape[1]} non-negative probabilities, got shape {prior.shape}")
    with np.errstate(divide="ignore"):
        logpost = loglik + np.log(prior / prior.sum())[None]
    return np.exp(logpost - logsumexp(logpost, axis=1, keepdims=True))


def circular_mean_orientation(post: ArrayLike, thetas: ArrayLike) -> np.ndarray:
    """The posterior circular mean of orientation (radians in [0, pi)), from the doubled angle.

    Parameters
    ----------
    post : array_like
        Posterior probabilities on the grid, shape (T, n_thetas).
    thetas : array_like
        The orientation grid, radians, shape (n_thetas,).
    """
    z = post @ np.exp(2j * np.asarray(thetas))
    return np.mod(np.angle(z) / 2, np.pi)


def orientation_error(estimate: ArrayLike, truth: ArrayLike) -> np.ndarray:
    """Absolute orientation difference in radians, in [0, pi/2].

    Parameters
    ----------
    estimate : array_like
        Estimated orientations, radians.
    truth : array_like
        True orientations, radians.
    """
    d = np.mod(np.asarray(estimate) - np.asarray(truth), np.pi)
    return np.minimum(d, np.pi - d)
