"""The Gabor and difference-of-Gaussians models, evaluated in batches with analytic Jacobians.

Coordinates: ``x`` is the column and ``y`` the row, in pixels, with 0 at the centre of the
top-left pixel.  A batch of parameter vectors ``p`` (B, P) is evaluated on the N = h*w pixel
centres of an (h, w) patch, flattened row by row, giving values (B, N) and, where asked,
the Jacobian d values / d p as a list of P columns, each (B, N).

Gabor (Ringach 2002), internal parameter order ``(x0, y0, theta, freq, sigma_x, sigma_y, a, b)``::

    x' =  (x - x0) cos(theta) + (y - y0) sin(theta)        # across the bars
    y' = -(x - x0) sin(theta) + (y - y0) cos(theta)        # along the bars
    E  = exp(-x'^2 / (2 sigma_x^2) - y'^2 / (2 sigma_y^2))
    g  = E (a cos(2 pi freq x') - b sin(2 pi freq x'))  =  A E cos(2 pi freq x' + phi)

with ``A = hypot(a, b)`` and ``phi = atan2(b, a)``.  The pair (a, b) enters linearly, which
keeps the fit well conditioned and free of phase wrapping.

Concentric difference of Gaussians, order ``(x0, y0, sigma_c, ratio, a_c, a_s)``::

    r^2 = (x - x0)^2 + (y - y0)^2,   sigma_s = ratio * sigma_c
    g   = a_c exp(-r^2 / (2 sigma_c^2)) - a_s exp(-r^2 / (2 sigma_s^2))
"""

from __future__ import annotations

import math

import numpy as np
import torch

#: c = sqrt(2 ln 2) / (2 pi): a Gabor's spectrum falls to half height c / sigma from its peak.
BANDWIDTH_CONSTANT = math.sqrt(2.0 * math.log(2.0)) / (2.0 * math.pi)

GABOR_PARAMS = ("x0", "y0", "theta", "freq", "sigma_x", "sigma_y", "a", "b")
DOG_PARAMS = ("x0", "y0", "sigma_center", "ratio", "amp_center", "amp_surround")

_TWO_PI = 2.0 * math.pi


def pixel_grid(shape: tuple[int, int], *, device=None, dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Column (x) and row (y) coordinates of the pixel centres of an (h, w) patch, each (h*w,)."""
    h, w = shape
    y, x = torch.meshgrid(torch.arange(h, device=device, dtype=dtype),
                          torch.arange(w, device=device, dtype=dtype), indexing="ij")
    return x.reshape(-1), y.reshape(-1)


def gabor(p, x, y, *, jacobian: bool = False, xp=torch):
    """Gabor values (B, N) at pixels (x, y) for parameters ``p`` (B, 8); with the 8 Jacobian columns.

    ``xp`` is the array module: torch (tensors) or numpy (arrays, used by the per-filter
    baseline of benchmarks/bench_gabor_fit.py).
    """
    x0, y0, theta, freq, sx, sy, a, b = (p[:, i:i + 1] for i in range(8))
    dx, dy = x - x0, y - y0
    cos_t, sin_t = xp.cos(theta), xp.sin(theta)
    xr = dx * cos_t + dy * sin_t                            # x', across the bars
    yr = dy * cos_t - dx * sin_t                            # y', along the bars
    inv_sx2, inv_sy2 = 1.0 / (sx * sx), 1.0 / (sy * sy)
    env = xp.exp((xr * xr) * (-0.5 * inv_sx2) + (yr * yr) * (-0.5 * inv_sy2))
    u = xr * (_TWO_PI * freq)
    env_cos, env_sin = env * xp.cos(u), env * xp.sin(u)
    g = a * env_cos - b * env_sin
    if not jacobian:
        return g
    quad = -(a * env_sin + b * env_cos)                     # E * d carrier / d u
    gx = g * xr * inv_sx2                                   # -(envelope part of d g / d x')
    gy = g * yr * inv_sy2                                   # -d g / d y'
    g_xr = quad * (_TWO_PI * freq) - gx                     # d g / d x'
    jac = [
        -g_xr * cos_t - gy * sin_t,                         # x0   (d x'/d x0 = -cos, d y'/d x0 = sin)
        gy * cos_t - g_xr * sin_t,                          # y0   (d x'/d y0 = -sin, d y'/d y0 = -cos)
        g_xr * yr + gy * xr,                                # theta (d x'/d theta = y', d y'/d theta = -x')
        quad * xr * _TWO_PI,                                # freq
        gx * xr / sx,                                       # sigma_x
        gy * yr / sy,                                       # sigma_y
        env_cos,                                            # a
        -env_sin,                                           # b
    ]
    return g, jac


def dog(p: torch.Tensor, x: torch.Tensor, y: torch.Tensor, *, jacobian: bool = False):
    """Concentric DoG values (B, N) for parameters ``p`` (B, 6); with the 6 Jacobian columns."""
    x0, y0, sc, ratio, ac, as_ = (p[:, i:i + 1] for i in range(6))
    dx, dy = x - x0, y - y0
    r2 = dx * dx + dy * dy
    ss = sc * ratio
    gc = torch.exp(-0.5 * r2 / sc ** 2)
    gs = torch.exp(-0.5 * r2 / ss ** 2)
    g = ac * gc - as_ * gs
    if not jacobian:
        return g
    kc, ks = ac * gc / sc ** 2, as_ * gs / ss ** 2            # radial weights of each Gaussian
    d_ss = -as_ * gs * r2 / ss ** 3                           # d g / d sigma_s
    jac = [
        (kc - ks) * dx,
        (kc - ks) * dy,
        ac * gc * r2 / sc ** 3 + d_ss * ratio,
        d_ss * sc,
        gc,
        -gs,
    ]
    return g, jac


def gabor_from_table(table, shape: tuple[int, int]) -> np.ndarray:
    """Evaluate the Gabors of a fit table on an (h, w) grid; returns (K, h, w) float64."""
    amp = np.asarray(table["amplitude"], dtype=np.float64)
    phase = np.asarray(table["phase"], dtype=np.float64)
    cols = [np.asarray(table[k], dtype=np.float64) for k in ("x0", "y0", "theta", "freq", "sigma_x", "sigma_y")]
    p = np.stack(cols + [amp * np.cos(phase), amp * np.sin(phase)], axis=1)
    x, y = pixel_grid(shape)
    values = gabor(torch.from_numpy(p), x, y)
    return values.reshape(-1, *shape).numpy()
