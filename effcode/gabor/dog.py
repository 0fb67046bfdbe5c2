"""Batched least-squares fits of a concentric difference of Gaussians (centre-surround)."""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import ArrayLike
import torch

from ..validation import check_int, resolve_device
from .common import FIT_DTYPE, MIN_SIGMA, centre_bounds, check_filters, r_squared, unit_rms
from .lm import Box, multistart, single_threaded
from .model import dog, pixel_grid
from .starts import dog_starts

DOG_COLUMNS = ("r2", "x0", "y0", "sigma_center", "sigma_surround", "amp_center", "amp_surround")

#: Range of the surround / centre sigma ratio.  Near 1 the difference degenerates into a radial
#: derivative of one Gaussian with diverging amplitudes, which is no centre-surround profile.
MIN_RATIO, MAX_RATIO = 1.25, 8.0


def dog_bounds(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Bounds (6,) of the DoG parameters: centre as for the Gabor, sigma_c in [0.5, max(h, w)] px,
    surround/centre ratio in [1.25, 8], amplitudes free."""
    lo, hi = centre_bounds(shape)
    return (np.array(lo + [MIN_SIGMA, MIN_RATIO, -np.inf, -np.inf]),
            np.array(hi + [max(shape), MAX_RATIO, np.inf, np.inf]))


def fit_dogs(filters: ArrayLike, *, device: str | torch.device = "cpu", n_iter: int = 40, progress: bool | None = None
            ) -> dict[str, np.ndarray]:
    """Least-squares concentric DoG fit of every filter of a (K, h, w) bank, all at once.

    For each filter h, minimises ``sum over pixels (h - g)^2`` with
    ``g = amp_center exp(-r^2 / 2 sigma_center^2) - amp_surround exp(-r^2 / 2 sigma_surround^2)``,
    r the distance to (x0, y0), using the batched Levenberg-Marquardt of :mod:`lm` from the
    starts of :func:`starts.dog_starts`.

    Returns a dict of length-K arrays: ``r2`` (variance explained about the filter mean),
    ``x0``, ``y0`` (pixels), ``sigma_center`` <= ``sigma_surround`` (pixels, ratio <= 8),
    ``amp_center``, ``amp_surround`` (filter units; a centre-surround cell has both of one sign).
    Computation in float32; on a CPU torch runs single-threaded during the call.

    Parameters
    ----------
    filters : array_like
        The filter bank, shape (K, h, w).
    device : str or torch.device, default "cpu"
        Where the fit runs ("cpu", "cuda").
    n_iter : int, default 40
        The most Levenberg-Marquardt iterations per filter: the first ``n_iter // 3`` on every
        start, the rest on the best one.
    progress : bool or None, default None
        Whether to draw a tqdm bar (None: only on a terminal).
    """
    arr = check_filters(filters)
    n_iter = check_int("n_iter", n_iter, minimum=0)
    dev = resolve_device(device)
    with single_threaded(dev):
        return _fit(arr, dev, n_iter, progress)


def _fit(arr: np.ndarray, dev: torch.device, n_iter: int, progress: bool | None) -> dict[str, np.ndarray]:
    dtype = FIT_DTYPE
    k, h, w = arr.shape
    unit, scale = unit_rms(arr)
    lo, hi = dog_bounds((h, w))
    starts = dog_starts(unit, (lo, hi))
    x, y = pixel_grid((h, w), device=dev, dtype=dtype)
    box = Box(torch.as_tensor(lo, dtype=dtype, device=dev), torch.as_tensor(hi, dtype=dtype, device=dev))
    params, _ = multistart(functools.partial(dog, x=x, y=y), box,
                           torch.as_tensor(unit.reshape(k, -1), dtype=dtype, device=dev),
                           torch.as_tensor(starts, dtype=dtype, device=dev), n_iter,
                           n_explore=max(1, n_iter // 3), progress=progress, desc="DoG fit")
    params = params.detach().cpu().to(torch.float64)
    params[:, 4:] *= torch.from_numpy(scale)[:, None]
    p = params.numpy()
    return {
        "r2": r_squared(arr, dog(params, *pixel_grid((h, w))).numpy()), "x0": p[:, 0], "y0": p[:, 1],
        "sigma_center": p[:, 2], "sigma_surround": p[:, 2] * p[:, 3], "amp_center": p[:, 4],
        "amp_surround": p[:, 5],
    }
