"""Profile-likelihood intervals of a Gabor fit's nx and ny (effcode.gabor.intervals), on noisy
Gabors with known parameters."""

import numpy as np
import pytest

from effcode.errors import InputError
from effcode.gabor import fit_gabors
from effcode.gabor.intervals import at_bound, profile_intervals
from effcode.gabor.model import gabor_from_table
from effcode.v1.calibration import ringach_like_gabors
from effcode.v1.scorer import PROFILE_POINTS


def noisy(truth, shape, amplitude_snr, rng):
    clean = gabor_from_table(truth, shape)
    return clean + rng.standard_normal(clean.shape) * np.sqrt((clean ** 2).mean(axis=(1, 2)))[:, None, None] / amplitude_snr


@pytest.fixture(scope="module")
def ringach_like():
    filters, truth = ringach_like_gabors(120, (16, 16), amplitude_snr=5.0, random_state=3)
    fit = fit_gabors(filters, dog=False)
    return filters, truth, fit, profile_intervals(filters, fit, PROFILE_POINTS)


def test_intervals_hold_the_true_values_at_their_level(ringach_like):
    # known answer: 95% intervals hold the true nx and ny of 88-100% of 120 units (binomial SD 2%)
    _, truth, _, out = ringach_like
    for axis in ("nx", "ny"):
        held = (out[f"{axis}_lo"] <= truth[axis]) & (truth[axis] <= out[f"{axis}_hi"])
        assert 0.88 <= held.mean() <= 1.0, axis
        assert np.all(out[f"{axis}_lo"] <= out[f"{axis}_hi"])
    # the intervals are informative: median width under a third of a decade at SNR 5
    assert np.median(np.log10(out["nx_hi"] / out["nx_lo"])) < 0.3
    assert out["threshold"] == pytest.approx(3.88, abs=0.02)     # F(0.95; 1, 248)


def test_the_fitted_value_lies_in_its_interval_and_f_vanishes_at_the_best_fit(ringach_like):
    _, _, fit, out = ringach_like
    passed = out["f_fit"] <= out["threshold"]
    assert passed.mean() >= 0.95
    for axis in ("nx", "ny"):
        inside = (out[f"{axis}_lo"] <= fit[axis] * (1 + 1e-9)) & (fit[axis] <= out[f"{axis}_hi"] * (1 + 1e-9))
        assert np.all(inside[passed])
        # F is a difference from the lowest cost found: never below zero
        assert np.nanmin(out[f"{axis}_f"]) >= -1e-6 and np.all(np.nanmin(np.c_[out[f"{axis}_f"], out["f_fit"]], 1) <= 1e-9)


def test_low_frequency_edge_units_are_bounded_above_but_not_below():
    # derivative-of-Gaussian shapes (odd, f -> 0): a Gabor of any small nx fits, so the interval is open below
    n, rng, shape = 15, np.random.default_rng(4), (16, 16)
    truth = {"x0": rng.uniform(6, 9, n), "y0": rng.uniform(6, 9, n), "theta": rng.uniform(0, np.pi, n),
             "freq": np.full(n, 0.01), "phase": np.full(n, np.pi / 2), "sigma_x": rng.uniform(1.5, 2.5, n),
             "sigma_y": rng.uniform(1.5, 2.5, n), "amplitude": np.ones(n)}
    filters = noisy(truth, shape, 5.0, rng)
    out = profile_intervals(filters, fit_gabors(filters, dog=False), PROFILE_POINTS)
    assert out["nx_lo_open"].mean() >= 0.8 and out["ny_lo_open"].mean() >= 0.8
    assert np.all(out["nx_lo"] <= PROFILE_POINTS[0] * (1 + 1e-9))
    # ... and bounded above: an odd Gabor with several cycles under the envelope does not fit
    assert not out["nx_hi_open"].any() and np.all(out["nx_hi"] < 0.6)


def test_an_envelope_longer_than_the_patch_is_flagged_at_the_bound():
    rng, shape = np.random.default_rng(5), (12, 12)
    truth = {"x0": np.array([5.5, 5.5]), "y0": np.array([5.5, 5.5]), "theta": np.array([0.3, 0.3]),
             "freq": np.array([0.15, 0.15]), "phase": np.array([0.0, 0.0]), "sigma_x": np.array([2.0, 2.0]),
             "sigma_y": np.array([60.0, 2.5]), "amplitude": np.ones(2)}
    fit = fit_gabors(noisy(truth, shape, 10.0, rng), dog=False)
    assert at_bound(fit, shape).tolist() == [True, False]


def test_same_input_same_intervals_and_bad_input_is_refused(ringach_like):
    filters, _, fit, out = ringach_like
    again = profile_intervals(filters[:6], {k: v[:6] for k, v in fit.items()}, PROFILE_POINTS)
    for key in ("nx_lo", "nx_hi", "ny_lo", "ny_hi"):
        np.testing.assert_allclose(again[key], out[key][:6], rtol=1e-6)
    with pytest.raises(InputError, match="points"):
        profile_intervals(filters[:2], fit, [0.3, 0.2])
    with pytest.raises(InputError, match="sigma_y"):
        profile_intervals(filters[:2], {k: v[:2] for k, v in fit.items() if k != "sigma_y"}, PROFILE_POINTS)
    with pytest.raises(InputError, match="level"):
        profile_intervals(filters[:2], {k: v[:2] for k, v in fit.items()}, PROFILE_POINTS, level=1.5)


def test_a_unit_whose_own_fit_has_no_finite_f_keeps_its_value_in_the_interval():
    """Regression (a SAILnet bank crashed the scorer): when F at the fitted value is NaN and every profile
    point is rejected, the interval is the fitted value itself, closed where rejected points lie beyond."""
    from effcode.gabor.intervals import _interval

    points = np.array([0.05, 0.1, 0.2, 0.4, 3.2])
    out = _interval(np.array([0.3]), np.array([np.nan]), points, np.full((1, points.size), np.inf), 3.9)
    assert out["lo"][0] == 0.2 and out["hi"][0] == 0.4 and not out["lo_open"][0] and not out["hi_open"][0]


def test_an_interval_end_is_finite_and_ordered_when_the_fit_itself_has_no_finite_f():
    """Regression (experiment 07's full run): a NaN F at the fitted value gave NaN interval ends, hence an
    empty bin rectangle; the ends now lie between the fitted value and the first rejected point."""
    from effcode.gabor.intervals import _interval

    points = np.array([0.05, 0.1, 0.2, 0.4, 3.2])
    f_points = np.array([[np.inf, 10.0, 1.0, 20.0, np.inf]])
    out = _interval(np.array([0.3]), np.array([np.nan]), points, f_points, 3.9)
    assert 0.1 < out["lo"][0] <= 0.2 and 0.3 <= out["hi"][0] < 0.4
