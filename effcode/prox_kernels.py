r"""Compiled (numba) elementwise proximal operators for the CPU.

:class:`effcode.objectives.Cauchy` calls :func:`cauchy_prox` for CPU tensors that do not require
grad; its torch path (GPU, autograd) computes the same map.  For each entry v, with w the absolute
value of v and t = step·lam, the prox of :math:`t\log(1 + x^2/\sigma^2)` is the smaller-energy one
of two roots of the cubic

.. math::  f(x) = x^3 - w x^2 + (\sigma^2 + 2t) x - w\sigma^2,

found by Newton's method from w (the largest root) and from 0 (the smallest), at most
``max_steps`` steps each, clamped to [0, w], with the sign of v restored.  The torch path runs
every step on every entry; here each Newton run stops as soon as a step moves x by at most a few
ulps of w (``tol`` relative), which for almost every entry is after 2 to 5 steps.  Arithmetic is
in float64 whatever the input dtype; the result is written in the input dtype.

Non-finite entries follow the torch path: NaN stays NaN, an infinite v gives 0, and a Newton run
that leaves the finite numbers counts as 0.
"""

from __future__ import annotations

import math

from . import numba_cache  # first: a read-only installation caches elsewhere, or not at all
import numba
import numpy as np

#: stop a Newton run once a step moves x by at most this many ulps (of the input dtype) of w
ULPS = 4.0
#: Newton steps of the branch-free first pass (entries it has not settled go through the general one)
FAST_STEPS = 3


@numba.njit(cache=numba_cache.CACHE, nogil=True, error_model="numpy")
def _newton(x, w, c, constant, max_steps, tolerance):
    """Newton's method on f(x) = ((x - w) x + c) x - constant from x; 0 if it leaves the finite numbers.

    Stops after a step of at most ``tolerance``, or one whose quadratic-convergence estimate of the
    next step, f''(x) δ² / (2 f'(x)), is at most ``tolerance``."""
    for _ in range(max_steps):
        f = ((x - w) * x + c) * x - constant
        slope = (3.0 * x - 2.0 * w) * x + c
        step = f / slope
        curvature = 6.0 * x - 2.0 * w
        x = x - step
        if not math.isfinite(x):
            return 0.0
        if abs(step) <= tolerance or abs(curvature) * step * step <= 2.0 * tolerance * abs(slope):
            break
    return x


@numba.njit(cache=numba_cache.CACHE, nogil=True, error_model="numpy")
def _cauchy_prox_scalar(value, w, tk, s2, max_steps, relative_tolerance):
    """The prox of one entry: both Newton runs and the energy comparison (the general case)."""
    if math.isnan(w):
        return value
    if math.isinf(w):
        return math.copysign(0.0, value)
    c = s2 + 2.0 * tk
    constant = w * s2
    tolerance = relative_tolerance * w
    large = min(max(_newton(w, w, c, constant, max_steps, tolerance), 0.0), w)
    small = min(max(_newton(0.0, w, c, constant, max_steps, tolerance), 0.0), w)
    x = large
    if small != large:
        difference = 0.5 * ((large - w) ** 2 - (small - w) ** 2) + tk * math.log((s2 + large * large) /
                                                                                 (s2 + small * small))
        if not difference <= 0.0:
            x = small
    return math.copysign(x, value)


@numba.njit(cache=numba_cache.CACHE, nogil=True, error_model="numpy")
def _cauchy_prox(v, t, s2, max_steps, relative_tolerance, out, done):
    n = v.shape[0]
    t_stride = 1 if t.shape[0] > 1 else 0
    # 1. branch-free, so that it runs in SIMD lanes: where f' > 0 everywhere (w² < 3c) the cubic has
    # one root, which Newton's method reaches monotonically from 0 if it lies in the concave part
    # [0, w/3] (f(w/3) >= 0; the first step from 0 lands on w σ²/c, where we start) and from w
    # otherwise.  FAST_STEPS steps; an entry whose last step was not negligible is not done.
    for i in range(n):
        value = np.float64(v[i])
        w = abs(value)
        tk = np.float64(t[i * t_stride])
        c = s2 + 2.0 * tk
        constant = w * s2
        tolerance = relative_tolerance * w
        third = w / 3.0
        concave = ((third - w) * third + c) * third - constant >= 0.0
        x = constant / c if concave else w
        step = 0.0
        ok = False
        for _ in range(FAST_STEPS):
            f = ((x - w) * x + c) * x - constant
            slope = (3.0 * x - 2.0 * w) * x + c
            step = f / slope
            curvature = 6.0 * x - 2.0 * w
            x = x - step
            ok = abs(step) <= tolerance or abs(curvature) * step * step <= 2.0 * tolerance * abs(slope)
        done[i] = w * w < 3.0 * c and ok
        out[i] = math.copysign(min(max(x, 0.0), w), value)
    # 2. the rest one at a time: both Newton runs, early stops, the energy comparison
    for i in range(n):
        if not done[i]:
            value = np.float64(v[i])
            out[i] = _cauchy_prox_scalar(value, abs(value), np.float64(t[i * t_stride]), s2, max_steps,
                                         relative_tolerance)


def cauchy_prox(v: np.ndarray, t: np.ndarray, s2: float, max_steps: int) -> np.ndarray:
    """The Cauchy prox of the 1-D float32 or float64 array ``v``, a new array of its dtype.

    ``t``: step·lam, a 1-D array of one entry or of one per entry of ``v``; ``s2``: sigma²;
    ``max_steps``: the most Newton steps per start.
    """
    out = np.empty_like(v)
    done = np.empty(v.shape[0], np.bool_)
    tolerance = ULPS * float(np.finfo(v.dtype).eps)
    _cauchy_prox(v, t, float(s2), int(max_steps), tolerance, out, done)
    return out


def compile_kernels() -> None:
    """Compile :func:`cauchy_prox` for float32 and float64 arrays, or load it from numba's on-disk cache."""
    for dtype in (np.float32, np.float64):
        v = np.array([-2.0, 0.0, 0.5], dtype=dtype)
        cauchy_prox(v, np.array([0.3], dtype=dtype), 1.0, 12)
        cauchy_prox(v, np.full(3, 0.3, dtype=dtype), 1.0, 12)


__all__ = ["cauchy_prox", "compile_kernels"]
