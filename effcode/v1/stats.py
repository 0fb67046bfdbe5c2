"""Bootstrap confidence intervals for medians."""

from __future__ import annotations

import numpy as np

from ..validation import check_array, check_int

_MAX_CHUNK_ELEMENTS = 2_000_000


def bootstrap_median(values, n_bootstrap: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """Median of ``values`` with a 95 % percentile-bootstrap interval.

    Draws ``n_bootstrap`` resamples of ``len(values)`` values with replacement and returns
    ``(median, lo, hi)`` with ``lo`` / ``hi`` the 2.5th / 97.5th percentiles of the resampled
    medians (same units as ``values``; NaN values are refused: drop them first).
    """
    values = check_array("values", values, ndim=1)
    n_bootstrap = check_int("n_bootstrap", n_bootstrap)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    n = values.size
    chunk = max(1, _MAX_CHUNK_ELEMENTS // n)
    medians = np.empty(n_bootstrap)
    for start in range(0, n_bootstrap, chunk):
        stop = min(start + chunk, n_bootstrap)
        index = rng.integers(0, n, size=(stop - start, n))
        medians[start:stop] = np.median(values[index], axis=1)
    lo, hi = np.percentile(medians, [2.5, 97.5])
    return float(np.median(values)), float(lo), float(hi)
