"""Phase manipulations that keep an image's amplitude spectrum, and sinusoidal gratings.

Two manipulations, both multiplying the 2-D discrete Fourier transform ``F(k)`` of each image
by a unit-modulus factor ``exp(i phi(k))`` with ``phi(-k) = -phi(k)`` (so the result is real and
``|F(k)|`` is unchanged):

* :func:`phase_scramble`: ``phi(k)`` independent and uniform on the circle for every pair
  ``(k, -k)`` - the global phase structure (edges, contours) is destroyed;
* :func:`local_phase_shift`: ``phi(k) = angle * sign(k . u)`` for a direction ``u`` - every
  Fourier component on one side of the line ``k . u = 0`` is advanced by the same ``angle``
  and its mirror delayed by it.  Because the factor is a convolution (shift invariant), every
  *local* oriented component of the image along ``u`` has its phase shifted by ``angle`` while
  its local amplitude (envelope) is kept: ``x -> cos(angle) x + sin(angle) H_u x`` with ``H_u``
  the Hilbert transform along ``u``.  This is the manipulation to which an energy model whose
  quadrature pair is tuned to direction ``u`` is exactly invariant (see ``docs/mechanisms.md``).

Frequencies that are their own mirror image (``k = -k`` modulo the grid: the mean and the
Nyquist frequencies) keep their phase, so the image mean is preserved exactly.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..data import Image
from ..errors import InputError
from ..validation import check_array, check_float, check_int, check_random_state, seed_alias


def _images(name: str, x) -> np.ndarray:
    x = check_array(name, x, ndim=None)
    if x.ndim < 2 or min(x.shape[-2:]) < 2:
        raise InputError(f"{name} must be an image (h, w) or a stack (..., h, w) with h, w >= 2, got {x.shape}")
    return x


def _mirror(a: np.ndarray) -> np.ndarray:
    """``a`` at the mirror frequency ``-k`` (modulo the grid) of every DFT index ``k`` (last two axes)."""
    return np.roll(np.flip(a, axis=(-2, -1)), shift=(1, 1), axis=(-2, -1))


def _apply_phase(x: np.ndarray, phi: np.ndarray) -> np.ndarray:
    return np.fft.ifft2(np.fft.fft2(x) * np.exp(1j * phi)).real


@seed_alias
def phase_scramble(x: ArrayLike, random_state: int | np.random.Generator = 0) -> np.ndarray:
    """Images with the amplitude spectrum of ``x`` and uniformly random Fourier phases.

    ``x``: (h, w) or (..., h, w); each image gets its own random phases.  The random phase of
    frequency ``k`` is ``u(k) - u(-k)`` with ``u`` i.i.d. uniform on [-pi, pi): antisymmetric by
    construction, uniform on the circle.  Returns float64 images of the same shape and units.

    Parameters
    ----------
    x : array_like
        Images, shape (h, w) or (..., h, w).
    random_state : int or numpy.random.Generator, default 0
        Seed of the random phases.
    """
    x = _images("x", x)
    u = check_random_state(random_state).uniform(-np.pi, np.pi, size=x.shape)
    return _apply_phase(x, u - _mirror(u))


def direction_sign(shape: tuple[int, int], theta: float) -> np.ndarray:
    """``sign(k · u)`` on the DFT grid of ``shape`` for ``u = (cos theta, sin theta)`` (x = column,
    y = row), made exactly antisymmetric (``s(-k) = -s(k)``; 0 on the line ``k · u = 0`` and
    on self-mirrored frequencies).

    Parameters
    ----------
    shape : tuple of int
        The (h, w) of the DFT grid.
    theta : float
        The direction, radians.
    """
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    s = np.sign(fx * np.cos(theta) + fy * np.sin(theta))
    return (s - _mirror(s)) / 2


def local_phase_shift(x: ArrayLike, angle: ArrayLike, theta: float) -> np.ndarray:
    """Shift the phase of every local Fourier component along direction ``theta`` by ``angle``.

    ``x``: (h, w) or (n, h, w); ``angle`` (radians): a scalar, or one angle per image (n,);
    ``theta`` (radians): the direction ``u = (cos theta, sin theta)`` across the bars of the
    components to shift (for a neuron, its preferred orientation in the convention of
    :mod:`effcode.gabor`).  Multiplies the spectrum by ``exp(i angle sign(k . u))``: the amplitude
    spectrum is unchanged and ``angle = 0`` is the identity.  Returns float64 images.

    Parameters
    ----------
    x : array_like
        Images, shape (h, w) or (n, h, w).
    angle : array_like
        The phase shift, radians: a scalar or one per image.
    theta : float
        Direction of the components to shift, radians.
    """
    x = _images("x", x)
    theta = check_float("theta", theta)
    angle = check_array("angle", angle, ndim=(0, 1))
    if angle.ndim == 1:
        if x.ndim != 3 or angle.shape[0] != x.shape[0]:
            raise InputError(f"angle must be a scalar or have one value per image ({x.shape[:-2]}), "
                             f"got shape {angle.shape}")
        angle = angle[:, None, None]
    return _apply_phase(x, angle * direction_sign(x.shape[-2:], theta))


def gratings(size: int, theta: ArrayLike, freq: ArrayLike, phase: ArrayLike, contrast: float = 1.0) -> np.ndarray:
    """Sinusoidal gratings ``contrast * cos(2 pi freq x' + phase)``, shape (..., size, size).

    ``x'`` is the coordinate across the bars (direction ``theta``) from the patch centre;
    ``theta``, ``freq`` (cycles/pixel) and ``phase`` broadcast against each other.

    Parameters
    ----------
    size : int
        Side of the square patch, pixels.
    theta : array_like
        Direction across the bars, radians.
    freq : array_like
        Spatial frequency, cycles per pixel.
    phase : array_like
        Phase at the patch centre, radians.
    contrast : float, default 1.0
        Amplitude of the cosine.
    """
    size = check_int("size", size, minimum=2)
    contrast = check_float("contrast", contrast, minimum=0.0)
    theta, freq, phase = (np.asarray(v, dtype=np.float64)[..., None, None] for v in (theta, freq, phase))
    c = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) - c
    across = x * np.cos(theta) + y * np.sin(theta)
    return contrast * np.cos(2 * np.pi * freq * across + phase)


def preferred_grating(response: Callable[[np.ndarray], np.ndarray], size: int, *, freqs: Sequence[float],
                      n_orientations: int = 36, n_phases: int = 8, contrast: float = 1.0) -> dict[str, np.ndarray]:
    """Preferred orientation and spatial frequency of one or many units, measured with gratings.

    ``response``: a callable mapping stimuli (n, size*size) to responses (n,) or (n, K).
    Each unit's tuning is its response averaged over ``n_phases`` equally spaced phases, on a
    grid of ``n_orientations`` orientations in [0, pi) and the frequencies ``freqs``
    (cycles/pixel).  Returns ``theta`` (radians) and ``freq`` (cycles/pixel) of the maximum,
    each of shape (K,), and ``tuning`` (K, n_orientations, n_freqs).

    Parameters
    ----------
    response : callable
        Maps stimuli (n, size*size) to responses (n,) or (n, K).
    size : int
        Side of the square gratings, pixels.
    freqs : sequence of float
        Grating frequencies, cycles per pixel.
    n_orientations : int, default 36
        How many equally spaced orientations in [0, pi) (the direction across the bars).
    n_phases : int, default 8
        Equally spaced phases the response is averaged over.
    contrast : float, default 1.0
        Grating amplitude, as in :func:`gratings`.
    """
    n_orientations = check_int("n_orientations", n_orientations, minimum=2)
    n_phases = check_int("n_phases", n_phases, minimum=1)
    freqs = check_array("freqs", freqs, ndim=1)
    thetas = np.arange(n_orientations) * np.pi / n_orientations
    phases = np.arange(n_phases) * 2 * np.pi / n_phases
    t, f, p = np.meshgrid(thetas, freqs, phases, indexing="ij")
    stimuli = gratings(size, t.ravel(), f.ravel(), p.ravel(), contrast).reshape(t.size, -1)
    r = np.asarray(response(stimuli), dtype=np.float64)
    r = r.reshape(t.size, -1).T.reshape(-1, n_orientations, freqs.size, n_phases).mean(axis=-1)
    best = r.reshape(r.shape[0], -1).argmax(axis=1)
    i, j = np.unravel_index(best, (n_orientations, freqs.size))
    return {"theta": thetas[i], "freq": freqs[j], "tuning": r}


@seed_alias
def natural_patches(images: Sequence[Image | np.ndarray], patch_size: int, n: int, *, random_state: int = 0,
                    min_variance: float = 0.1) -> np.ndarray:
    """Contrast-normalised patches of whitened natural images: the stimuli of the encoding experiments.

    The images are whitened with :func:`effcode.data.whiten_images` (Olshausen-Field filter,
    unit variance), ``n`` patches are drawn by :class:`effcode.data.PatchSampler` (rejecting
    near-flat ones with ``min_variance``), and each patch has its mean removed and is divided by
    its standard deviation (unit RMS contrast), a stand-in for the contrast normalisation of the
    early visual pathway that keeps the rates of the simulated neurons in a realistic range.
    Returns (n, patch_size**2) float64; every row has mean 0 and variance 1.

    Parameters
    ----------
    images : sequence of Image or ndarray
        The natural images.
    patch_size : int
        Side of the square patches, pixels.
    n : int
        How many patches to draw.
    random_state : int, default 0
        Seed of the patch positions.
    min_variance : float, default 0.1
        Fraction of the mean patch variance below which a patch is redrawn (flat patches).
    """
    from ..data import PatchSampler, whiten_images

    sampler = PatchSampler(whiten_images(images), patch_size, random_state=random_state, min_variance=min_variance)
    x = sampler.sample(n).astype(np.float64)
    x -= x.mean(axis=1, keepdims=True)
    return x / x.std(axis=1, keepdims=True)
