"""Statistics across seeds: intervals, paired comparisons and equivalence tests.

A learner trained with several seeds gives one value of a statistic per seed (a median R²,
an nx–ny distance, ...). These functions summarise such values and compare two settings
that were run with the same seeds.  Every interval of a mean is a 95% Student-t interval over
seeds: with n seeds it has n − 1 degrees of freedom, so three seeds give wide intervals, and the
width is the honest statement of what three seeds can show.  Each seed learns from its own random
subset of the images (:func:`effcode.data.seed_images`), so the spread over seeds includes the
variation over images, not only initialisation and patch order.

A paired comparison reports its standardised effect d_z only with its exact 95% interval (the
noncentral-t interval, :func:`dz_interval`): from three seeds a d_z of 59 is compatible with
anything from about 9 to 113.  A difference that is the same in every seed has no spread, so
neither a p-value nor d_z exists; it is flagged (``constant``) to be said in words, never as
p = 0 or d_z = ∞.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats as _st
from scipy.optimize import brentq

from .errors import InputError
from .validation import check_int

#: confidence level of every interval in this module
LEVEL = 0.95


def _values(name: str, values) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} must hold finite numbers (one per seed), got {arr.tolist()}")
    return arr


def seed_interval(values: Sequence[float]) -> dict:
    """Mean of per-seed values with its 95% t-interval.

    Returns ``mean``, ``lo``, ``hi``, ``sd`` (sample SD, ddof 1) and ``n``.  One value gives an
    interval of NaN (no spread can be estimated); NaN inputs (a seed without a value) are
    dropped and counted out of ``n``.
    """
    arr = np.asarray(values, dtype=np.float64).ravel()
    arr = arr[np.isfinite(arr)]
    n = int(arr.size)
    if n == 0:
        return {"mean": math.nan, "lo": math.nan, "hi": math.nan, "sd": math.nan, "n": 0}
    mean = float(arr.mean())
    if n == 1:
        return {"mean": mean, "lo": math.nan, "hi": math.nan, "sd": math.nan, "n": 1}
    sd = float(arr.std(ddof=1))
    half = float(_st.t.ppf(0.5 + LEVEL / 2, n - 1)) * sd / math.sqrt(n)
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "sd": sd, "n": n}


def paired_test(a: Sequence[float], b: Sequence[float]) -> dict:
    """Paired comparison of two settings run with the same seeds (``a[i]`` and ``b[i]`` share seed i).

    With the differences d_i = a_i − b_i (i = 1..n), their mean d̄ and sample SD s (ddof 1):

    * ``difference`` = d̄, with its 95% t-interval ``lo``/``hi`` = d̄ ± t_{0.975, n−1} · s / √n;
    * ``p_value``: two-sided paired t-test, t = d̄ / (s / √n) on n − 1 degrees of freedom;
    * ``cohens_dz`` = d̄ / s, Cohen's d_z, with its exact 95% interval ``dz_lo``/``dz_hi``
      (:func:`dz_interval`);
    * ``wins_a``: the number of seeds where a < b; ``n``: the number of pairs;
    * ``constant``: True when every seed gives the same difference (s = 0 up to rounding): then
      there is no p-value and no d_z (all NaN), and the result must be said in words ("identical in
      every seed" when d̄ = 0, "differs by the same amount in every seed" otherwise).

    Fewer than two pairs give NaN statistics and ``constant`` False.
    """
    first, second = _values("a", a), _values("b", b)
    if first.size != second.size:
        raise InputError(f"a and b must pair up seed by seed, got {first.size} and {second.size} values")
    d = first - second
    n = int(d.size)
    out = {"difference": float(d.mean()) if n else math.nan, "n": n, "wins_a": int(np.sum(d < 0))}
    untested = {"p_value": math.nan, "cohens_dz": math.nan, "dz_lo": math.nan, "dz_hi": math.nan}
    if n < 2:
        return {**out, "lo": math.nan, "hi": math.nan, **untested, "constant": False}
    rounding = 4 * np.finfo(np.float64).eps * float(max(np.abs(first).max(), np.abs(second).max()))
    if np.ptp(d) <= rounding:
        return {**out, "difference": float(d[0]), "lo": float(d[0]), "hi": float(d[0]), **untested,
                "constant": True}
    interval = seed_interval(d)
    sd = interval["sd"]
    t = out["difference"] / (sd / math.sqrt(n))
    dz = out["difference"] / sd
    dz_lo, dz_hi = dz_interval(dz, n)
    return {**out, "lo": interval["lo"], "hi": interval["hi"], "p_value": float(2 * _st.t.sf(abs(t), n - 1)),
            "cohens_dz": float(dz), "dz_lo": dz_lo, "dz_hi": dz_hi, "constant": False}


def dz_interval(dz: float, n: int) -> tuple[float, float]:
    """Exact 95% confidence interval of the standardised mean difference δ = μ_d / σ_d from an observed
    Cohen's d_z = d̄ / s of ``n`` normal paired differences.

    The paired t statistic T = d̄ / (s / √n) = d_z √n follows a noncentral t distribution with n − 1
    degrees of freedom and noncentrality λ = δ √n.  Its CDF at the observed t falls as λ grows, so the
    interval inverts it (Steiger & Fouladi 1997, in *What if there were no significance tests?*;
    Cumming & Finch 2001, Educ Psychol Meas 61:532): λ_lo solves F(t; n − 1, λ_lo) = 0.975 and λ_hi
    solves F(t; n − 1, λ_hi) = 0.025, and the interval is [λ_lo / √n, λ_hi / √n].  It covers δ in 95%
    of samples when the differences are normal.  With three seeds it is wide: d_z = 5 gives about
    [0.6, 9.7].
    """
    n = check_int("n", n, minimum=2)
    if not math.isfinite(dz):
        raise InputError(f"dz must be a finite number, got {dz!r}")
    t, df = dz * math.sqrt(n), n - 1
    tail = (1 - LEVEL) / 2
    limits = [_noncentrality(t, df, probability) / math.sqrt(n) for probability in (1 - tail, tail)]
    return float(limits[0]), float(limits[1])


def _noncentrality(t: float, df: int, probability: float) -> float:
    """The noncentrality λ at which the noncentral t CDF at ``t`` equals ``probability`` (the CDF falls
    as λ grows): bracketed by steps doubling away from ``t``, then solved by Brent's method."""
    def excess(ncp):
        return float(_st.nct.cdf(t, df, ncp)) - probability

    step = max(1.0, abs(t))
    low, high = t - step, t + step
    while excess(low) < 0:
        low, step = low - step, 2 * step
    step = max(1.0, abs(t))
    while excess(high) > 0:
        high, step = high + step, 2 * step
    try:
        return float(brentq(excess, low, high, xtol=1e-10))
    except ValueError:   # scipy's noncentral t CDF is NaN somewhere in the bracket (far tails, few seeds)
        return math.nan


def equivalence_test(difference: float, standard_error: float, margin: float) -> dict:
    """Two one-sided tests (TOST) that a difference lies within ``±margin``.

    ``difference`` and its ``standard_error`` (normal approximation, e.g. from a bootstrap).
    Returns ``p_value`` (the larger of the two one-sided p-values: small means the difference is
    shown to lie inside the margin), the 90% interval ``lo``/``hi`` that TOST at the 5% level
    implies, and ``equivalent`` (p < 0.05).
    """
    if not (margin > 0 and standard_error >= 0):
        raise InputError(f"margin must be > 0 and standard_error >= 0, got {margin} and {standard_error}")
    if standard_error == 0:
        p = 0.0 if abs(difference) < margin else 1.0
    else:
        p = float(max(_st.norm.sf((difference + margin) / standard_error),
                      _st.norm.cdf((difference - margin) / standard_error)))
    z = float(_st.norm.ppf(0.95))
    return {"difference": float(difference), "margin": float(margin), "p_value": p,
            "lo": float(difference - z * standard_error), "hi": float(difference + z * standard_error),
            "equivalent": bool(p < 0.05)}


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values of one family of tests, in the order given.

    With the m finite p-values sorted, p_(1) <= ... <= p_(m), the adjusted value of the j-th is
    max over i <= j of min(1, (m − i + 1) · p_(i)); rejecting where it is below α controls the
    family-wise error rate at α.  A NaN (a test that could not be made) stays NaN and does not
    count in m.
    """
    p = [float(v) for v in p_values]
    if any(math.isfinite(v) and not 0.0 <= v <= 1.0 for v in p):
        raise InputError(f"p-values must lie in [0, 1], got {p}")
    finite = sorted((i for i, v in enumerate(p) if math.isfinite(v)), key=lambda i: p[i])
    out, running = [math.nan] * len(p), 0.0
    for rank, i in enumerate(finite):
        running = max(running, min(1.0, (len(finite) - rank) * p[i]))
        out[i] = running
    return out
