"""Input checks, bounds and scores shared by the Gabor and DoG fits."""

from __future__ import annotations

import numpy as np
import torch

from ..errors import InputError
from ..validation import check_array

#: How far (as a fraction of the patch side) a fitted centre may lie outside the patch.
CENTRE_MARGIN = 0.25
#: Smallest envelope sigma, in pixels.
MIN_SIGMA = 0.5
#: Precision of the batched fits, on every device.  On a CPU float32 is about 1.6x faster than
#: float64; on 656 learned filters (ICA and sparse coding, 16x16) the r2 of float32 and float64
#: fits differed by 1e-9 in the median and 1e-5 at most, but for one filter (2e-3, a different
#: local optimum).  The residuals are O(1) after the unit-RMS scaling and the small normal
#: equations are solved with Marquardt scaling and damping; the final r2 is computed in float64.
FIT_DTYPE = torch.float32


def check_filters(filters, name: str = "filters") -> np.ndarray:
    """``filters`` as a float64 (K, h, w) array of finite values, with h, w >= 4."""
    arr = check_array(name, filters, ndim=3)
    if min(arr.shape[1:]) < 4:
        raise InputError(f"{name} must have shape (K, h, w) with h, w >= 4, got {arr.shape}")
    return arr


def centre_bounds(shape: tuple[int, int]) -> tuple[list[float], list[float]]:
    """Bounds on (x0, y0): up to ``CENTRE_MARGIN`` of a side outside the (h, w) patch."""
    h, w = shape
    return [-CENTRE_MARGIN * w, -CENTRE_MARGIN * h], [(w - 1) + CENTRE_MARGIN * w, (h - 1) + CENTRE_MARGIN * h]


def unit_rms(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Filters scaled to unit root-mean-square (all-zero filters left as they are), and the scales (K,)."""
    rms = np.sqrt((arr ** 2).mean(axis=(1, 2)))
    scale = np.where(rms > 0, rms, 1.0)
    return arr / scale[:, None, None], scale


def r_squared(filters: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """Variance explained, 1 - SSE / SS_total, with SS_total about each filter's mean (K,); NaN if flat."""
    k = filters.shape[0]
    flat = filters.reshape(k, -1)
    sse = ((flat - fitted.reshape(k, -1)) ** 2).sum(1)
    sst = ((flat - flat.mean(1, keepdims=True)) ** 2).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sst > 0, 1.0 - sse / sst, np.nan)
