"""The non-default image sets of effcode.data.synthetic_sets: offline, deterministic, 8-bit, 256 x 512."""

import hashlib

import numpy as np
import pytest

from effcode.data import SOURCES, load_images, sources, srgb_to_linear
from effcode.data.synthetic_sets import add_sensor_noise, dead_leaves, linear_to_srgb, quantise_8bit
from effcode.errors import InputError

SETS = ["dead_leaves", "noisy_photos"]


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """Any download attempt (effcode's or pooch's) fails the test."""
    import pooch

    def refuse(*args, **kwargs):
        raise AssertionError("tests must not download")

    monkeypatch.setattr(sources, "_download", refuse)
    monkeypatch.setattr(pooch, "retrieve", refuse)
    monkeypatch.setenv("EFFCODE_DATA_DIR", str(tmp_path / "cache"))


def radial_power_slope(array, low=0.01, high=0.25):
    """Log-log slope of the radially averaged power spectrum between ``low`` and ``high`` cycles/px."""
    a = array - array.mean()
    a = a * np.outer(np.hanning(a.shape[0]), np.hanning(a.shape[1]))
    power = np.abs(np.fft.fft2(a)) ** 2
    radius = np.hypot(np.fft.fftfreq(a.shape[0])[:, None], np.fft.fftfreq(a.shape[1])[None, :])
    edges = np.geomspace(low, high, 12)
    centres = np.sqrt(edges[1:] * edges[:-1])
    means = [power[(radius >= lo) & (radius < hi)].mean() for lo, hi in zip(edges[:-1], edges[1:])]
    return np.polyfit(np.log(centres), np.log(means), 1)[0]


@pytest.mark.parametrize("name", SETS)
def test_set_is_registered_8bit_256x512_and_deterministic(name):
    assert name in SOURCES.names()
    images = load_images(name)
    assert len(images) == 8 and len({im.id for im in images}) == 8
    for im in images:
        assert im.id.startswith(name + "/") and im.source == name and not im.whitened
        assert im.shape == (256, 512) and im.array.dtype == np.float64
        assert 0.0 <= im.array.min() and im.array.max() <= 1.0 and im.array.std() > 0.05
        np.testing.assert_array_equal(im.array * 255, np.round(im.array * 255))  # 8-bit levels
        assert len(np.unique(im.array)) > 100
        assert im.sha256 == hashlib.sha256(im.array.astype("<f8").tobytes()).hexdigest()
    again = load_images(name)
    assert [im.sha256 for im in again] == [im.sha256 for im in images]
    again[0].array[:] = 0.0  # copies: the cached set is not changed
    assert load_images(name)[0].sha256 == images[0].sha256


def test_sets_differ_from_default_images():
    default = {im.sha256 for im in load_images("default")}
    for name in SETS:
        assert not default & {im.sha256 for im in load_images(name)}


def test_dead_leaves_spectrum_is_close_to_one_over_f_squared():
    slopes = [radial_power_slope(im.array) for im in load_images("dead_leaves")]
    assert -2.6 < np.mean(slopes) < -1.6, slopes
    assert all(-3.0 < s < -1.3 for s in slopes), slopes


def test_dead_leaves_generator_occludes_with_flat_discs():
    image = dead_leaves((64, 96), random_state=3, blur=0)
    assert image.shape == (64, 96)
    np.testing.assert_array_equal(image, dead_leaves((64, 96), random_state=3, blur=0))
    assert not np.array_equal(image, dead_leaves((64, 96), random_state=4, blur=0))
    # unblurred: piecewise constant, most neighbouring pixels are equal (inside one leaf)
    assert np.mean(np.diff(image, axis=1) == 0) > 0.5
    with pytest.raises(InputError):
        dead_leaves((8, 8), r_min=5, r_max=2)


def test_sensor_noise_is_poisson_gaussian_in_linear_light():
    rng = np.random.default_rng(0)
    grey = np.full((200, 200), 0.5)
    noisy = add_sensor_noise(grey, rng, full_well=1000.0, read_noise=2.0)
    np.testing.assert_array_equal(noisy, quantise_8bit(noisy))
    linear = srgb_to_linear(noisy)
    expected_linear = srgb_to_linear(np.array(0.5))
    assert abs(linear.mean() - expected_linear) < 1e-3
    expected_sd = np.sqrt(1000.0 * expected_linear + 4.0) / 1000.0
    assert abs(linear.std() / expected_sd - 1) < 0.1
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(np.linspace(0, 1, 11))), np.linspace(0, 1, 11),
                               atol=1e-12)


def test_noisy_photos_are_noisier_than_their_clean_sources():
    from effcode.data.synthetic_sets import _noisy_photo_sources

    clean = dict(_noisy_photo_sources())
    for im in load_images("noisy_photos"):
        residual = im.array - clean[im.id.split("/", 1)[1]]
        assert 2 / 255 < residual.std() < 12 / 255


@pytest.mark.parametrize("name", SETS)
def test_sets_refuse_a_bad_argument(name):
    with pytest.raises(InputError):
        load_images(f"{name}:x")


def test_noisy_photos_full_well_argument_sets_the_noise_level():
    from effcode.data.synthetic_sets import _noisy_photo_sources

    clean = dict(_noisy_photo_sources())
    default, noisier = load_images("noisy_photos"), load_images("noisy_photos:250")
    assert [im.id.split("/", 1)[1] for im in noisier][0].endswith("@250e")
    for a, b in zip(default, noisier):
        name = a.id.split("/", 1)[1]
        # a quarter of the photo-electrons: about twice the shot-noise SD (more where 8-bit steps mattered)
        ratio = (b.array - clean[name]).std() / (a.array - clean[name]).std()
        assert 1.6 < ratio < 2.6, (name, ratio)
    assert np.array_equal(load_images("noisy_photos:1000")[0].array, default[0].array)
    for bad in ("noisy_photos:-5", "noisy_photos:lots"):
        with pytest.raises(InputError, match="positive number of photo-electrons"):
            load_images(bad)
