"""Simulated V1 neurons with a known ground truth: LN simple cells and energy-model complex cells.

Stimuli are flattened square patches ``X`` of shape (n, p*p) (row-major, as returned by
:class:`effcode.data.PatchSampler`).  A neuron's ``rate(X)`` is its expected spike count per
time bin (spikes/bin); ``sample(X, seed)`` draws Poisson counts with that mean.

Coordinates follow :mod:`effcode.gabor`: x is the column, y the row, in pixels, 0 at the
centre of the top-left pixel; ``theta`` in [0, pi) is the direction across the bars.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ..validation import check_array, check_choice, check_float, check_int, check_random_state, seed_alias

NONLINEARITIES = ("exp", "relu")


def complex_gabor(size: int, *, theta: float, freq: float, sigma: float, phase: float = 0.0,
                  aspect: float = 1.0, x0: float | None = None, y0: float | None = None) -> np.ndarray:
    """A complex Gabor ``env(x', y') * exp(i (2 pi freq x' + phase))`` on a ``size`` x ``size`` grid.

    ``env = exp(-x'^2 / 2 sigma^2 - y'^2 / 2 (aspect sigma)^2)`` with ``x'`` the coordinate across
    the bars (direction ``theta``) measured from the centre ``(x0, y0)`` (default: the patch
    centre).  ``freq`` is in cycles/pixel, ``sigma`` in pixels.  The result is scaled so that its
    real and imaginary parts (the even and odd Gabors of a quadrature pair) have a mean squared
    norm of 1: ``(|Re|^2 + |Im|^2) / 2 = 1``.

    Parameters
    ----------
    size : int
        Side of the square grid, pixels.
    theta : float
        Direction across the bars, radians.
    freq : float
        Spatial frequency, cycles per pixel.
    sigma : float
        Envelope standard deviation across the bars, pixels.
    phase : float, default 0.0
        Phase at the centre, radians.
    aspect : float, default 1.0
        Envelope width along the bars over that across them.
    x0 : float or None, default None
        Centre column, pixels (None: the patch centre).
    y0 : float or None, default None
        Centre row, pixels (None: the patch centre).
    """
    size = check_int("size", size, minimum=2)
    freq = check_float("freq", freq, minimum=0.0, maximum=0.5)
    sigma = check_float("sigma", sigma, minimum=0.0, strict_minimum=True)
    aspect = check_float("aspect", aspect, minimum=0.0, strict_minimum=True)
    centre = (size - 1) / 2
    x0 = centre if x0 is None else check_float("x0", x0)
    y0 = centre if y0 is None else check_float("y0", y0)
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    dx, dy = x - x0, y - y0
    across = dx * np.cos(theta) + dy * np.sin(theta)
    along = -dx * np.sin(theta) + dy * np.cos(theta)
    envelope = np.exp(-across ** 2 / (2 * sigma ** 2) - along ** 2 / (2 * (aspect * sigma) ** 2))
    g = envelope * np.exp(1j * (2 * np.pi * freq * across + phase))
    return g * np.sqrt(2.0 / np.sum(np.abs(g) ** 2))


def gabor(size: int, **params: Any) -> np.ndarray:
    """The real (even for ``phase=0``) part of :func:`complex_gabor`, scaled to unit L2 norm.

    Parameters
    ----------
    size : int
        Side of the square grid, pixels.
    **params
        Keyword arguments of :func:`complex_gabor`.
    """
    g = complex_gabor(size, **params).real
    return g / np.linalg.norm(g)


def _stimuli(X, n_features: int) -> np.ndarray:
    X = check_array("X", X, ndim=2)
    if X.shape[1] != n_features:
        raise InputError(f"X must have {n_features} columns (flattened patches), got shape {X.shape}")
    return X


@dataclass
class SimulatedNeuron(ABC):
    """Base class: a deterministic rate function plus Poisson spiking.

    Parameters
    ----------
    params : dict, default {}
        The Gabor parameters the neuron was built from, for reference.
    """

    #: the Gabor parameters the neuron was built from (theta, freq, sigma, ...), for reference
    params: dict = field(default_factory=dict, kw_only=True)

    @property
    @abstractmethod
    def patch_shape(self) -> tuple[int, int]:
        """(h, w) of the receptive field."""

    @abstractmethod
    def rate(self, X) -> np.ndarray:
        """Expected spike count per bin (spikes/bin), shape (n,).

        Parameters
        ----------
        X : array_like
            Flattened stimuli, shape (n, h*w).
        """

    @seed_alias
    def sample(self, X, random_state=0, n_repeats: int | None = None) -> np.ndarray:
        """Poisson spike counts: shape (n,), or (n_repeats, n) independent repeats.

        Parameters
        ----------
        X : array_like
            Flattened stimuli, shape (n, h*w).
        random_state : int or numpy.random.Generator, default 0
            Seed of the spikes.
        n_repeats : int or None, default None
            Independent repeats to draw (None: one, without the repeat axis).
        """
        rate = self.rate(X)
        rng = check_random_state(random_state)
        if n_repeats is None:
            return rng.poisson(rate).astype(np.float64)
        n_repeats = check_int("n_repeats", n_repeats)
        return rng.poisson(rate, size=(n_repeats, rate.size)).astype(np.float64)


@dataclass
class SimpleCell(SimulatedNeuron):
    """LN simple cell: ``rate = exp(gain * w.x + offset)`` or ``gain * max(0, w.x - offset)``.

    ``filter`` (h, w) is the receptive field ``w``; ``nonlinearity`` is ``"exp"`` (then the cell
    is exactly a Poisson GLM) or ``"relu"`` (a threshold-linear rectifier).

    Parameters
    ----------
    filter : ndarray
        The receptive field, shape (h, w).
    nonlinearity : {"exp", "relu"}, default "exp"
        The output nonlinearity.
    gain : float, default 1.0
        Scale of the linear drive.
    offset : float, default 0.0
        Added to the log-rate ("exp"), or the threshold subtracted from ``w.x`` ("relu", stimulus
        units).
    params : dict, default {}
        The Gabor parameters the neuron was built from, for reference.
    """

    filter: np.ndarray
    nonlinearity: str = "exp"
    gain: float = 1.0
    offset: float = 0.0

    def __post_init__(self):
        self.filter = check_array("filter", self.filter, ndim=2)
        check_choice("nonlinearity", self.nonlinearity, NONLINEARITIES)

    @property
    def patch_shape(self) -> tuple[int, int]:
        return self.filter.shape

    def drive(self, X) -> np.ndarray:
        """The linear stage ``w.x`` (stimulus units), shape (n,).

        Parameters
        ----------
        X : array_like
            Flattened stimuli, shape (n, h*w).
        """
        return _stimuli(X, self.filter.size) @ self.filter.ravel()

    def rate(self, X) -> np.ndarray:
        z = self.drive(X)
        if self.nonlinearity == "exp":
            return np.exp(self.gain * z + self.offset)
        return self.gain * np.maximum(z - self.offset, 0.0)


@dataclass
class ComplexCell(SimulatedNeuron):
    """Energy-model complex cell: ``rate = gain * ((w_even.x)^2 + (w_odd.x)^2) + baseline``.

    Parameters
    ----------
    even : ndarray
        The even filter of the quadrature pair, shape (h, w).
    odd : ndarray
        The odd filter of the quadrature pair, shape (h, w).
    gain : float, default 1.0
        Rate per unit of energy, spikes per bin per squared stimulus unit.
    baseline : float, default 0.0
        Rate without a stimulus, spikes per bin.
    params : dict, default {}
        The Gabor parameters the neuron was built from, for reference.
    """

    even: np.ndarray
    odd: np.ndarray
    gain: float = 1.0
    baseline: float = 0.0

    def __post_init__(self):
        self.even = check_array("even", self.even, ndim=2)
        self.odd = check_array("odd", self.odd, ndim=2)
        if self.even.shape != self.odd.shape:
            raise InputError(f"even {self.even.shape} and odd {self.odd.shape} filters must have the same shape")

    @property
    def patch_shape(self) -> tuple[int, int]:
        return self.even.shape

    def energy(self, X) -> np.ndarray:
        """The phase-invariant energy ``(w_even.x)^2 + (w_odd.x)^2`` (squared stimulus units).

        Parameters
        ----------
        X : array_like
            Flattened stimuli, shape (n, h*w).
        """
        X = _stimuli(X, self.even.size)
        return (X @ self.even.ravel()) ** 2 + (X @ self.odd.ravel()) ** 2

    def rate(self, X) -> np.ndarray:
        return self.gain * self.energy(X) + self.baseline


def make_simple_cell(X: ArrayLike, *, theta: float, freq: float, sigma: float, phase: float = 0.0, aspect: float = 1.0,
                     nonlinearity: str = "exp", mean_rate: float = 2.0, drive_std: float = 1.0,
                     threshold: float = 0.0, x0: float | None = None, y0: float | None = None) -> SimpleCell:
    """A simple cell with a Gabor receptive field, calibrated on stimuli ``X`` (n, p*p).

    ``x0``, ``y0``: the receptive field's centre in pixels (default: the patch centre).

    ``"exp"``: the gain makes the log-rate's standard deviation over ``X`` equal ``drive_std``
    and the offset makes the mean rate over ``X`` equal ``mean_rate`` (spikes/bin).
    ``"relu"``: the threshold is ``threshold`` standard deviations of ``w.x`` and the gain makes
    the mean rate ``mean_rate``.

    Parameters
    ----------
    X : array_like
        Calibration stimuli, shape (n, p*p).
    theta : float
        Direction across the bars, radians.
    freq : float
        Spatial frequency, cycles per pixel.
    sigma : float
        Envelope standard deviation across the bars, pixels.
    phase : float, default 0.0
        Phase of the Gabor at its centre, radians.
    aspect : float, default 1.0
        Envelope width along the bars over that across them.
    nonlinearity : {"exp", "relu"}, default "exp"
        The output nonlinearity.
    mean_rate : float, default 2.0
        Mean rate over ``X``, spikes per bin.
    drive_std : float, default 1.0
        Standard deviation of the log-rate over ``X`` ("exp" only).
    threshold : float, default 0.0
        Threshold in standard deviations of the drive ("relu" only).
    x0 : float or None, default None
        Centre column, pixels (None: the patch centre).
    y0 : float or None, default None
        Centre row, pixels (None: the patch centre).
    """
    X = check_array("X", X, ndim=2)
    size = int(round(np.sqrt(X.shape[1])))
    if size * size != X.shape[1]:
        raise InputError(f"X must hold flattened square patches, got {X.shape[1]} columns")
    check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    mean_rate = check_float("mean_rate", mean_rate, minimum=0.0, strict_minimum=True)
    drive_std = check_float("drive_std", drive_std, minimum=0.0, strict_minimum=True)
    params = dict(theta=theta, freq=freq, sigma=sigma, phase=phase, aspect=aspect, x0=x0, y0=y0)
    cell = SimpleCell(gabor(size, **params), nonlinearity, params=params)
    z = cell.drive(X)
    if nonlinearity == "exp":
        cell.gain = drive_std / z.std()
        cell.offset = float(np.log(mean_rate) - np.log(np.mean(np.exp(cell.gain * z))))
    else:
        cell.offset = check_float("threshold", threshold) * z.std()
        rectified = np.maximum(z - cell.offset, 0.0).mean()
        if rectified <= 0:
            raise InputError(f"threshold {threshold} silences the cell on every stimulus; use a lower one")
        cell.gain = mean_rate / rectified
    return cell


def make_complex_cell(X: ArrayLike, *, theta: float, freq: float, sigma: float, aspect: float = 1.0,
                      mean_rate: float = 2.0, baseline_fraction: float = 0.1, x0: float | None = None,
                      y0: float | None = None) -> ComplexCell:
    """An energy-model complex cell (a quadrature pair of Gabors) calibrated on stimuli ``X``;
    ``x0``, ``y0`` its centre in pixels (default: the patch centre).

    The baseline is ``baseline_fraction * mean_rate`` and the gain makes the mean rate over ``X``
    equal ``mean_rate`` (spikes/bin).

    Parameters
    ----------
    X : array_like
        Calibration stimuli, shape (n, p*p).
    theta : float
        Direction across the bars, radians.
    freq : float
        Spatial frequency, cycles per pixel.
    sigma : float
        Envelope standard deviation across the bars, pixels.
    aspect : float, default 1.0
        Envelope width along the bars over that across them.
    mean_rate : float, default 2.0
        Mean rate over ``X``, spikes per bin.
    baseline_fraction : float, default 0.1
        Baseline as a fraction of ``mean_rate``.
    x0 : float or None, default None
        Centre column, pixels (None: the patch centre).
    y0 : float or None, default None
        Centre row, pixels (None: the patch centre).
    """
    X = check_array("X", X, ndim=2)
    size = int(round(np.sqrt(X.shape[1])))
    if size * size != X.shape[1]:
        raise InputError(f"X must hold flattened square patches, got {X.shape[1]} columns")
    mean_rate = check_float("mean_rate", mean_rate, minimum=0.0, strict_minimum=True)
    fraction = check_float("baseline_fraction", baseline_fraction, minimum=0.0, maximum=1.0)
    params = dict(theta=theta, freq=freq, sigma=sigma, aspect=aspect, x0=x0, y0=y0)
    g = complex_gabor(size, theta=theta, freq=freq, sigma=sigma, aspect=aspect, x0=x0, y0=y0)
    cell = ComplexCell(g.real, g.imag, params=params)
    cell.baseline = fraction * mean_rate
    cell.gain = (mean_rate - cell.baseline) / cell.energy(X).mean()
    return cell
