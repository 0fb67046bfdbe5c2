"""Bootstrap confidence intervals for medians, and the floor of permutation p-values.

A permutation test with B random permutations returns p = (1 + #{null >= observed}) / (B + 1), so
its smallest possible value, the *floor*, is 1 / (B + 1).  Under Holm's correction over m tests
the smallest p is multiplied by m, so no test can be rejected at level alpha unless
m / (B + 1) < alpha: with B = 200 and 5 seeds the corrected floor is 0.025, with 11 seeds 0.055.
:func:`permutations_for` gives the B that keeps the corrected floor a stated factor below alpha;
:func:`format_p` writes a p at the floor as the bound it is.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from ..validation import check_array, check_float, check_int, seed_alias

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


@seed_alias
def bootstrap_median(values: ArrayLike, n_bootstrap: int = 1000, random_state: int = 0) -> tuple[float, float, float]:
    """``(median, lo, hi)`` of ``values`` with a 95 % percentile-bootstrap interval
    (:func:`median_interval` seeded with ``random_state``; NaN values are refused: drop them first).

    Parameters
    ----------
    values : array_like
        The sample, free of NaN.
    n_bootstrap : int, default 1000
        Bootstrap resamples.
    random_state : int, default 0
        Seed of the resamples.
    """
    values = check_array("values", values, ndim=1)
    n_bootstrap = check_int("n_bootstrap", n_bootstrap)
    rng = np.random.default_rng(check_int("random_state", random_state, minimum=0))
    out = median_interval(values, n_bootstrap, rng)
    return out["value"], out["lo"], out["hi"]


def permutations_for(n_tests: int, *, level: float = 0.05, margin: float = 4.0) -> int:
    """Fewest permutations B whose Holm-corrected floor over ``n_tests`` tests is ``margin`` times
    below ``level``: n_tests / (B + 1) <= level / margin, i.e. B = ceil(margin n_tests / level) - 1.

    E.g. 5 seeds: 399; 11 seeds: 879; 25 seeds: 1999 (the scorer's default).

    Parameters
    ----------
    n_tests : int
        How many tests the Holm correction covers.
    level : float, default 0.05
        The family-wise significance level.
    margin : float, default 4.0
        How many times below ``level`` the corrected floor must lie.
    """
    n_tests = check_int("n_tests", n_tests)
    level = check_float("level", level, minimum=0.0, maximum=1.0, strict_minimum=True)
    margin = check_float("margin", margin, minimum=1.0)
    return int(math.ceil(round(margin * n_tests / level, 9))) - 1


def format_p(p: float, p_floor: float | None = None, *, digits: int = 2) -> str:
    """A p-value as text: ``"p < 1/2000"`` where ``p`` equals the permutation floor ``p_floor`` =
    1 / (B + 1) (the test cannot say more), else ``"p = 0.013"`` (``digits`` significant digits,
    ``"p < 0.001"`` below 0.001 for exact tests); ``"p = –"`` for NaN.

    Parameters
    ----------
    p : float
        The p-value.
    p_floor : float or None, default None
        The smallest p-value the test can return (None: an exact test).
    digits : int, default 2
        Significant digits shown.
    """
    if p is None or not math.isfinite(p):
        return "p = –"
    if p_floor is not None and p <= p_floor * (1 + 1e-9):
        return f"p < 1/{round(1 / p_floor)}"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.{digits}g}"
