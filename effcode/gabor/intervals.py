"""Profile-likelihood intervals of a Gabor fit's nx = sigma_x f and ny = sigma_y f.

Why profile likelihood.  The asymptotic standard errors of :mod:`effcode.gabor.precision`
describe a quadratic bowl around the fit.  For blob-like and low-frequency units the least
squares cost is nowhere near a bowl: R² stays flat along a ridge of (sigma, f) from nx = 0.02
to 0.15, so nx is bounded above but not below, and a symmetric ``value ± 2 SE`` says nothing
true about it.  A parametric bootstrap would need tens of full multi-start refits per unit and
still reports only the spread of where the refits land.  The profile asks the question
directly, at a handful of values: *can a Gabor with nx fixed at c fit this filter about as
well as the best one?*  It needs a single warm-started refit per value, and an interval that
runs into the lowest value examined says so.

For a filter h with N pixels, and the fit's least-squares cost SSE(c) when nx is held at c
and every other parameter (x0, y0, theta, f, sigma_y, a, b) is refitted, the statistic

    F(c) = (SSE(c) - SSE_min) / (SSE_min / (N - 8))

is the likelihood-ratio F statistic of the Gaussian model with unknown noise variance, with
``SSE_min`` the smallest cost found (the full fit or a profile point, whichever is lower).
The ``level`` interval is {c : F(c) <= F_level(1, N - 8)}.  It is evaluated at the values
``points`` only: the interval is the hull of the accepted values (the fitted value, when its
own F passes, and every accepted point), and each end is refined by interpolating the signed
root sqrt(F), which is close to linear in log c, from the outermost accepted value to the
first rejected one beyond it.  An end with no rejected point beyond it is *open*: the interval
reaches the first (or last) point and may go farther.  ny is handled the same way.

The noise level is the fit's own residual, so a filter that is not a Gabor (systematic
residual) gets a wider interval rather than a falsely narrow one.

Each profile fit holds nx at c through ``sigma_x = c / f`` and keeps every parameter inside
the box of :func:`effcode.gabor.fit.gabor_bounds` (f in [0, 0.5] c/px, sigmas in
[MIN_SIGMA, side]): f is a sigmoid-bounded fraction of [c / side, min(0.5, c / MIN_SIGMA)].
A value c > side / 2 cannot be reached inside the box and is rejected (F = inf).  The fits
are batched (all units x points x both axes at once) on the fitter of :mod:`effcode.gabor.lm`,
from two warm starts per problem (the fitted frequency kept, or the fitted fixed-axis sigma
kept), each with the least-squares amplitudes.

A fit whose sigma or frequency ends at the edge of the box is flagged ``at_bound``: the box,
not the data, stopped it (e.g. an envelope longer than the patch), so asymptotic errors are
not valid there; the profile intervals remain usable.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
from scipy import stats as _st

from ..errors import InputError
from ..validation import check_array, check_float, check_int, resolve_device
from .common import FIT_DTYPE, MIN_SIGMA, check_filters, unit_rms
from .fit import gabor_bounds
from .lm import Box, multistart, single_threaded
from .model import gabor, gabor_from_table, pixel_grid
from .starts import _with_best_amplitudes

#: the axes profiled: the fixed product n = sigma * f, and which sigma it fixes
AXES = ("nx", "ny")
#: a fitted sigma or frequency within this fraction of the box's width from an edge is "at the bound"
BOUND_TOLERANCE = 0.01


def _profile_model(p: torch.Tensor, x: torch.Tensor, y: torch.Tensor, *, axis: str, side: float,
                   jacobian: bool = False):
    """Gabor with n = sigma_axis * f held at p[:, 7] (module docstring).

    Parameters (B, 8): x0, y0, theta, t (fraction of the allowed frequency range, in [0, 1]),
    the free sigma, a, b, and the held value c, which gets a zero Jacobian column so the
    fitter never moves it.
    """
    x0, y0, theta, t, s_free, a, b, c = (p[:, i:i + 1] for i in range(8))
    f_lo, f_hi = _frequency_range(c, side)
    width = f_hi - f_lo
    freq = f_lo + width * t
    s_held = c / freq
    sx, sy = (s_held, s_free) if axis == "nx" else (s_free, s_held)
    natural = torch.cat([x0, y0, theta, freq, sx, sy, a, b], dim=1)
    if not jacobian:
        return gabor(natural, x, y)
    g, jac = gabor(natural, x, y, jacobian=True)
    held, free = (4, 5) if axis == "nx" else (5, 4)
    d_t = (jac[3] - jac[held] * c / (freq * freq)) * width
    return g, [jac[0], jac[1], jac[2], d_t, jac[free], jac[6], jac[7], torch.zeros_like(g)]


def _frequency_range(c, side: float):
    """Frequencies at which sigma = c / f lies in [MIN_SIGMA, side] and f in [0, 0.5]."""
    lo = c / side
    hi = torch.clamp(c / MIN_SIGMA, max=0.5) if torch.is_tensor(c) else np.minimum(c / MIN_SIGMA, 0.5)
    return lo, hi


def _starts(unit: np.ndarray, table: dict, points: np.ndarray, axis: str,
            side: float) -> np.ndarray:
    """Two warm starts (K * P, 2, 8) per (unit, point): the fitted frequency kept, or the fitted
    sigma of the held axis kept; amplitudes at their least-squares values."""
    k, n_points = len(unit), len(points)
    held, free = ("sigma_x", "sigma_y") if axis == "nx" else ("sigma_y", "sigma_x")
    c = np.tile(points, k)
    rep = {name: np.repeat(np.asarray(table[name], dtype=np.float64), n_points)
           for name in ("x0", "y0", "theta", "freq", held, free)}
    f_lo, f_hi = _frequency_range(c, side)
    starts = []
    for freq in (rep["freq"], c / rep[held]):
        freq = np.clip(freq, f_lo + 0.02 * (f_hi - f_lo), f_hi - 0.02 * (f_hi - f_lo))
        s_held = c / freq
        sx, sy = (s_held, rep[free]) if axis == "nx" else (rep[free], s_held)
        starts.append(np.stack([rep["x0"], rep["y0"], rep["theta"], freq, sx, sy, np.ones_like(c),
                                np.zeros_like(c)], axis=1))
    natural = np.stack(starts, axis=1)                                            # (K * P, 2, 8)
    natural = _with_best_amplitudes(gabor, natural, np.repeat(unit, n_points, axis=0), ((1.0, 0.0), (0.0, 1.0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (natural[..., 3] - f_lo[:, None]) / (f_hi - f_lo)[:, None]
    s_free = natural[..., 5] if axis == "nx" else natural[..., 4]
    return np.stack([natural[..., 0], natural[..., 1], natural[..., 2], np.nan_to_num(t, nan=0.5),
                     np.clip(s_free, MIN_SIGMA, side), natural[..., 6], natural[..., 7],
                     np.broadcast_to(c[:, None], t.shape)], axis=-1)


def _profile_costs(unit: np.ndarray, table: dict, points: np.ndarray, axis: str,
                   n_iter: int, dev: torch.device) -> np.ndarray:
    """Least-squares cost (K, P) of the unit-RMS filters with ``axis`` held at each point."""
    k, h, w = unit.shape
    lo, hi = gabor_bounds((h, w))
    side = float(hi[4])
    box_lo = np.array([lo[0], lo[1], -np.inf, 0.0, lo[4], -np.inf, -np.inf, -np.inf])
    box_hi = np.array([hi[0], hi[1], np.inf, 1.0, hi[4], np.inf, np.inf, np.inf])
    box = Box(torch.as_tensor(box_lo, dtype=FIT_DTYPE, device=dev), torch.as_tensor(box_hi, dtype=FIT_DTYPE, device=dev))
    starts = _starts(unit, table, points, axis, side)
    x, y = pixel_grid((h, w), device=dev, dtype=FIT_DTYPE)
    model = functools.partial(_profile_model, x=x, y=y, axis=axis, side=side)
    target = torch.as_tensor(np.repeat(unit.reshape(k, -1), len(points), axis=0), dtype=FIT_DTYPE, device=dev)
    params, _ = multistart(model, box, target, torch.as_tensor(starts, dtype=FIT_DTYPE, device=dev), n_iter,
                           n_explore=max(1, n_iter // 3), desc=f"{axis} profile")
    # the cost in float64 from the final parameters, like the fit's R²
    x64, y64 = pixel_grid((h, w), device=dev)
    fitted = _profile_model(params.to(torch.float64), x64, y64, axis=axis, side=side).cpu().numpy()
    cost = ((np.repeat(unit.reshape(k, -1), len(points), axis=0) - fitted) ** 2).sum(1).reshape(k, len(points))
    reachable = points <= side / 2
    return np.where(reachable[None, :] & np.isfinite(cost), cost, np.inf)


def at_bound(table, shape: tuple[int, int]) -> np.ndarray:
    """Whether each fit's sigma_x, sigma_y or frequency lies within :data:`BOUND_TOLERANCE` of the
    box's width from an edge of the box of :func:`effcode.gabor.fit.gabor_bounds`."""
    lo, hi = gabor_bounds(shape)
    flags = np.zeros(len(np.asarray(table["freq"])), dtype=bool)
    for column, i in (("freq", 3), ("sigma_x", 4), ("sigma_y", 5)):
        values = np.asarray(table[column], dtype=np.float64)
        margin = BOUND_TOLERANCE * (hi[i] - lo[i])
        flags |= (values <= lo[i] + margin) | (values >= hi[i] - margin)
    return flags


