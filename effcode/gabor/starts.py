"""Starting points for the Gabor and DoG fits, from the spectrum and the energy of each filter.

Everything here is deterministic and runs in numpy on the CPU; the scipy baseline of the
benchmark starts from the same points.
"""

from __future__ import annotations

import numpy as np
import torch

from .model import gabor, pixel_grid

#: Envelope scale and spectral peak (0 = highest, 1 = second, -1 = a low-frequency start) of each
#: Gabor start, in the order they are used: ``n_starts`` takes the first n.
GABOR_START_PLAN = ((1.0, 0), (1.0, 1), (1.0, -1), (0.6, 0), (1.6, 0), (0.6, 1))
#: (centre from the energy centroid (0) or the largest |pixel| (1), centre-sigma scale) of each DoG start.
DOG_START_PLAN = ((0, 1.0), (1, 0.5), (0, 0.5), (1, 1.0))


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


def _linear_amplitudes(basis: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """Least-squares coefficients (K, S, m) of ``basis`` (K, S, m, N) for the flattened filters (K, N)."""
    gram = basis @ basis.swapaxes(-1, -2)                                   # (K, S, m, m)
    rhs = basis @ filters[:, None, :, None]                                 # (K, S, m, 1)
    ridge = 1e-9 * np.trace(gram, axis1=-2, axis2=-1)[..., None, None] + 1e-300
    return np.linalg.solve(gram + ridge * np.eye(gram.shape[-1]), rhs)[..., 0]


def gabor_starts(filters: np.ndarray, n_starts: int, bounds: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Starting Gabor parameters (K, n_starts, 8), in the order of :data:`model.GABOR_PARAMS`.

    Frequency and orientation come from a spectral peak (:func:`spectral_peaks`), the centre
    and the envelope widths from the energy moments: the squared envelope has variance
    sigma^2 / 2 along each axis, so sigma = sqrt(2 var) scaled by the plan's factor.  The
    amplitudes (a, b), i.e. amplitude and phase, are the least-squares optimum for the rest.
    All values are clipped into ``bounds`` (lo, hi), each (8,).
    """
    k, h, w = filters.shape
    freq, theta = spectral_peaks(filters)
    x0, y0, cov = energy_moments(filters)
    # Low-frequency start: about half a cycle over the patch, across the minor energy axis.
    _, vecs = np.linalg.eigh(cov)
    theta_low = np.mod(np.arctan2(vecs[:, 1, 0], vecs[:, 0, 0]), np.pi)
    starts = []
    for scale, peak in GABOR_START_PLAN[:n_starts]:
        f = np.full(k, 0.5 / max(h, w)) if peak < 0 else freq[:, peak]
        t = theta_low if peak < 0 else theta[:, peak]
        u = np.stack([np.cos(t), np.sin(t)], -1)
        v = np.stack([-np.sin(t), np.cos(t)], -1)
        var_x = np.einsum("ki,kij,kj->k", u, cov, u)
        var_y = np.einsum("ki,kij,kj->k", v, cov, v)
        sx = scale * np.sqrt(2.0 * var_x)
        sy = scale * np.sqrt(2.0 * var_y)
        starts.append(np.stack([x0, y0, t, f, sx, sy, np.ones(k), np.zeros(k)], -1))
    p = np.stack(starts, axis=1)                                            # (K, S, 8)
    lo, hi = bounds
    span = hi - lo
    finite = np.isfinite(span)
    inner_lo = np.where(finite, lo + 0.02 * np.where(finite, span, 0), -np.inf)
    inner_hi = np.where(finite, hi - 0.02 * np.where(finite, span, 0), np.inf)
    p = np.clip(p, inner_lo, inner_hi)
    # Solve for (a, b): the model is linear in them.
    x, y = pixel_grid((h, w))
    flat = p.reshape(-1, 8)
    basis = []
    for ab in ((1.0, 0.0), (0.0, 1.0)):
        q = flat.copy()
        q[:, 6:] = ab
        basis.append(gabor(torch.from_numpy(q), x, y).numpy())
    basis = np.stack(basis, axis=1).reshape(k, len(starts), 2, h * w)
    p[..., 6:] = _linear_amplitudes(basis, filters.reshape(k, -1))
    return p


def dog_starts(filters: np.ndarray, bounds: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Starting DoG parameters (K, S, 6) from the energy centroid or the largest pixel.

    The centre sigma is sqrt(mean variance of the energy) times the plan's factor, the
    surround twice as wide; the two amplitudes are the least-squares optimum for the rest.
    """
    from .model import dog

    k, h, w = filters.shape
    x0, y0, cov = energy_moments(filters)
    spread = np.sqrt(0.5 * (cov[:, 0, 0] + cov[:, 1, 1]) * 2.0)
    peak = np.abs(filters.reshape(k, -1)).argmax(1)
    px, py = (peak % w).astype(np.float64), (peak // w).astype(np.float64)
    starts = []
    for centre, scale in DOG_START_PLAN:
        cx, cy = (x0, y0) if centre == 0 else (px, py)
        starts.append(np.stack([cx, cy, scale * spread, np.full(k, 2.0), np.ones(k), np.zeros(k)], -1))
    p = np.stack(starts, axis=1)
    lo, hi = bounds
    span = hi - lo
    finite = np.isfinite(span)
    p = np.clip(p, np.where(finite, lo + 0.02 * np.where(finite, span, 0), -np.inf),
                np.where(finite, hi - 0.02 * np.where(finite, span, 0), np.inf))
    x, y = pixel_grid((h, w))
    flat = p.reshape(-1, 6)
    basis = []
    for amps in ((1.0, 0.0), (0.0, -1.0)):
        q = flat.copy()
        q[:, 4:] = amps
        basis.append(dog(torch.from_numpy(q), x, y).numpy())
    basis = np.stack(basis, axis=1).reshape(k, len(starts), 2, h * w)
    p[..., 4:] = _linear_amplitudes(basis, filters.reshape(k, -1))
    return p
