"""Statistics across seeds: intervals, paired comparisons and equivalence tests.

A learner trained with several seeds gives one value of a statistic per seed (a median R²,
an nx–ny distance, ...). These functions summarise such values and compare two settings
that were run with the same seeds.  Every interval is a 95% Student-t interval over seeds:
with n seeds it has n − 1 degrees of freedom, so three seeds give wide intervals, and the
width is the honest statement of what three seeds can show.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats as _st

from .errors import InputError

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

    Returns ``difference`` (mean of a − b) with its 95% t-interval ``lo``/``hi``, the two-sided
    paired t-test ``p_value``, the effect size ``cohens_dz`` (mean difference / SD of the
    differences; ±inf when every seed moved by the same amount), ``n`` and ``wins_a``, the
    number of seeds where a < b.  Fewer than two pairs give NaN statistics.
    """
    a, b = _values("a", a), _values("b", b)
    if a.size != b.size:
        raise InputError(f"a and b must pair up seed by seed, got {a.size} and {b.size} values")
    d = a - b
    n = int(d.size)
    out = {"difference": float(d.mean()) if n else math.nan, "n": n, "wins_a": int(np.sum(d < 0))}
    if n < 2:
        return {**out, "lo": math.nan, "hi": math.nan, "p_value": math.nan, "cohens_dz": math.nan}
    interval = seed_interval(d)
    sd = interval["sd"]
    if sd == 0:
        p = 0.0 if out["difference"] != 0 else 1.0
        dz = math.copysign(math.inf, out["difference"]) if out["difference"] != 0 else 0.0
    else:
        t = out["difference"] / (sd / math.sqrt(n))
        p = float(2 * _st.t.sf(abs(t), n - 1))
        dz = out["difference"] / sd
    return {**out, "lo": interval["lo"], "hi": interval["hi"], "p_value": p, "cohens_dz": float(dz)}


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
