"""Known-answer calibration of the scorer: populations drawn from Ringach's (2002) histogram,
rendered as noisy Gabors, scored, and compared with the truth they were drawn from.

:func:`ringach_like_gabors` draws a population whose true (nx, ny) follow Ringach's 5x5
histogram (a bin with its probability, then log-uniform inside it), with every orientation and
phase, envelope sizes that fit the patch and white noise at a stated *amplitude SNR*: the RMS of
the Gabor over the patch divided by the noise SD (a power SNR of amplitude_snr², so R² of a
perfect fit is about amplitude_snr² / (1 + amplitude_snr²)).

:func:`blob_fraction_calibration` scores one such population and reports the scorer's
blob-like fraction (point and bracket) beside the true fraction of the units it compared.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_float, check_int, check_random_state, seed_alias
from .findings import blob_like
from .reference import ringach2002_nxny_histogram

#: envelope SD of the longer axis, in pixels, drawn log-uniform from 1.5 px to a quarter of the patch side
MIN_LONG_SIGMA = 1.5
#: highest carrier frequency drawn, cycles/pixel (below Nyquist with a margin)
MAX_FREQUENCY = 0.35


@seed_alias
def ringach_like_gabors(n: int, shape=(16, 16), *, amplitude_snr: float = 5.0, random_state=0):
    """``n`` noisy Gabors whose (nx, ny) are drawn from Ringach's histogram (module docstring).

    The longer envelope SD s = max(sigma_x, sigma_y) is log-uniform in [1.5, side / 4] px and
    f = max(nx, ny) / s (at most :data:`MAX_FREQUENCY`, then s shrinks); theta uniform in
    [0, pi), phase in [-pi, pi), the centre within side / 8 of the patch centre, amplitude 1.

    Returns ``(noisy, truth)``: an (n, h, w) float64 array and a dict of length-n arrays (x0, y0,
    theta, freq, phase, sigma_x, sigma_y, amplitude, nx, ny).
    """
    from ..gabor.model import gabor_from_table

    n = check_int("n", n)
    h, w = check_int("shape[0]", shape[0], minimum=4), check_int("shape[1]", shape[1], minimum=4)
    amplitude_snr = check_float("amplitude_snr", amplitude_snr, minimum=0.0, strict_minimum=True)
    rng = check_random_state(random_state)
    nx, ny = ringach2002_nxny_histogram().sample(n, random_state=rng)
    side = max(h, w)
    long_sigma = np.exp(rng.uniform(np.log(MIN_LONG_SIGMA), np.log(side / 4), n))
    freq = np.minimum(np.maximum(nx, ny) / long_sigma, MAX_FREQUENCY)
    truth = {"x0": (w - 1) / 2 + rng.uniform(-side / 8, side / 8, n),
             "y0": (h - 1) / 2 + rng.uniform(-side / 8, side / 8, n),
             "theta": rng.uniform(0, np.pi, n), "freq": freq, "phase": rng.uniform(-np.pi, np.pi, n),
             "sigma_x": nx / freq, "sigma_y": ny / freq, "amplitude": np.ones(n), "nx": nx, "ny": ny}
    clean = gabor_from_table(truth, (h, w))
    noise_sd = np.sqrt((clean ** 2).mean(axis=(1, 2))) / amplitude_snr
    return clean + rng.standard_normal(clean.shape) * noise_sd[:, None, None], truth


@seed_alias
def blob_fraction_calibration(n: int, shape=(16, 16), *, amplitude_snr: float = 5.0, random_state: int = 0,
                              n_bootstrap: int = 100) -> dict:
    """Score a :func:`ringach_like_gabors` population and compare its blob-like fraction with the truth.

    Returns ``truth`` (true blob-like fraction of the compared units, R² ≥ 0.7), ``point``,
    ``lo``, ``hi`` (the scorer's :attr:`~effcode.v1.V1PopulationScore.blob_fraction`), ``covered``
    (lo <= truth <= hi), ``width`` (hi - lo), ``point_error`` (point - truth), ``n`` (units
    drawn), ``n_compared``, ``n_undetermined``, ``nx_coverage`` and ``ny_coverage`` (fractions of
    compared units whose interval holds the true value), and the shape and SNR.
    """
    from .scorer import score_population

    noisy, truth = ringach_like_gabors(n, shape, amplitude_snr=amplitude_snr, random_state=random_state)
    score = score_population(noisy, population="filters", n_bootstrap=n_bootstrap, random_state=random_state)
    units, compared = score.units, score.units["r2_ok"]
    true_blob = float(blob_like(truth["nx"][compared], truth["ny"][compared]).mean())
    fraction = score.blob_fraction
    coverage = {axis: float(np.mean((units[f"{axis}_lo"][compared] <= truth[axis][compared])
                                    & (truth[axis][compared] <= units[f"{axis}_hi"][compared])))
                for axis in ("nx", "ny")}
    return {"shape": f"{shape[0]}x{shape[1]}", "amplitude_snr": float(amplitude_snr), "n": int(n),
            "n_compared": int(compared.sum()), "n_undetermined": int(score.n_unresolved), "truth": true_blob,
            "point": fraction["point"], "lo": fraction["lo"], "hi": fraction["hi"],
            "covered": bool(fraction["lo"] <= true_blob <= fraction["hi"]), "width": fraction["hi"] - fraction["lo"],
            "point_error": fraction["point"] - true_blob, "nx_coverage": coverage["nx"], "ny_coverage": coverage["ny"]}
