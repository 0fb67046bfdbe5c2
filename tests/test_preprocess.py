import warnings

import numpy as np
import pytest
import torch

from effcode.data import (Image, PatchWhitener, log_luminance, normalize_variance, olshausen_field_filter,
                          remove_dc, whiten_images, whiten_olshausen_field)
from effcode.errors import InputError


def one_over_f_image(n, seed):
    """Random phases, amplitude spectrum proportional to 1/|f| (f in cycles/pixel)."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.fft2(rng.standard_normal((n, n)))
    f = np.hypot(np.fft.fftfreq(n)[:, None], np.fft.fftfreq(n)[None, :])
    f[0, 0] = np.inf
    return np.real(np.fft.ifft2(spectrum / f))


def spectral_slope(image, lo=0.02, hi=0.2):
    """Slope of log radially averaged amplitude vs log frequency over [lo, hi] cycles/pixel."""
    amplitude = np.abs(np.fft.fft2(image - image.mean()))
    f = np.hypot(np.fft.fftfreq(image.shape[0])[:, None], np.fft.fftfreq(image.shape[1])[None, :])
    edges = np.geomspace(lo, hi, 16)
    centres = np.sqrt(edges[:-1] * edges[1:])
    means = [amplitude[(f >= a) & (f < b)].mean() for a, b in zip(edges[:-1], edges[1:])]
    return np.polyfit(np.log(centres), np.log(means), 1)[0]


@pytest.mark.parametrize("seed", [0, 1])
def test_olshausen_field_whitening_flattens_one_over_f_spectrum(seed):
    image = one_over_f_image(256, seed)
    assert abs(spectral_slope(image) + 1) < 0.1
    assert abs(spectral_slope(whiten_olshausen_field(image))) < 0.2


def test_filter_formula_at_known_frequencies():
    filt = olshausen_field_filter((100, 100), f0=0.4)
    assert filt[0, 0] == 0.0
    f = 0.25  # row 25 of a 100-point grid
    assert filt[25, 0] == pytest.approx(f * np.exp(-(f / 0.4) ** 4))
    f = np.hypot(0.3, 0.4)
    assert filt[30, 40] == pytest.approx(f * np.exp(-(f / 0.4) ** 4))


@pytest.mark.parametrize("shape", [(99, 151), (64, 50), (37, 37)])
def test_periodic_grating_is_scaled_by_filter_gain_for_any_shape(shape):
    rows, cols = shape
    ky, kx = 3, 5
    r, c = np.mgrid[0:rows, 0:cols]
    grating = np.cos(2 * np.pi * (ky * r / rows + kx * c / cols)) + 7.0
    out = whiten_olshausen_field(grating, f0=0.3, pad="periodic")
    f = np.hypot(ky / rows, kx / cols)
    gain = f * np.exp(-(f / 0.3) ** 4)
    np.testing.assert_allclose(out, gain * (grating - 7.0), atol=1e-12)


def test_symmetric_padding_suppresses_wraparound_edge_response():
    r, c = np.mgrid[0:64, 0:80]
    ramp = c / 80.0 + 0.3 * r / 64.0
    periodic = whiten_olshausen_field(ramp, pad="periodic")
    symmetric = whiten_olshausen_field(ramp)
    assert symmetric.shape == ramp.shape
    border = (slice(None), [0, -1])
    assert np.abs(periodic[border]).max() > 5 * np.abs(symmetric[border]).max()


def test_log_luminance_known_values_and_scale_invariance():
    flat = np.full((8, 9), 0.5)
    np.testing.assert_allclose(log_luminance(flat, eps=0.01), np.log(0.5 * 1.01))
    x = np.random.default_rng(0).uniform(0, 1, (16, 16))
    np.testing.assert_allclose(log_luminance(3.0 * x), log_luminance(x) + np.log(3.0))
    with pytest.raises(InputError, match="non-negative"):
        log_luminance(x - 0.5)


def test_whiten_images_unit_variance_and_zero_mean():
    rng = np.random.default_rng(0)
    images = [rng.uniform(0.1, 1, (40, 56)), rng.uniform(0.1, 1, (33, 31))]
    for method in ("olshausen_field", "none"):
        for log in (False, True):
            out = whiten_images(images, method=method, log=log)
            for x, src in zip(out, images):
                assert x.shape == src.shape and x.dtype == np.float64
                assert abs(x.mean()) < 1e-12 and x.std() == pytest.approx(1.0)
    standardised = (images[0] - images[0].mean()) / images[0].std()
    np.testing.assert_allclose(whiten_images(images, method="none")[0], standardised)


def test_whiten_images_does_not_rewhiten_prewhitened_images():
    array = np.random.default_rng(1).standard_normal((32, 32))
    image = Image(array=array, id="olshausen/01", sha256="x", source="olshausen", whitened=True)
    out = whiten_images([image], log=True)[0]
    np.testing.assert_allclose(out, (array - array.mean()) / array.std())


def test_whiten_images_rejects_constant_and_nan_images():
    with pytest.raises(InputError, match=r"images\[1\] is constant"):
        whiten_images([np.random.default_rng(0).random((8, 8)), np.ones((8, 8))])
    bad = np.ones((8, 8))
    bad[2, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        whiten_images([bad])
    with pytest.raises(InputError, match="method"):
        whiten_images([np.eye(4)], method="pca")


def correlated_data(n=20000, seed=0):
    rng = np.random.default_rng(seed)
    variances = np.array([9.0, 4.0, 1.0, 0.25, 0.04])
    rotation, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    cov = rotation @ np.diag(variances) @ rotation.T
    x = rng.multivariate_normal(np.arange(5.0), cov, size=n)
    return x, cov, rotation, variances


@pytest.mark.parametrize("kind", ["pca", "zca"])
def test_whitened_patches_have_identity_covariance_and_invert(kind):
    x, *_ = correlated_data()
    whitener = PatchWhitener(kind=kind, eps=0.0).fit(x)
    z = whitener.transform(x)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(z.T @ z / len(z), np.eye(5), atol=1e-10)
    np.testing.assert_allclose(whitener.inverse_transform(z), x, atol=1e-9)


def test_zca_is_symmetric_inverse_square_root_of_covariance():
    x, *_ = correlated_data()
    whitener = PatchWhitener(kind="zca", eps=0.0).fit(x)
    w = whitener.whitening_
    np.testing.assert_allclose(w, w.T, atol=1e-12)
    sample_cov = np.cov(x.T, bias=True)
    np.testing.assert_allclose(w @ sample_cov @ w, np.eye(5), atol=1e-10)
    # ZCA is the whitening closest to the identity: the ZCA output correlates positively with its input
    z = whitener.transform(x)
    assert all(np.corrcoef(z[:, i], x[:, i])[0, 1] > 0.3 for i in range(5))


def test_dimension_reduction_keeps_top_variance_directions():
    x, cov, rotation, variances = correlated_data(n=50000)
    whitener = PatchWhitener(kind="pca", n_components=2, eps=0.0).fit(x)
    np.testing.assert_allclose(whitener.explained_variance_, variances[:2], rtol=0.03)
    # kept components span the true top-2 eigenvectors
    overlap = whitener.components_ @ rotation[:, :2]
    np.testing.assert_allclose(np.abs(np.linalg.det(overlap)), 1.0, atol=0.01)
    z = whitener.transform(x)
    assert z.shape == (50000, 2)
    np.testing.assert_allclose(z.T @ z / len(z), np.eye(2), atol=1e-10)
    # reconstruction error = variance of the discarded directions
    residual = x - whitener.inverse_transform(z)
    assert (residual ** 2).sum(axis=1).mean() == pytest.approx(variances[2:].sum(), rel=0.05)
    zca = PatchWhitener(kind="zca", n_components=2, eps=0.0).fit(x)
    assert zca.whitening_.shape == (5, 5) and np.linalg.matrix_rank(zca.whitening_) == 2


def test_patch_whitener_errors():
    x, *_ = correlated_data(n=100)
    with pytest.raises(InputError, match="n_components"):
        PatchWhitener(n_components=6).fit(x)
    with pytest.raises(InputError, match="kind"):
        PatchWhitener(kind="ica").fit(x)
    with pytest.raises(InputError, match="not fitted"):
        PatchWhitener().transform(x)
    with pytest.raises(InputError, match="NaN"):
        PatchWhitener().fit(np.full((10, 5), np.nan))


def test_remove_dc_and_normalize_variance():
    rng = np.random.default_rng(0)
    patches = rng.standard_normal((50, 16))
    shifted = patches + rng.standard_normal((50, 1)) * 10
    np.testing.assert_allclose(remove_dc(shifted), remove_dc(patches), atol=1e-12)
    np.testing.assert_allclose(remove_dc(patches).mean(axis=1), 0, atol=1e-12)
    stack = rng.standard_normal((4, 3, 3))
    np.testing.assert_allclose(remove_dc(stack).mean(axis=(1, 2)), 0, atol=1e-12)
    tensor = torch.from_numpy(shifted)
    np.testing.assert_allclose(remove_dc(tensor).numpy(), remove_dc(shifted), atol=1e-12)

    scaled = normalize_variance(5.0 * patches)
    assert scaled.std() == pytest.approx(1.0)
    rows = np.vstack([3.0 * patches[:3], np.full((1, 16), 2.0)])
    out = normalize_variance(rows, axis=1)
    np.testing.assert_allclose(out[:3].std(axis=1), 1.0)
    np.testing.assert_array_equal(out[3], rows[3])  # zero-variance row unchanged
    np.testing.assert_allclose(normalize_variance(torch.from_numpy(rows), axis=1).numpy(), out)


def test_whitener_feature_names_pass_through_a_pipeline():
    from sklearn.pipeline import make_pipeline

    from effcode.learners import SparseCoding

    x = np.random.default_rng(0).standard_normal((300, 9))
    pca = PatchWhitener(n_components=4).fit(x)
    assert list(pca.get_feature_names_out()) == [f"patchwhitener{i}" for i in range(4)]
    assert pca.transform(x).shape[1] == len(pca.get_feature_names_out())
    zca = PatchWhitener(kind="zca").fit(x)          # pixel space: the input's names
    assert list(zca.get_feature_names_out()) == [f"x{i}" for i in range(9)]
    assert list(zca.get_feature_names_out([f"p{i}" for i in range(9)])) == [f"p{i}" for i in range(9)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")             # three steps: too short to converge
        pipe = make_pipeline(PatchWhitener(n_components=6),
                             SparseCoding(n_components=5, n_steps=3, batch_size=64)).fit(x)
    assert list(pipe.get_feature_names_out()) == [f"sparsecoding{i}" for i in range(5)]
    assert list(pipe[:-1].get_feature_names_out()) == [f"patchwhitener{i}" for i in range(6)]
    with pytest.raises(InputError, match="not fitted"):
        PatchWhitener().get_feature_names_out()
