"""How precisely pixel data can pin down a Gabor's parameters: Fisher information and Cramér–Rao bounds.

For a filter observed as ``g(p) + noise`` with white Gaussian noise of standard deviation
:math:`\\sigma_n` per pixel, the Fisher information of the parameters is
:math:`F = J^\\top J / \\sigma_n^2`, with :math:`J` the (pixels × 8) Jacobian of the Gabor model
(:func:`effcode.gabor.model.gabor`) at ``p``.  Its inverse bounds the covariance of any unbiased
estimate (Cramér–Rao); the least-squares fit reaches it asymptotically.  Derived quantities
(phase, amplitude, nx, ny) follow by the delta method.

Two uses:

* at the *true* parameters of a synthetic Gabor with its known noise level, the standard
  deviations are the Cramér–Rao lower bounds: the best precision the data allow;
* at a *fitted* table with the residual standard deviation, they are the usual asymptotic
  standard errors of the fit.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike
import torch

from ..errors import InputError
from ..validation import check_array
from .model import gabor, pixel_grid

#: Columns of :func:`gabor_standard_errors`, in the units of the matching fit-table columns.
PRECISION_COLUMNS = ("x0", "y0", "theta", "freq", "phase", "sigma_x", "sigma_y", "amplitude", "nx", "ny")


def gabor_standard_errors(table: Mapping[str, np.ndarray], shape: tuple[int, int], noise_sd: ArrayLike
                         ) -> dict[str, np.ndarray]:
    """Standard deviations of the Gabor parameters implied by the Fisher information at ``table``.

    Parameters
    ----------
    table : dict of length-K arrays
        Gabor parameters with the columns of :func:`effcode.gabor.fit_gabors` (at least x0, y0,
        theta, freq, phase, sigma_x, sigma_y, amplitude).
    shape : (h, w)
        Patch size in pixels.
    noise_sd : float or (K,) array
        Standard deviation of the white pixel noise, in the filters' units.

    Returns
    -------
    dict of (K,) float64 arrays, keyed by :data:`PRECISION_COLUMNS`: x0, y0, sigma_x, sigma_y in
    pixels; theta and phase in radians; freq in cycles/pixel; amplitude in the filters' units;
    nx and ny dimensionless.  ``inf`` where the information matrix is singular (a parameter the
    pixels do not constrain at all); NaN where the table holds NaN (a failed fit).
    """
    columns = ("x0", "y0", "theta", "freq", "sigma_x", "sigma_y", "amplitude", "phase")
    values = {c: check_array(f"table[{c!r}]", table[c], ndim=1, finite=False) for c in columns}
    k = len(values["x0"])
    noise = check_array("noise_sd", noise_sd, ndim=(0, 1))
    if noise.size not in (1, k) or np.any(noise <= 0):
        raise InputError(f"noise_sd must be a positive number or {k} positive values (one per filter), "
                         f"got shape {noise.shape} with minimum {noise.min():.3g}")
    noise = np.broadcast_to(noise, (k,))
    amp, phase = values["amplitude"], values["phase"]
    a, b = amp * np.cos(phase), amp * np.sin(phase)
    p = np.stack([values[c] for c in columns[:6]] + [a, b], axis=1)
    x, y = pixel_grid(shape)
    _, jac = gabor(torch.from_numpy(p), x, y, jacobian=True)
    jac = torch.stack(jac, dim=-1)                                      # (K, N, 8)
    info = jac.transpose(1, 2) @ jac / torch.from_numpy(noise ** 2)[:, None, None]
    cov, status = torch.linalg.inv_ex(info)
    singular = status.numpy() != 0
    cov = np.where(singular[:, None, None], 0.0, cov.numpy())

    def sd_of(gradient: np.ndarray) -> np.ndarray:
        return np.sqrt(np.abs(np.einsum("ki,kij,kj->k", gradient, cov, gradient)))

    def unit(i: int) -> np.ndarray:
        e = np.zeros((k, 8))
        e[:, i] = 1.0
        return e

    zero = np.zeros(k)
    freq, sx, sy = values["freq"], values["sigma_x"], values["sigma_y"]
    out = {name: sd_of(unit(i)) for i, name in enumerate(("x0", "y0", "theta", "freq", "sigma_x", "sigma_y"))}
    with np.errstate(divide="ignore", invalid="ignore"):    # amplitude 0: singular, reported as inf below
        out["amplitude"] = sd_of(np.stack([zero] * 6 + [a / amp, b / amp], axis=1))
        out["phase"] = sd_of(np.stack([zero] * 6 + [-b / amp ** 2, a / amp ** 2], axis=1))
    out["nx"] = sd_of(np.stack([zero, zero, zero, sx, freq, zero, zero, zero], axis=1))     # d(sigma_x f)
    out["ny"] = sd_of(np.stack([zero, zero, zero, sy, zero, freq, zero, zero], axis=1))
    return {name: np.where(singular, math.inf, out[name]) for name in PRECISION_COLUMNS}