def _interval(value: np.ndarray, f_value: np.ndarray, points: np.ndarray, f_points: np.ndarray,
              threshold: float) -> dict[str, np.ndarray]:
    """Ends of the accepted set of each unit (module docstring): the fitted value and the points
    whose F is at most ``threshold``; each end refined towards the nearest rejected point beyond it."""
    k = len(value)
    out = {"lo": np.empty(k), "hi": np.empty(k), "lo_open": np.zeros(k, bool), "hi_open": np.zeros(k, bool)}
    for i in range(k):
        candidates, f = np.append(points, value[i]), np.append(f_points[i], f_value[i])
        # the fitted value is always accepted (its F is 0 up to rounding, NaN for a fit without residual)
        inside = np.union1d(np.flatnonzero(f <= threshold), [len(points)])
        j_lo, j_hi = inside[np.argmin(candidates[inside])], inside[np.argmax(candidates[inside])]
        below, above = np.flatnonzero(points < candidates[j_lo]), np.flatnonzero(points > candidates[j_hi])
        for end, j, beyond in (("lo", j_lo, below[-1:]), ("hi", j_hi, above[:1])):
            if beyond.size == 0:
                out[end][i], out[f"{end}_open"][i] = candidates[j], True
            else:
                out[end][i] = _crossing(candidates[j], f[j], points[beyond[0]], f_points[i, beyond[0]], threshold)
    return out


