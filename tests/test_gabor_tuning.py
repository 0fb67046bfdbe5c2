"""Known-answer tests of grating tuning (effcode.gabor.grating_tuning)."""

import math

import numpy as np
import pytest
import torch

from effcode.errors import InputError
from effcode.gabor import BANDWIDTH_CONSTANT, DEFAULT_PIXELS_PER_DEGREE, grating_responses, grating_tuning
from effcode.gabor.model import dog, gabor_from_table, pixel_grid


def centred_gabors(size, freq, theta, nx, ny, phase=0.0):
    """Gabors at the centre of a size x size patch; scalar or equal-length list arguments."""
    cols = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=float)) for v in (freq, theta, nx, ny, phase)))
    freq, theta, nx, ny, phase = cols
    table = dict(x0=np.full(freq.size, (size - 1) / 2), y0=np.full(freq.size, (size - 1) / 2), theta=theta,
                 freq=freq, phase=phase, sigma_x=nx / freq, sigma_y=ny / freq, amplitude=np.ones(freq.size))
    return gabor_from_table(table, (size, size))


def test_peak_sf_and_preferred_orientation_match_the_gabor():
    ppd = 20.0
    thetas = np.radians([0.0, 30.0, 100.0, 170.0])
    filters = centred_gabors(32, [0.125, 0.1, 0.2, 0.15], thetas, 0.7, 0.6, [0.0, 1.0, -2.0, 3.0])
    table = grating_tuning(filters, pixels_per_degree=ppd)
    np.testing.assert_allclose(table["peak_sf_cpd"], np.array([0.125, 0.1, 0.2, 0.15]) * ppd, rtol=0.03)
    err = (table["preferred_orientation_deg"] - np.degrees(thetas) + 90.0) % 180.0 - 90.0
    assert np.all(np.abs(err) < 1.0)
    assert np.all(table["orth_pref_ratio"] < 0.02)
    # Doubling the assumed pixels per degree doubles the peak SF in cycles/degree.
    np.testing.assert_allclose(grating_tuning(filters, pixels_per_degree=2 * ppd)["peak_sf_cpd"],
                               2 * table["peak_sf_cpd"], rtol=1e-6)


def test_orientation_bandwidth_narrows_with_ny_as_predicted():
    # Along the ring |k| = f the spectrum of a Gabor falls as exp(-(2 pi ny dtheta)^2 / 2), so the
    # half-width at 1/sqrt(2) is sqrt(ln 2) / (2 pi ny) radians.
    ny = np.array([0.4, 0.6, 0.9])
    sfs = np.geomspace(1.25, 5.0, 17)                     # around the peak, 2.5 c/deg at 20 px/deg
    table = grating_tuning(centred_gabors(48, 0.125, 0.4, 0.8, ny), orientations=180, sfs=sfs)
    predicted = np.degrees(np.sqrt(np.log(2.0)) / (2 * np.pi * ny))
    np.testing.assert_allclose(table["ori_bandwidth_deg"], predicted, rtol=0.06)
    assert np.all(np.diff(table["ori_bandwidth_deg"]) < 0) and np.all(np.diff(table["circular_variance"]) < 0)


def test_sf_bandwidth_matches_the_gabor_formula():
    nx = np.array([0.4, 0.7, 1.0])
    table = grating_tuning(centred_gabors(48, 0.125, 1.0, nx, 0.8), orientations=36)
    c = BANDWIDTH_CONSTANT
    np.testing.assert_allclose(table["sf_bandwidth_oct"], np.log2((nx + c) / (nx - c)), atol=0.05)
    # At 1/sqrt(2) of the peak the Gaussian's half-width shrinks by sqrt(2).
    c707 = c / np.sqrt(2.0)
    np.testing.assert_allclose(table["sf_bandwidth_oct_at_707"], np.log2((nx + c707) / (nx - c707)), atol=0.05)
    assert not table["sf_lowpass"].any()


