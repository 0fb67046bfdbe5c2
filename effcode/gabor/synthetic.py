"""Synthetic Gabor filters with known parameters and white noise, for tests and benchmarks."""

from __future__ import annotations

import numpy as np

from ..validation import check_float, check_int, check_random_state, seed_alias
from .model import gabor_from_table


@seed_alias
def synthetic_gabors(n: int, shape: tuple[int, int] = (16, 16), *, snr: float | None = 10.0, random_state: int = 0,
                     nx_range: tuple[float, float] = (0.1, 1.5), ny_range: tuple[float, float] = (0.1, 1.5),
                     freq_range: tuple[float, float] = (0.05, 0.4)
                    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Draw ``n`` Gabors (Ringach 2002 parametrisation) and add white Gaussian noise.

    nx, ny and freq (cycles/pixel) are uniform over their ranges, theta uniform in [0, pi),
    phase uniform in [-pi, pi), the centre uniform over the patch ([0, w-1] x [0, h-1]),
    amplitude 1; sigma_x = nx / freq, sigma_y = ny / freq.  The noise of each filter has
    variance mean(g^2) / snr, so signal power / noise power over the patch is ``snr``
    (``snr=None``: no noise).

    Returns ``(noisy, clean, truth)``: two (n, h, w) float64 arrays and a dict of length-n
    parameter arrays with the columns of :func:`effcode.gabor.fit_gabors` that define a Gabor
    (x0, y0, theta, freq, phase, sigma_x, sigma_y, amplitude, nx, ny).

    Parameters
    ----------
    n : int
        How many Gabors to draw.
    shape : tuple of int, default (16, 16)
        The patch's (h, w) in pixels.
    snr : float or None, default 10.0
        Signal power over noise power per filter (None: no noise).
    random_state : int, default 0
        Seed of the random draws.
    nx_range : tuple of float, default (0.1, 1.5)
        The range of ``nx = sigma_x * freq`` (the envelope's width across the bars in carrier
        cycles, Ringach 2002).
    ny_range : tuple of float, default (0.1, 1.5)
        The range of ``ny = sigma_y * freq`` (the width along the bars, in carrier cycles).
    freq_range : tuple of float, default (0.05, 0.4)
        The range the frequency is drawn from, cycles per pixel.
    """
    n = check_int("n", n, minimum=1)
    h, w = (check_int("shape[0]", shape[0], minimum=1), check_int("shape[1]", shape[1], minimum=1))
    rng = check_random_state(random_state)
    nx = rng.uniform(*nx_range, n)
    ny = rng.uniform(*ny_range, n)
    freq = rng.uniform(*freq_range, n)
    truth = {
        "x0": rng.uniform(0, w - 1, n), "y0": rng.uniform(0, h - 1, n), "theta": rng.uniform(0, np.pi, n),
        "freq": freq, "phase": rng.uniform(-np.pi, np.pi, n), "sigma_x": nx / freq, "sigma_y": ny / freq,
        "amplitude": np.ones(n), "nx": nx, "ny": ny,
    }
    clean = gabor_from_table(truth, (h, w))
    if snr is None:
        return clean.copy(), clean, truth
    snr = check_float("snr", snr, minimum=0.0, strict_minimum=True)
    noise_sd = np.sqrt((clean ** 2).mean(axis=(1, 2)) / snr)
    noisy = clean + rng.standard_normal(clean.shape) * noise_sd[:, None, None]
    return noisy, clean, truth
