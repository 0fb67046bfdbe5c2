"""Bootstrap confidence intervals for medians."""

from __future__ import annotations

import math

import numpy as np

from ..validation import check_array, check_int

_MAX_CHUNK_ELEMENTS = 2_000_000


def median_interval(values: np.ndarray, n_bootstrap: int, rng: np.random.Generator) -> dict:
    """Median of ``values`` with its 95% percentile-bootstrap interval and the bootstrap SE.

    Returns ``value``, ``lo``, ``hi`` (2.5th / 97.5th percentiles of the medians of ``n_bootstrap``
    resamples with replacement) and ``se`` (their SD), in the units of ``values``; all NaN when
    ``values`` is empty.
    """
    n = values.size
    if n == 0:
        return {"value": math.nan, "lo": math.nan, "hi": math.nan, "se": math.nan}
    chunk = max(1, _MAX_CHUNK_ELEMENTS // n)
    medians = np.empty(n_bootstrap)
    for start in range(0, n_bootstrap, chunk):
        stop = min(start + chunk, n_bootstrap)
        medians[start:stop] = np.median(values[rng.integers(0, n, size=(stop - start, n))], axis=1)
    lo, hi = np.percentile(medians, [2.5, 97.5])
    return {"value": float(np.median(values)), "lo": float(lo), "hi": float(hi),
            "se": float(medians.std(ddof=1)) if n_bootstrap > 1 else math.nan}


def bootstrap_median(values, n_bootstrap: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """``(median, lo, hi)`` of ``values`` with a 95 % percentile-bootstrap interval
    (:func:`median_interval` seeded with ``seed``; NaN values are refused: drop them first)."""
    values = check_array("values", values, ndim=1)
    n_bootstrap = check_int("n_bootstrap", n_bootstrap)
    out = median_interval(values, n_bootstrap, np.random.default_rng(check_int("seed", seed, minimum=0)))
    return out["value"], out["lo"], out["hi"]
