import numpy as np
import pytest
import torch

from effcode.data import Image, PatchSampler, sample_patches
from effcode.errors import InputError


def index_images():
    """Images whose pixel value encodes (image, row, col): value = 1e6 * k + row * cols + col."""
    shapes = [(20, 30), (41, 17), (25, 25)]
    return [1e6 * k + np.arange(r * c, dtype=np.float64).reshape(r, c) for k, (r, c) in enumerate(shapes)]


def test_patches_are_the_windows_at_their_top_left_pixel():
    images = index_images()
    p = 5
    patches = PatchSampler(images, p, random_state=3, batch_size=100, dtype=np.float64).sample(2000)
    assert patches.shape == (2000, p * p) and patches.dtype == np.float64
    seen = set()
    for patch in patches:
        k, flat = divmod(int(patch[0]), 1_000_000)
        rows, cols = images[k].shape
        r, c = divmod(flat, cols)
        assert r <= rows - p and c <= cols - p
        np.testing.assert_array_equal(patch, images[k][r:r + p, c:c + p].ravel())
        seen.add(k)
    assert seen == {0, 1, 2}


def test_images_drawn_in_proportion_to_valid_positions():
    small, large = np.zeros((12, 12)), np.ones((20, 28))  # p=5: 8*8=64 vs 16*24=384 positions
    patches = sample_patches([small, large], 5, 40000, random_state=0)
    fraction_small = np.mean(patches[:, 0] == 0)
    assert fraction_small == pytest.approx(64 / (64 + 384), abs=0.01)


def test_positions_are_uniform_within_an_image():
    image = np.arange(30 * 30, dtype=np.float64).reshape(30, 30)
    corners = sample_patches(image, 11, 60000, random_state=1)[:, 0].astype(int)
    rows, cols = np.divmod(corners, 30)
    counts = np.bincount(rows * 20 + cols, minlength=400)
    assert counts.min() > 0 and rows.max() == 19 and cols.max() == 19
    # 400 equiprobable cells: chi-square with 399 dof stays well below 550
    expected = 60000 / 400
    assert ((counts - expected) ** 2 / expected).sum() < 550


def test_same_seed_same_patches_and_batches_match_sample():
    images = [np.random.default_rng(0).random((50, 60)), np.random.default_rng(1).random((40, 40))]
    a = PatchSampler(images, 8, random_state=7, batch_size=300).sample(1000)
    b = PatchSampler(images, 8, random_state=7, batch_size=300).sample(1000)
    np.testing.assert_array_equal(a, b)
    c = PatchSampler(images, 8, random_state=8, batch_size=300).sample(1000)
    assert not np.array_equal(a, c)
    batches = list(PatchSampler(images, 8, random_state=7, batch_size=300).batches(1000))
    assert [len(x) for x in batches] == [300, 300, 300, 100]
    np.testing.assert_array_equal(np.concatenate(batches), a)
    # the sampler is a stream: the second call continues, it does not repeat
    sampler = PatchSampler(images, 8, random_state=7, batch_size=128)
    first, second = sampler.sample(433), sampler.sample(567)
    np.testing.assert_array_equal(np.concatenate([first, second]), a)
    with_rejection = [PatchSampler(images, 8, random_state=7, min_variance=0.9).sample(500) for _ in range(2)]
    np.testing.assert_array_equal(*with_rejection)


def test_min_variance_rejects_flat_patches():
    rng = np.random.default_rng(0)
    image = np.zeros((40, 80))
    image[:, 40:] = rng.standard_normal((40, 40))
    sampler = PatchSampler([image], 6, random_state=0, min_variance=0.5, dtype=np.float64)
    patches = sampler.sample(3000)
    assert patches.var(axis=1).min() >= sampler.variance_threshold_
    # brute force: exact mean patch variance and accepted fraction over all positions
    windows = np.lib.stride_tricks.sliding_window_view(image, (6, 6)).reshape(35, 75, 36)
    variances = windows.var(axis=2)
    assert sampler.variance_threshold_ == pytest.approx(0.5 * variances.mean())
    assert sampler.accepted_fraction_ == pytest.approx(np.mean(variances >= 0.5 * variances.mean()))
    plain = sample_patches([image], 6, 3000, random_state=0)
    assert np.mean(plain.var(axis=1) == 0) > 0.3  # without rejection, many patches are flat


def test_torch_output_on_device_and_image_objects():
    array = np.random.default_rng(0).random((20, 20))
    image = Image(array=array, id="t/x", sha256="", source="test")
    out = PatchSampler([image], 4, random_state=0, device="cpu").sample(10)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (10, 16)
    np.testing.assert_array_equal(out.numpy(), sample_patches([array], 4, 10, random_state=0))


def test_sampler_errors():
    image = np.random.default_rng(0).random((10, 12))
    with pytest.raises(InputError, match=r"patch_size 11 is larger than images\[0\]"):
        PatchSampler([image], 11)
    with pytest.raises(InputError, match="patch_size"):
        PatchSampler([image], 0)
    with pytest.raises(InputError, match="n must be >= 1"):
        PatchSampler([image], 4).sample(0)
    with pytest.raises(InputError, match="n_total"):
        next(PatchSampler([image], 4).batches(-1))
    bad = image.copy()
    bad[3, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        PatchSampler([image, bad], 4)
    with pytest.raises(InputError, match="empty"):
        PatchSampler([], 4)
    with pytest.raises(InputError, match="rejects every patch"):
        PatchSampler([image], 4, min_variance=100.0)
