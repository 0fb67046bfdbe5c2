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


def gabor(p: torch.Tensor, x: torch.Tensor, y: torch.Tensor, *, jacobian: bool = False):
    """Gabor values (B, N) at pixels (x, y) for parameters ``p`` (B, 8); with the 8 Jacobian columns."""
    x0, y0, theta, freq, sx, sy, a, b = (p[:, i:i + 1] for i in range(8))
    dx, dy = x - x0, y - y0
    cos_t, sin_t = torch.cos(theta), torch.sin(theta)
    xp = dx * cos_t + dy * sin_t
    yp = dy * cos_t - dx * sin_t
    u = _TWO_PI * freq * xp
    cos_u, sin_u = torch.cos(u), torch.sin(u)
    env = torch.exp(-0.5 * ((xp / sx) ** 2 + (yp / sy) ** 2))
    carrier = a * cos_u - b * sin_u
    g = env * carrier
    if not jacobian:
        return g
    d_carrier = -(a * sin_u + b * cos_u)                    # d carrier / d u
    g_xp = env * (_TWO_PI * freq * d_carrier) - g * xp / sx ** 2   # d g / d x'
    g_yp = -g * yp / sy ** 2                                  # d g / d y'
    jac = [
        -g_xp * cos_t + g_yp * sin_t,                          # x0
        -g_xp * sin_t - g_yp * cos_t,                          # y0
        g_xp * yp - g_yp * xp,                                 # theta
        env * d_carrier * (_TWO_PI * xp),                      # freq
        g * xp ** 2 / sx ** 3,                                 # sigma_x
        g * yp ** 2 / sy ** 3,                                 # sigma_y
        env * cos_u,                                           # a
        -env * sin_u,                                          # b
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
