"""Batched least-squares Gabor fits of a bank of filters, and the table of derived properties."""

from __future__ import annotations

import functools
import math
from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike
import torch

from ..errors import InputError
from ..validation import check_int, resolve_device
from .common import FIT_DTYPE, MIN_SIGMA, centre_bounds, check_filters, r_squared, unit_rms
from .dog import fit_dogs
from .lm import Box, multistart, single_threaded
from .model import BANDWIDTH_CONSTANT, gabor, gabor_from_table, pixel_grid
from .starts import GABOR_START_PLAN, gabor_starts

#: Columns of the table returned by :func:`fit_gabors`, in order.
GABOR_COLUMNS = ("r2", "x0", "y0", "theta", "freq", "phase", "sigma_x", "sigma_y", "amplitude", "nx", "ny",
                 "aspect_ratio", "sf_bandwidth_oct", "ori_bandwidth_deg", "phase_folded", "envelope_inside",
                 "failed", "lowpass", "off_patch", "dog_r2", "globular")

#: A filter is globular only if its Gabor envelope is rounder than this (max/min sigma).
GLOBULAR_MAX_ELONGATION = 3.0


def gabor_bounds(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds (8,) of the Gabor parameters for an (h, w) patch.

    Centre within ``CENTRE_MARGIN`` of a side outside the patch; frequency in [0, 0.5]
    cycles/pixel; sigmas in [0.5, max(h, w)] pixels; theta and the amplitudes free.

    Parameters
    ----------
    shape : tuple of int
        The patch's (h, w) in pixels.
    """
    side = max(shape)
    lo, hi = centre_bounds(shape)
    return (np.array(lo + [-np.inf, 0.0, MIN_SIGMA, MIN_SIGMA, -np.inf, -np.inf]),
            np.array(hi + [np.inf, 0.5, side, side, np.inf, np.inf]))


def fit_gabors(filters: ArrayLike, *, device: str | torch.device = "cpu", n_starts: int = 4, n_iter: int = 60,
               progress: bool | None = None, dog: bool = True) -> dict[str, np.ndarray]:
    """Least-squares Gabor fit of every filter of a (K, h, w) bank, all at once.

    For each filter h, minimises over the parameters of the Ringach (2002) Gabor g (see
    :mod:`effcode.gabor.model`)::

        sum over pixels (h(x, y) - g(x, y))^2

    with a batched Levenberg-Marquardt (analytic Jacobian) from ``n_starts`` starting points
    per filter (spectral peaks and energy moments, :func:`starts.gabor_starts`), keeping the
    best.  Bounds: centre within 25% of a side outside the patch, freq in [0, 0.5] c/px,
    sigmas in [0.5, max(h, w)] px.

    Computation in float32 (see :data:`common.FIT_DTYPE`); on a CPU torch runs single-threaded
    during the call (see :func:`lm.single_threaded`).

    Returns a dict of length-K numpy arrays (a table for :func:`effcode.runs.write_csv`):

    - ``r2``: variance explained, 1 - SSE / sum (h - mean h)^2;
    - ``x0``, ``y0``: envelope centre, pixels (x = column, y = row, 0 = centre of top-left pixel);
    - ``theta``: direction across the bars, radians in [0, pi);
    - ``freq``: cycles/pixel; ``phase``: radians in (-pi, pi] (0 = even, positive centre);
    - ``sigma_x`` (across the bars), ``sigma_y`` (along), pixels; ``amplitude`` (>= 0, filter units);
    - ``nx = sigma_x * freq``, ``ny = sigma_y * freq`` (cycles); ``aspect_ratio = sigma_y / sigma_x``;
    - ``sf_bandwidth_oct = log2((nx + c) / (nx - c))`` octaves (NaN when nx <= c),
      ``ori_bandwidth_deg = 2 atan(c / ny)`` degrees, c = sqrt(2 ln 2) / (2 pi);
    - ``phase_folded = arccos(|cos phase|)`` in [0, pi/2]: 0 even, pi/2 odd;
    - ``envelope_inside``: fraction of the envelope's energy (integral of E^2) inside the patch;
    - flags ``failed`` (non-finite fit or r2 < 0), ``lowpass`` (nx <= c),
      ``off_patch`` (centre outside the patch or envelope_inside < 0.5);
    - ``dog_r2``: r2 of the concentric DoG fit; ``globular``: dog_r2 > r2 and the envelope's
      elongation max(sigma_x, sigma_y) / min(sigma_x, sigma_y) < 3 (a centre-surround blob;
      a plain Gaussian blob is fitted equally well by both and shows as ``lowpass``).

    Parameters
    ----------
    filters : array_like
        The filter bank, shape (K, h, w).
    device : str or torch.device, default "cpu"
        Where the fit runs ("cpu", "cuda").
    n_starts : int, default 4
        Starting points per filter, 1 to 6 (spectral peaks and energy moments), the best one kept.
    n_iter : int, default 60
        The most Levenberg-Marquardt iterations per filter: the first ``n_iter // 3`` on every
        start, the rest on the best one; a fit stops early once it has converged.
    progress : bool or None, default None
        Whether to draw tqdm bars (None: whenever standard error is a terminal; False: never;
        :mod:`effcode.progress`).
    dog : bool, default True
        Whether to fit a concentric difference of Gaussians as well (:func:`fit_dogs`), for the
        ``dog_r2`` and ``globular`` columns (NaN and False when off).
    """
    arr = check_filters(filters)
    n_starts = check_int("n_starts", n_starts, minimum=1, maximum=len(GABOR_START_PLAN))
    n_iter = check_int("n_iter", n_iter, minimum=0)
    dev = resolve_device(device)
    with single_threaded(dev):
        table = _fit(arr, dev, n_starts, n_iter, progress)
        table["dog_r2"] = fit_dogs(arr, device=dev, progress=progress)["r2"] if dog else np.full(len(arr), np.nan)
    elongation = np.maximum(table["sigma_x"], table["sigma_y"]) / np.minimum(table["sigma_x"], table["sigma_y"])
    table["globular"] = (table["dog_r2"] > table["r2"]) & (elongation < GLOBULAR_MAX_ELONGATION)
    return {name: table[name] for name in GABOR_COLUMNS}


def _fit(arr: np.ndarray, dev: torch.device, n_starts: int, n_iter: int,
         progress: bool | None) -> dict[str, np.ndarray]:
    """The Gabor fit proper: the table of :func:`fit_gabors` without the DoG columns."""
    dtype = FIT_DTYPE
    k, h, w = arr.shape
    unit, scale = unit_rms(arr)      # the fit is scale invariant; unit RMS keeps the damping comparable
    lo, hi = gabor_bounds((h, w))
    starts = gabor_starts(unit, n_starts, (lo, hi))
    x, y = pixel_grid((h, w), device=dev, dtype=dtype)
    box = Box(torch.as_tensor(lo, dtype=dtype, device=dev), torch.as_tensor(hi, dtype=dtype, device=dev))
    target = torch.as_tensor(unit.reshape(k, -1), dtype=dtype, device=dev)
    fitted, _ = multistart(functools.partial(gabor, x=x, y=y), box, target,
                           torch.as_tensor(starts, dtype=dtype, device=dev), n_iter,
                           n_explore=max(1, n_iter // 3), progress=progress, desc="Gabor fit")
    params = fitted.detach().cpu().numpy().astype(np.float64)
    params[:, 6:] *= scale[:, None]
    table = gabor_table(params, (h, w))
    table["r2"] = r_squared(arr, gabor_from_table(table, (h, w)))
    table["failed"] = ~np.all(np.isfinite(params), axis=1) | ~(table["r2"] >= 0)
    return table


def gabor_table(params: np.ndarray, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Canonical parameters and derived properties from raw parameters (K, 8) (no r2 / DoG columns)."""
    x0, y0, theta, freq, sx, sy, a, b = params.T
    amplitude = np.hypot(a, b)
    phase = np.arctan2(b, a)
    # theta and theta + pi describe the same Gabor with the phase negated.
    turns = np.floor(theta / np.pi)
    theta = theta - turns * np.pi
    phase = np.where(np.mod(turns, 2) == 1, -phase, phase)
    phase = np.where(phase <= -np.pi, phase + 2 * np.pi, phase)
    c = BANDWIDTH_CONSTANT
    nx, ny = sx * freq, sy * freq
    with np.errstate(divide="ignore", invalid="ignore"):
        sf_bw = np.where(nx > c, np.log2((nx + c) / (nx - c)), np.nan)
        ori_bw = np.degrees(2.0 * np.arctan(c / ny))
        aspect = sy / sx
    inside = envelope_inside(x0, y0, theta, sx, sy, shape)
    h, w = shape
    centre_out = (x0 < -0.5) | (x0 > w - 0.5) | (y0 < -0.5) | (y0 > h - 0.5)
    return {
        "x0": x0, "y0": y0, "theta": theta, "freq": freq, "phase": phase, "sigma_x": sx, "sigma_y": sy,
        "amplitude": amplitude, "nx": nx, "ny": ny, "aspect_ratio": aspect, "sf_bandwidth_oct": sf_bw,
        "ori_bandwidth_deg": ori_bw, "phase_folded": np.arccos(np.clip(np.abs(np.cos(phase)), 0.0, 1.0)),
        "envelope_inside": inside, "lowpass": ~(nx > c), "off_patch": centre_out | ~(inside >= 0.5),
    }


def envelope_inside(x0, y0, theta, sx, sy, shape: tuple[int, int], oversample: int = 4) -> np.ndarray:
    """Fraction of the integral of the squared envelope E^2 that falls on the (h, w) patch.

    The patch integral is a midpoint sum on a grid ``oversample`` times finer than the pixels
    (covering [-0.5, w - 0.5] x [-0.5, h - 0.5]); the full integral is pi sigma_x sigma_y.
    """
    h, w = shape
    step = 1.0 / oversample
    ys, xs = np.meshgrid(np.arange(h * oversample) * step - 0.5 + step / 2,
                         np.arange(w * oversample) * step - 0.5 + step / 2, indexing="ij")
    xs, ys = xs.reshape(-1), ys.reshape(-1)
    out = np.empty(len(x0))
    for i in range(0, len(x0), 256):                      # chunks bound the memory use
        sl = slice(i, i + 256)
        dx, dy = xs - x0[sl, None], ys - y0[sl, None]
        ct, st = np.cos(theta[sl])[:, None], np.sin(theta[sl])[:, None]
        xp, yp = dx * ct + dy * st, dy * ct - dx * st
        e2 = np.exp(-(xp / sx[sl, None]) ** 2 - (yp / sy[sl, None]) ** 2)
        out[sl] = e2.sum(1) * step * step / (math.pi * sx[sl] * sy[sl])
    return np.clip(out, 0.0, 1.0)


def render_gabors(table: Mapping[str, np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """The fitted Gabors of a :func:`fit_gabors` table evaluated on an (h, w) grid: (K, h, w) float64.

    Parameters
    ----------
    table : mapping of str to ndarray
        A fit table holding at least the eight Gabor columns.
    shape : tuple of int
        The grid's (h, w) in pixels.
    """
    if not (isinstance(shape, (tuple, list)) and len(shape) == 2 and all(isinstance(s, (int, np.integer))
                                                                       and s > 0 for s in shape)):
        raise InputError(f"shape must be a pair of positive integers (h, w), got {shape!r}")
    missing = [c for c in ("x0", "y0", "theta", "freq", "sigma_x", "sigma_y", "amplitude", "phase")
               if c not in table]
    if missing:
        raise InputError(f"table is missing the Gabor column(s) {', '.join(missing)}")
    return gabor_from_table(table, (int(shape[0]), int(shape[1])))