def test_f1_over_f0_of_rectified_linear_units():
    filters = centred_gabors(16, [0.2, 0.1], [1.0, 2.0], 0.6, 0.5, [0.0, 1.2])
    half = grating_tuning(filters, rectify="halfwave")
    # A half-wave rectified sinusoid has F0 = R / pi and F1 = R / 2.
    np.testing.assert_allclose(half["f1_f0"], np.pi / 2, rtol=0.005)
    full = grating_tuning(filters, rectify="fullwave")
    assert np.all(full["f1_f0"] < 1e-6)
    # Full-wave mean |R cos| = 2R / pi, twice the half-wave F0.
    np.testing.assert_allclose(full["peak_response"], 2 * half["peak_response"], rtol=0.01)


def test_isotropic_and_lowpass_filters():
    x, y = pixel_grid((16, 16), dtype=torch.float64)
    params = torch.tensor([[7.5, 7.5, 1.5, 2.5, 1.0, 0.9 / 2.5 ** 2],    # centre-surround, band-pass
                           [7.5, 7.5, 2.0, 1.5, 1.0, 0.0]],              # Gaussian blob, low-pass
                          dtype=torch.float64)
    filters = dog(params, x, y).numpy().reshape(2, 16, 16)
    table = grating_tuning(filters)
    # No orientation preference: flat curve, circular variance 1, no bandwidth.
    assert np.all(table["circular_variance"] > 0.97)
    assert np.all(np.isnan(table["ori_bandwidth_deg"]))
    np.testing.assert_allclose(table["orth_pref_ratio"], 1.0, atol=0.05)
    assert table["sf_lowpass"].tolist() == [False, True] and np.isnan(table["sf_bandwidth_oct"][1])


def test_grating_responses_are_linear_in_the_filter():
    filters = centred_gabors(16, 0.15, 0.3, 0.5, 0.5)
    f0, f1 = grating_responses(filters, [0.0, 17.2], [0.05, 0.15], n_phases=32)
    f0_double, _ = grating_responses(3 * filters, [0.0, 17.2], [0.05, 0.15], n_phases=32)
    np.testing.assert_allclose(f0_double, 3 * f0)
    assert f0.shape == f1.shape == (1, 2, 2)
    # The response amplitude R at (theta, f) is |sum h exp(-i k.x)|; F1 = R / 2.
    h, w = filters.shape[1:]
    yy, xx = np.mgrid[0:h, 0:w] - (h - 1) / 2
    k = 2 * np.pi * 0.15 * (np.cos(np.radians(17.2)) * xx + np.sin(np.radians(17.2)) * yy)
    amp = abs((filters[0] * np.exp(-1j * k)).sum())
    assert f1[0, 1, 1] == pytest.approx(amp / 2, rel=1e-9)


def test_default_pixels_per_degree_maps_learned_frequencies_to_v1():
    assert 0.1 * DEFAULT_PIXELS_PER_DEGREE == pytest.approx(2.0)
    assert 0.2 * DEFAULT_PIXELS_PER_DEGREE == pytest.approx(4.0)


def test_bad_inputs_raise_input_error():
    filters = centred_gabors(16, 0.15, 0.3, 0.5, 0.5)
    with pytest.raises(InputError, match="Nyquist"):
        grating_tuning(filters, pixels_per_degree=10.0, sfs=[1.0, 2.0, 6.0])
    with pytest.raises(InputError, match="ascending"):
        grating_tuning(filters, sfs=[2.0, 1.0, 3.0])
    with pytest.raises(InputError, match="rectify"):
        grating_tuning(filters, rectify="square")
    with pytest.raises(InputError, match="pixels_per_degree"):
        grating_tuning(filters, pixels_per_degree=0.0)
    with pytest.raises(InputError, match="orientations"):
        grating_tuning(filters, orientations=2)
    with pytest.raises(InputError, match="filters"):
        grating_tuning(filters[0])
    assert math.isfinite(grating_tuning(filters)["peak_sf_cpd"][0])
