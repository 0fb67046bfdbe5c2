"""Amplitude-preserving phase manipulations, gratings and natural-image stimuli."""

import numpy as np
import pytest

from effcode.encoding import (complex_gabor, direction_sign, gabor, gratings, local_phase_shift, natural_patches,
                              phase_scramble, preferred_grating)
from effcode.errors import InputError


@pytest.fixture(scope="module")
def images():
    """Correlated (1/f-like) random images with a non-zero mean, as a stand-in for photographs."""
    rng = np.random.default_rng(0)
    x = np.cumsum(np.cumsum(rng.standard_normal((6, 32, 32)), axis=1), axis=2)
    return x / x.std() + 3.0


def amplitude(x):
    return np.abs(np.fft.fft2(x))


def test_phase_scramble_keeps_statistics(images):
    out = phase_scramble(images, random_state=1)
    assert out.shape == images.shape and out.dtype == np.float64
    assert np.max(np.abs(amplitude(out) - amplitude(images))) < 1e-9 * amplitude(images).max()
    assert np.allclose(out.mean(axis=(1, 2)), images.mean(axis=(1, 2)), rtol=0, atol=1e-12)
    assert np.allclose(out.var(axis=(1, 2)), images.var(axis=(1, 2)), rtol=1e-12)
    # the phases are new: the scrambled image is (nearly) uncorrelated with the original
    corr = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(images, out)]
    assert np.max(np.abs(corr)) < 0.35
    assert np.array_equal(out, phase_scramble(images, random_state=1))
    assert not np.allclose(out, phase_scramble(images, random_state=2))


def test_phase_scramble_is_real_hermitian(images):
    # the multiplied spectrum is Hermitian, so the inverse transform has no imaginary part
    from effcode.encoding.stimuli import _mirror

    u = np.random.default_rng(0).uniform(-np.pi, np.pi, (32, 32))
    phi = u - _mirror(u)
    assert np.array_equal(phi, -_mirror(phi))
    spectrum = np.fft.fft2(images[0]) * np.exp(1j * phi)
    assert np.max(np.abs(np.fft.ifft2(spectrum).imag)) < 1e-12 * np.abs(images[0]).max()


def test_local_phase_shift_algebra(images):
    x = images[:3]
    assert np.allclose(local_phase_shift(x, 0.0, 0.7), x, atol=1e-12)
    assert np.allclose(local_phase_shift(x, 2 * np.pi, 0.7), x, atol=1e-12)
    twice = local_phase_shift(local_phase_shift(x, 0.4, 0.7), 0.9, 0.7)
    assert np.allclose(twice, local_phase_shift(x, 1.3, 0.7), atol=1e-12)
    out = local_phase_shift(x, np.array([0.5, 1.5, 3.0]), 0.7)
    assert np.max(np.abs(amplitude(out) - amplitude(x))) < 1e-9 * amplitude(x).max()
    assert np.allclose(out.mean(axis=(1, 2)), x.mean(axis=(1, 2)), atol=1e-12)
    s = direction_sign((32, 32), 0.7)
    assert set(np.unique(s)) == {-1.0, 0.0, 1.0} and s[0, 0] == 0


def test_local_phase_shift_moves_an_even_gabor_to_odd():
    g = complex_gabor(32, theta=0.7, freq=0.15, sigma=4.0)
    shifted = local_phase_shift(g.real, np.pi / 2, 0.7)
    # a quarter-cycle shift of every component turns the cosine Gabor into (minus) the sine Gabor
    assert abs(np.corrcoef(shifted.ravel(), g.imag.ravel())[0, 1]) > 0.999


def test_energy_model_invariant_simple_cell_not():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3000, 16, 16))
    angles = rng.uniform(0, 2 * np.pi, len(x))
    shifted = local_phase_shift(x, angles, 1.1).reshape(len(x), -1)
    x = x.reshape(len(x), -1)
    even = gabor(16, theta=1.1, freq=0.2, sigma=3.0)
    # drop the Gabor's (tiny) content on the line k.u = 0, where no phase can be shifted; then
    # (even, odd) is an exact Hilbert pair along u and the energy is exactly invariant
    even = np.fft.ifft2(np.fft.fft2(even) * np.abs(direction_sign((16, 16), 1.1))).real.ravel()
    odd = -local_phase_shift(even.reshape(16, 16), np.pi / 2, 1.1).ravel()

    def energy(s, odd):
        return (s @ even) ** 2 + (s @ odd) ** 2

    assert np.allclose(energy(shifted, odd), energy(x, odd), rtol=1e-9)  # exact quadrature pair
    gabor_odd = complex_gabor(16, theta=1.1, freq=0.2, sigma=3.0).imag.ravel()
    gabor_odd *= np.linalg.norm(even) / np.linalg.norm(gabor_odd)
    assert np.corrcoef(energy(shifted, gabor_odd), energy(x, gabor_odd))[0, 1] > 0.99
    simple = lambda s: np.maximum(s @ even, 0)  # noqa: E731
    assert np.corrcoef(simple(shifted), simple(x))[0, 1] < 0.5
    # a global phase scramble is not the energy model's claim: it changes the energy too
    scrambled = phase_scramble(x.reshape(-1, 16, 16), random_state=3).reshape(len(x), -1)
    assert np.corrcoef(energy(scrambled, odd), energy(x, odd))[0, 1] < 0.9


def test_gratings_and_preferred_grating():
    g = gratings(17, [0.0, np.pi / 2], 0.25, 0.0, contrast=2.0)
    assert g.shape == (2, 17, 17) and np.isclose(g[0, 8, 8], 2.0) and np.isclose(g[0, 8, 10], -2.0)
    assert np.allclose(g[0], g[0][0:1, :])  # theta 0: bars are vertical (constant down a column)
    assert np.allclose(g[1], g[1][:, 0:1])  # theta pi/2: horizontal bars
    pair = complex_gabor(16, theta=2.0, freq=0.15, sigma=3.0)
    filters = np.stack([pair.real.ravel(), pair.imag.ravel(), gabor(16, theta=0.5, freq=0.3, sigma=2).ravel()])

    def response(s):
        r = s @ filters.T
        return np.stack([r[:, 0] ** 2 + r[:, 1] ** 2, np.maximum(r[:, 2], 0)], axis=1)

    pref = preferred_grating(response, 16, freqs=[0.1, 0.15, 0.2, 0.25, 0.3], n_orientations=36)
    assert np.allclose(pref["theta"], [2.0, 0.5], atol=np.pi / 36)
    assert np.allclose(pref["freq"], [0.15, 0.3])
    assert pref["tuning"].shape == (2, 36, 5)


def test_bad_inputs():
    with pytest.raises(InputError, match="image"):
        phase_scramble(np.zeros(5))
    with pytest.raises(InputError, match="one value per image"):
        local_phase_shift(np.zeros((3, 8, 8)), np.zeros(2), 0.0)
    with pytest.raises(InputError, match="theta"):
        local_phase_shift(np.zeros((8, 8)), 0.0, float("nan"))


def test_natural_patches_are_contrast_normalised():
    from effcode.data import make_image

    rng = np.random.default_rng(4)
    images = [make_image(rng.random((64, 80)), "noise/a", "test"), make_image(rng.random((70, 70)), "noise/b", "test")]
    x = natural_patches(images, 12, 500, random_state=5)
    assert x.shape == (500, 144)
    assert np.allclose(x.mean(axis=1), 0, atol=1e-12) and np.allclose(x.var(axis=1), 1)
    assert np.array_equal(x, natural_patches(images, 12, 500, random_state=5))