def _crossing(a: float, f_a: float, b: float, f_b: float, threshold: float) -> float:
    """Where sqrt(F), taken as linear in log n between an accepted value a and a rejected value b,
    reaches sqrt(threshold); b itself when F(b) is infinite (b out of the box's reach)."""
    if not np.isfinite(f_b):
        return float(b)
    r_a = np.sqrt(f_a) if np.isfinite(f_a) and f_a > 0 else 0.0   # the fitted value's F is 0 (NaN: no residual)
    r_b = np.sqrt(f_b)
    s = min(max((np.sqrt(threshold) - r_a) / max(r_b - r_a, 1e-12), 0.0), 1.0)
    log_a = np.log(max(a, 1e-6))
    return float(np.exp(log_a + s * (np.log(b) - log_a)))


def profile_intervals(filters, table: dict, points, *, level: float = 0.95, n_iter: int = 30,
                      device="cpu") -> dict[str, np.ndarray]:
    """Profile-likelihood intervals of nx and ny for every fitted filter (module docstring).

    Parameters
    ----------
    filters : (K, h, w) array
        The filters that were fitted.
    table : dict of length-K arrays
        Their :func:`effcode.gabor.fit_gabors` table (x0, y0, theta, freq, phase, sigma_x,
        sigma_y, amplitude, nx, ny).
    points : increasing positive values
        The values at which nx and ny are held; include every value where a decision changes
        (e.g. bin edges) and a low and a high limit.
    level : float
        Coverage of the intervals (0.95: the F(1, N - 8) quantile 0.95 as the threshold).
    n_iter : int
        LM iterations of each profile fit (a third on both warm starts, the rest on the better).
    device : "cpu" or "cuda"

    Returns
    -------
    dict of (K,) arrays, for each axis in :data:`AXES` (here ``nx``):

    * ``nx_lo``, ``nx_hi``: ends of the interval (dimensionless);
    * ``nx_lo_open``, ``nx_hi_open``: True where the interval reaches the first / last point
      (not bounded there by the points examined; the end is then that point or the fitted value);
    * ``nx_f`` (K, P): the F statistic at each point (inf where the box cannot reach it);

    and ``at_bound`` (:func:`at_bound`), ``f_fit`` (F of the full fit itself, 0 unless a
    profile fit beat it), ``threshold`` (scalar), ``points`` (P,).  Rows of a failed fit
    (non-finite table) hold NaN ends and False flags.
    """
    arr = check_filters(filters)
    k, h, w = arr.shape
    points = check_array("points", points, ndim=1)
    if np.any(points <= 0) or np.any(np.diff(points) <= 0):
        raise InputError(f"points must be positive and strictly increasing, got {points}")
    level = check_float("level", level, minimum=0.0, maximum=1.0, strict_minimum=True)
    n_iter = check_int("n_iter", n_iter, minimum=1)
    columns = ("x0", "y0", "theta", "freq", "phase", "sigma_x", "sigma_y", "amplitude", "nx", "ny")
    missing = [c for c in columns if c not in table]
    if missing:
        raise InputError(f"table is missing the Gabor column(s) {', '.join(missing)}")
    table = {c: np.asarray(table[c], dtype=np.float64) for c in columns}
    if any(v.shape != (k,) for v in table.values()):
        raise InputError(f"table columns must each hold {k} values, one per filter")
    ok = np.all([np.isfinite(v) for v in table.values()], axis=0)
    dev = resolve_device(device)
    unit, scale = unit_rms(arr[ok])
    fit_table = {c: v[ok] for c, v in table.items()}
    fit_table["amplitude"] = fit_table["amplitude"] / scale
    n_pixels = h * w
    sse_fit = ((unit.reshape(len(unit), -1) - gabor_from_table(fit_table, (h, w)).reshape(len(unit), -1)) ** 2).sum(1)
    with single_threaded(dev):
        costs = {axis: _profile_costs(unit, fit_table, points, axis, n_iter, dev) for axis in AXES}
    sse_min = np.minimum(sse_fit, np.min([c.min(1) for c in costs.values()], axis=0))
    noise = np.maximum(sse_min, 1e-12 * n_pixels) / (n_pixels - 8)
    threshold = float(_st.f.ppf(level, 1, n_pixels - 8))
    f_fit = (sse_fit - sse_min) / noise
    out: dict[str, Any] = {"at_bound": np.zeros(k, bool), "f_fit": np.full(k, np.nan), "threshold": threshold,
                           "points": points}
    out["at_bound"][ok] = at_bound(fit_table, (h, w))
    out["f_fit"][ok] = f_fit
    for axis in AXES:
        f_points = (costs[axis] - sse_min[:, None]) / noise[:, None]
        ends = _interval(fit_table[axis], f_fit, points, f_points, threshold)
        out[f"{axis}_f"] = np.full((k, len(points)), np.nan)
        out[f"{axis}_f"][ok] = f_points
        for name, values in ends.items():
            column = np.full(k, np.nan) if values.dtype.kind == "f" else np.zeros(k, bool)
            column[ok] = values
            out[f"{axis}_{name}"] = column
    return out
