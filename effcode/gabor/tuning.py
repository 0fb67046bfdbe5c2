"""Orientation and spatial-frequency tuning of filters, measured with simulated drifting gratings.

Each filter h is treated as a rectified linear unit.  A full-field grating of orientation
theta (the direction across the bars, as for the Gabor), spatial frequency f (cycles/pixel)
and phase phi, with unit amplitude,

    G(x, y) = cos(2 pi f ((x - xc) cos theta + (y - yc) sin theta) + phi)

((xc, yc) the patch centre) drives the unit with ``r = max(0, <h, G>)`` (``rectify="halfwave"``,
a half-wave rectified linear simple cell) or ``r = |<h, G>|`` (``"fullwave"``).  Over a drift
cycle, phi = 2 pi j / n_phases, F0 is the mean of r and F1 the amplitude of its first
harmonic, ``(2 / n) |sum_j r_j exp(-i phi_j)|``.  By linearity <h, G> is exactly
``C cos phi - S sin phi`` with C, S the responses to the phi = 0 and phi = -pi/2 gratings, so
every phase is evaluated from those two images without approximation.

Tuning curves use F0, the mean response.  For a half-wave rectified sinusoid F0 = R / pi and
F1 = R / 2 (R the amplitude of <h, G> over phase), so every half-wave linear unit has
F1/F0 = pi/2 ~ 1.57 and its F0 and F1 tuning curves have the same shape; a full-wave unit
has F1 = 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ..validation import check_array, check_choice, check_float, check_int
from .common import check_filters

#: Default pixels per degree of visual angle (an assumption, see docs/gabor.md): learned peak
#: frequencies of 0.1-0.2 cycles/pixel then map to 2-4 cycles/degree, the typical peak
#: spatial frequency of foveal macaque V1 simple cells (De Valois, Albrecht & Thorell 1982).
DEFAULT_PIXELS_PER_DEGREE = 20.0

TUNING_COLUMNS = ("preferred_orientation_deg", "circular_variance", "ori_bandwidth_deg", "orth_pref_ratio",
                  "peak_sf_cpd", "sf_bandwidth_oct", "sf_bandwidth_oct_at_707", "sf_lowpass", "f1_f0",
                  "peak_response")


def default_sfs(pixels_per_degree: float) -> np.ndarray:
    """Six octaves of spatial frequency in 1/8-octave steps, from 0.5/64 to 0.5 cycles/pixel,
    in cycles/degree (ascending)."""
    return 0.5 * 2.0 ** (-np.arange(48, -1, -1) / 8.0) * pixels_per_degree


def grating_responses(filters: ArrayLike, orientations_deg: ArrayLike, sfs_cpp: ArrayLike, *, n_phases: int = 32,
                      rectify: str = "halfwave") -> tuple[np.ndarray, np.ndarray]:
    """F0 and F1 of each filter's rectified response to every grating.

    ``filters`` (K, h, w); ``orientations_deg`` (n_ori,) degrees; ``sfs_cpp`` (n_sf,) cycles/pixel.
    Returns ``(f0, f1)``, each (K, n_ori, n_sf), in filter units times grating amplitude.

    Parameters
    ----------
    filters : array_like
        The filter bank, shape (K, h, w).
    orientations_deg : array_like
        Grating orientations, shape (n_ori,), degrees: the direction across the bars, from the
        x axis (columns) towards y (rows), as the Gabor's ``theta``.
    sfs_cpp : array_like
        Grating spatial frequencies, shape (n_sf,), cycles per pixel (Nyquist: 0.5).
    n_phases : int, default 32
        Phases sampled per drift cycle, at least 4.
    rectify : {"halfwave", "fullwave"}, default "halfwave"
        The output nonlinearity on the linear response: ``max(0, r)`` (a simple cell) or ``abs(r)``.
    """
    arr = check_filters(filters)
    n_phases = check_int("n_phases", n_phases, minimum=4)
    rectify = check_choice("rectify", rectify, ("halfwave", "fullwave"))
    k, h, w = arr.shape
    theta = np.radians(check_array("orientations_deg", orientations_deg, ndim=1))
    sfs = check_array("sfs_cpp", sfs_cpp, ndim=1)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    x, y = (x - (w - 1) / 2).reshape(-1), (y - (h - 1) / 2).reshape(-1)
    across = np.cos(theta)[:, None] * x + np.sin(theta)[:, None] * y                 # (n_ori, N)
    arg = 2.0 * np.pi * sfs[None, :, None] * across[:, None, :]                      # (n_ori, n_sf, N)
    # Columns: the phi = 0 and phi = -pi/2 gratings, (N, 2 * n_ori * n_sf).
    basis = np.concatenate([np.cos(arg).reshape(-1, h * w), np.sin(arg).reshape(-1, h * w)]).T
    phases = 2.0 * np.pi * np.arange(n_phases) / n_phases
    mix = np.stack([np.cos(phases), -np.sin(phases)])                # <h, G_phi> = C cos(phi) - S sin(phi)
    harmonic = np.stack([np.cos(phases), np.sin(phases)], axis=1)     # (n_phases, 2)
    n_grat = theta.size * sfs.size
    f0 = np.empty((k, n_grat))
    f1 = np.empty_like(f0)
    flat = arr.reshape(k, -1)
    for i in range(0, k, 64):                          # chunks bound the (chunk, gratings, phases) array
        cs = (flat[i:i + 64] @ basis).reshape(-1, 2, n_grat).transpose(0, 2, 1)     # (chunk, n_grat, 2)
        linear = cs @ mix                                                          # (chunk, n_grat, n_phases)
        r = np.maximum(linear, 0.0) if rectify == "halfwave" else np.abs(linear)
        f0[i:i + 64] = r.mean(-1)
        f1[i:i + 64] = (2.0 / n_phases) * np.hypot(*np.moveaxis(r @ harmonic, -1, 0))
    shape = (k, theta.size, sfs.size)
    return f0.reshape(shape), f1.reshape(shape)


def _crossing(values: np.ndarray, coords: np.ndarray, level: float) -> float:
    """Distance along ``coords`` from values[0] (the peak) to where ``values`` first falls below
    ``level``, linearly interpolated; NaN if it never does."""
    below = np.flatnonzero(values < level)
    if below.size == 0:
        return np.nan
    i = below[0]
    frac = (values[i - 1] - level) / (values[i - 1] - values[i])
    return coords[i - 1] + frac * (coords[i] - coords[i - 1]) - coords[0]


def _orientation_metrics(curve: np.ndarray, step_deg: float) -> tuple[float, float, float, float]:
    """Preferred orientation (deg), circular variance, half-bandwidth (deg), orthogonal/preferred."""
    n = curve.size
    theta = np.radians(np.arange(n) * step_deg)
    total = curve.sum()
    if not total > 0:
        return np.nan, np.nan, np.nan, np.nan
    vector = (curve * np.exp(2j * theta)).sum()
    preferred = np.degrees(np.angle(vector) / 2.0) % 180.0
    cv = 1.0 - np.abs(vector) / total
    peak = int(curve.argmax())
    half = n // 2
    offsets = np.arange(half + 1)
    level = curve[peak] / np.sqrt(2.0)
    right = _crossing(curve[(peak + offsets) % n], offsets * step_deg, level)
    left = _crossing(curve[(peak - offsets) % n], offsets * step_deg, level)
    bandwidth = 0.5 * (left + right)
    orth_angle = (peak * step_deg + 90.0) % 180.0
    grid = np.arange(n + 1) * step_deg
    orth = np.interp(orth_angle, grid, np.append(curve, curve[0]))
    return preferred, cv, bandwidth, orth / curve[peak]


def _sf_metrics(curve: np.ndarray, sfs: np.ndarray) -> tuple[float, float, float, bool]:
    """Peak SF (parabolic in log2 SF), full bandwidths (octaves) at 1/2 and at 1/sqrt(2) of the
    peak, and whether the low-SF flank stays above half height (low-pass)."""
    if not curve.max() > 0:
        return np.nan, np.nan, np.nan, False
    logf = np.log2(sfs)
    peak = int(curve.argmax())
    peak_log = logf[peak]
    if 0 < peak < len(curve) - 1:
        y0, y1, y2 = curve[peak - 1:peak + 2]
        denom = y0 - 2 * y1 + y2
        if denom < 0:
            shift = 0.5 * (y0 - y2) / denom                         # in samples, within (-0.5, 0.5)
            left_step, right_step = logf[peak] - logf[peak - 1], logf[peak + 1] - logf[peak]
            peak_log += shift * (right_step if shift > 0 else left_step)

    def flanks(level):                                  # octaves from the peak sample to each crossing
        return (_crossing(curve[peak::-1], -logf[peak::-1], level * curve[peak]),
                _crossing(curve[peak:], logf[peak:], level * curve[peak]))

    (low_half, high_half), (low_707, high_707) = flanks(0.5), flanks(1.0 / np.sqrt(2.0))
    return 2.0 ** peak_log, low_half + high_half, low_707 + high_707, bool(np.isnan(low_half))


def grating_tuning(filters: ArrayLike, *, pixels_per_degree: float = DEFAULT_PIXELS_PER_DEGREE, orientations: int = 36,
                   sfs: ArrayLike | None = None, n_phases: int = 32, rectify: str = "halfwave"
                  ) -> dict[str, np.ndarray]:
    """Orientation and spatial-frequency tuning of each filter from simulated drifting gratings.

    ``filters`` (K, h, w); ``pixels_per_degree`` converts cycles/pixel to cycles/degree
    (default 20, an assumption: see :data:`DEFAULT_PIXELS_PER_DEGREE`); ``orientations``
    equally spaced over [0, 180) degrees; ``sfs`` ascending spatial frequencies in
    cycles/degree, at most the Nyquist frequency ``0.5 * pixels_per_degree`` (default
    :func:`default_sfs`); ``n_phases`` phases per drift cycle; ``rectify`` "halfwave" or
    "fullwave" (module docstring).

    The preferred stimulus is the (orientation, SF) grating with the largest F0.  Returns a
    dict of length-K arrays:

    - ``preferred_orientation_deg``: angle of sum r(theta) e^{2 i theta} / 2, degrees in [0, 180),
      over the orientation curve at the preferred SF;
    - ``circular_variance``: ``1 - |sum r(theta) e^{2 i theta}| / sum r(theta)`` (0 sharp, 1 flat);
    - ``ori_bandwidth_deg``: half-width at 1/sqrt(2) of the peak, the mean of both flanks,
      linearly interpolated (Ringach, Shapley & Hawken 2002); NaN when the curve does not drop
      that low within 90 degrees on both sides (non-selective);
    - ``orth_pref_ratio``: r(preferred + 90 deg) / r(preferred) (at the peak sample);
    - ``peak_sf_cpd``: peak of the SF curve at the preferred orientation, cycles/degree,
      refined by a parabola in log2 SF;
    - ``sf_bandwidth_oct``: full width at half height of the SF curve, octaves (NaN if either
      flank stays above half height within the sampled range);
    - ``sf_bandwidth_oct_at_707``: the same at 1/sqrt(2) of the peak, the level of Schiller,
      Finlay & Volman (1976) and of the Brain-Score SF-bandwidth benchmark;
    - ``sf_lowpass``: the low-SF flank never falls below half height;
    - ``f1_f0``: F1 / F0 at the preferred stimulus (pi/2 for every half-wave linear unit);
    - ``peak_response``: F0 at the preferred stimulus (filter units x grating amplitude).

    Parameters
    ----------
    filters : array_like
        The filter bank, shape (K, h, w).
    pixels_per_degree : float, default DEFAULT_PIXELS_PER_DEGREE
        Assumed pixels per degree of visual angle (20); converts cycles per pixel to cycles per
        degree.
    orientations : int, default 36
        How many equally spaced orientations over [0, 180) degrees, at least 4.
    sfs : array_like or None, default None
        Ascending spatial frequencies in cycles per degree, at most the Nyquist frequency
        ``0.5 * pixels_per_degree`` (None: :func:`default_sfs`, six octaves up to Nyquist).
    n_phases : int, default 32
        Phases sampled per drift cycle, at least 4.
    rectify : {"halfwave", "fullwave"}, default "halfwave"
        The output nonlinearity on the linear response: ``max(0, r)`` (a simple cell) or ``abs(r)``.
    """
    arr = check_filters(filters)
    ppd = check_float("pixels_per_degree", pixels_per_degree, minimum=0.0, strict_minimum=True)
    n_ori = check_int("orientations", orientations, minimum=4)
    n_phases = check_int("n_phases", n_phases, minimum=4)
    rectify = check_choice("rectify", rectify, ("halfwave", "fullwave"))
    sfs_cpd = default_sfs(ppd) if sfs is None else check_array("sfs", sfs, ndim=1)
    if sfs_cpd.size < 3 or np.any(sfs_cpd <= 0) or np.any(np.diff(sfs_cpd) <= 0):
        raise InputError(f"sfs must be at least 3 positive, strictly ascending values in cycles/degree, got {sfs_cpd}")
    if sfs_cpd[-1] > 0.5 * ppd * (1 + 1e-9):
        raise InputError(f"sfs must not exceed the Nyquist frequency 0.5 * pixels_per_degree = {0.5 * ppd:g} "
                         f"cycles/degree, got a largest value of {sfs_cpd[-1]:g}")
    step = 180.0 / n_ori
    f0, f1 = grating_responses(arr, np.arange(n_ori) * step, sfs_cpd / ppd, n_phases=n_phases, rectify=rectify)
    table = {name: np.full(arr.shape[0], np.nan) for name in TUNING_COLUMNS}
    table["sf_lowpass"] = np.zeros(arr.shape[0], dtype=bool)
    for i in range(arr.shape[0]):
        o, s = np.unravel_index(int(f0[i].argmax()), f0[i].shape)
        (table["preferred_orientation_deg"][i], table["circular_variance"][i], table["ori_bandwidth_deg"][i],
         table["orth_pref_ratio"][i]) = _orientation_metrics(f0[i, :, s], step)
        (peak_cpp, table["sf_bandwidth_oct"][i], table["sf_bandwidth_oct_at_707"][i],
         table["sf_lowpass"][i]) = _sf_metrics(f0[i, o, :], sfs_cpd / ppd)
        table["peak_sf_cpd"][i] = peak_cpp * ppd
        peak = f0[i, o, s]
        table["peak_response"][i] = peak
        table["f1_f0"][i] = f1[i, o, s] / peak if peak > 0 else np.nan
    return table
