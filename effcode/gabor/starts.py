"""Starting points for the Gabor and DoG fits, from the spectrum and the energy of each filter.

Everything here is deterministic and runs in numpy on the CPU; the scipy baseline of the
benchmark starts from the same points.
"""

from __future__ import annotations

import numpy as np
import torch

from .model import dog, gabor, pixel_grid

#: (envelope scale, spectral peak: 0 = highest, 1 = second, -1 = a low-frequency start) of each
#: Gabor start, in order of use: ``n_starts`` takes the first n.
GABOR_START_PLAN = ((1.0, 0), (1.0, 1), (1.0, -1), (0.6, 0), (1.6, 0), (0.6, 1))
#: (centre from the energy centroid (0) or the largest |pixel| (1), centre-sigma scale,
#: surround/centre ratio) of each DoG start.
DOG_START_PLAN = ((0, 1.0, 3.0), (1, 1.0, 3.0), (0, 0.6, 2.0), (1, 0.6, 5.0))


def _padded_size(shape: tuple[int, int]) -> int:
    n = 4 * max(shape)
    return 1 << (n - 1).bit_length()


def spectral_peaks(filters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The highest and second-highest peak of each zero-padded amplitude spectrum.

    Returns ``freq`` (K, 2) in cycles/pixel and ``theta`` (K, 2) in [0, pi), the direction
    of the wave vector (across the bars).  The second peak is the maximum outside a disc of
    radius 1.5/size c/px around the first one (and its mirror image).
    """
    k, h, w = filters.shape
    n = _padded_size((h, w))
    centred = filters - filters.mean(axis=(1, 2), keepdims=True)
    amp = np.abs(np.fft.rfft2(centred, s=(n, n)))                    # (K, n, n//2+1)
    fy = np.fft.fftfreq(n)[:, None]
    fx = np.fft.rfftfreq(n)[None, :]
    fy, fx = np.broadcast_arrays(fy, fx)
    flat = amp.reshape(k, -1)
    first = flat.argmax(1)
    fx1, fy1 = fx.reshape(-1)[first], fy.reshape(-1)[first]
    radius = 1.5 / max(h, w)
    near = ((fx[None] - fx1[:, None, None]) ** 2 + (fy[None] - fy1[:, None, None]) ** 2 < radius ** 2)
    near |= ((fx[None] + fx1[:, None, None]) ** 2 + (fy[None] + fy1[:, None, None]) ** 2 < radius ** 2)
    second = np.where(near.reshape(k, -1), -np.inf, flat).argmax(1)
    fx2, fy2 = fx.reshape(-1)[second], fy.reshape(-1)[second]
    freq = np.stack([np.hypot(fx1, fy1), np.hypot(fx2, fy2)], axis=1)
    theta = np.mod(np.arctan2(np.stack([fy1, fy2], 1), np.stack([fx1, fx2], 1)), np.pi)
    return freq, theta


def energy_moments(filters: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centroid (x0, y0) and covariance (K, 2, 2) of the squared filter, in pixels."""
    k, h, w = filters.shape
    energy = filters ** 2
    total = energy.sum(axis=(1, 2))
    weights = energy / np.where(total > 0, total, 1.0)[:, None, None]
    weights[total <= 0] = 1.0 / (h * w)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    x0 = (weights * x).sum(axis=(1, 2))
    y0 = (weights * y).sum(axis=(1, 2))
    dx = x[None] - x0[:, None, None]
    dy = y[None] - y0[:, None, None]
    cov = np.stack([np.stack([(weights * dx * dx).sum((1, 2)), (weights * dx * dy).sum((1, 2))], -1),
                    np.stack([(weights * dx * dy).sum((1, 2)), (weights * dy * dy).sum((1, 2))], -1)], -2)
    return x0, y0, cov


def _inside(p: np.ndarray, bounds: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``p`` (..., P) clipped to 2% of the range inside each finite bound (the sigmoid stays usable)."""
    lo, hi = bounds
    span = np.where(np.isfinite(hi - lo), hi - lo, 0.0)
    return np.clip(p, lo + 0.02 * span, hi - 0.02 * span)


def _with_best_amplitudes(model, p: np.ndarray, filters: np.ndarray, units) -> np.ndarray:
    """Set the last two parameters of ``p`` (K, S, P), on which ``model`` is linear, to their
    least-squares values for the flattened ``filters`` (K, N).  ``units``: the two parameter
    pairs that switch on one basis image each."""
    k, s, n_par = p.shape
    x, y = pixel_grid(filters.shape[1:])
    flat = p.reshape(-1, n_par)
    columns = []
    for unit in units:
        q = flat.copy()
        q[:, -2:] = unit
        columns.append(model(torch.from_numpy(q), x, y).numpy())
    basis = np.stack(columns, axis=1).reshape(k, s, 2, -1)                   # (K, S, 2, N)
    gram = basis @ basis.swapaxes(-1, -2)
    rhs = basis @ filters.reshape(k, 1, -1, 1)
    ridge = 1e-9 * np.trace(gram, axis1=-2, axis2=-1)[..., None, None] + 1e-300
    p = p.copy()
    p[..., -2:] = np.linalg.solve(gram + ridge * np.eye(2), rhs)[..., 0]
    return p


def gabor_starts(filters: np.ndarray, n_starts: int, bounds: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Starting Gabor parameters (K, n_starts, 8), in the order of :data:`model.GABOR_PARAMS`.

    Frequency and orientation come from a spectral peak (:func:`spectral_peaks`) or, for the
    low-frequency start, half a cycle over the patch across the major axis of the energy;
    the centre and the envelope widths from the energy moments: the squared envelope has
    variance sigma^2 / 2 along each axis, so sigma = sqrt(2 var) times the plan's factor.
    The amplitudes (a, b), i.e. amplitude and phase, are the least-squares optimum for the
    rest.  Values are clipped inside ``bounds`` (lo, hi), each (8,).

    Parameters
    ----------
    filters : ndarray
        The filter bank, shape (K, h, w).
    n_starts : int
        How many starts per filter, from the front of the start plan.
    bounds : tuple of ndarray
        The (lo, hi) parameter bounds, each of shape (8,).
    """
    k, h, w = filters.shape
    freq, theta = spectral_peaks(filters)
    x0, y0, cov = energy_moments(filters)
    _, vecs = np.linalg.eigh(cov)
    theta_low = np.mod(np.arctan2(vecs[:, 1, 0], vecs[:, 0, 0]), np.pi)     # across the major axis
    starts = []
    for scale, peak in GABOR_START_PLAN[:n_starts]:
        f = np.full(k, 0.5 / max(h, w)) if peak < 0 else freq[:, peak]
        t = theta_low if peak < 0 else theta[:, peak]
        u = np.stack([np.cos(t), np.sin(t)], -1)
        v = np.stack([-np.sin(t), np.cos(t)], -1)
        sx = scale * np.sqrt(2.0 * np.einsum("ki,kij,kj->k", u, cov, u))
        sy = scale * np.sqrt(2.0 * np.einsum("ki,kij,kj->k", v, cov, v))
        starts.append(np.stack([x0, y0, t, f, sx, sy, np.ones(k), np.zeros(k)], -1))
    p = _inside(np.stack(starts, axis=1), bounds)
    return _with_best_amplitudes(gabor, p, filters, ((1.0, 0.0), (0.0, 1.0)))


def dog_starts(filters: np.ndarray, bounds: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Starting DoG parameters (K, S, 6), S = len(:data:`DOG_START_PLAN`).

    Centre at the energy centroid or the largest |pixel|; centre sigma sqrt(var_x + var_y)
    of the energy (= sigma for a Gaussian) times the plan's factor; surround/centre ratio
    from the plan; the two amplitudes the least-squares optimum for the rest.  Values are clipped inside ``bounds``.
    """
    k, h, w = filters.shape
    x0, y0, cov = energy_moments(filters)
    spread = np.sqrt(cov[:, 0, 0] + cov[:, 1, 1])
    peak = np.abs(filters.reshape(k, -1)).argmax(1)
    px, py = (peak % w).astype(np.float64), (peak // w).astype(np.float64)
    starts = []
    for centre, scale, ratio in DOG_START_PLAN:
        cx, cy = (x0, y0) if centre == 0 else (px, py)
        starts.append(np.stack([cx, cy, scale * spread, np.full(k, ratio), np.ones(k), np.zeros(k)], -1))
    p = _inside(np.stack(starts, axis=1), bounds)
    return _with_best_amplitudes(dog, p, filters, ((1.0, 0.0), (0.0, -1.0)))
