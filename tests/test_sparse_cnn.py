"""SparseCNN: recovery of planted convolutional features, the encoder, inputs, and quality on photos."""

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from scipy.signal import correlate2d

from effcode.errors import DivergenceError, InputError
from effcode.learners import LEARNERS, FilterBank
from effcode.learners import sparse_cnn
from effcode.learners.sparse_cnn import SparseCNN

KERNEL = 8
#: settings of the known-answer fits: 4 planted 8x8 kernels in 48x48 images
PLANTED_FIT = dict(n_components=4, kernel_size=KERNEL, lam=3.0, n_iter=8, learning_rate=1e-2, n_steps=200,
                   crop_size=48, batch_size=4)


def planted_images(n_images=32, size=48, n_kernels=4, per_image=6, noise=0.01, positive=False, seed=0):
    """Images = sum of unit-norm random zero-mean 8x8 kernels at random positions, plus noise.

    Returns (images (n, size, size), kernels (n_kernels, 8, 8), placements [(image, kernel, row, col, amp)]).
    """
    rng = np.random.default_rng(seed)
    kernels = rng.standard_normal((n_kernels, KERNEL, KERNEL))
    kernels -= kernels.mean(axis=(1, 2), keepdims=True)
    kernels /= np.linalg.norm(kernels, axis=(1, 2), keepdims=True)
    images = noise * rng.standard_normal((n_images, size, size))
    placements = []
    for i in range(n_images):
        for _ in range(per_image):
            j = int(rng.integers(n_kernels))
            row, col = rng.integers(0, size - KERNEL + 1, size=2)
            amp = rng.uniform(1.0, 2.0) * (1.0 if positive else rng.choice([-1.0, 1.0]))
            images[i, row:row + KERNEL, col:col + KERNEL] += amp * kernels[j]
            placements.append((i, j, int(row), int(col), amp))
    return images, kernels, placements


def matched_similarity(atoms, kernels, max_shift=2):
    """Hungarian matching of kernels to atoms on |normalised cross-correlation| (shifts up to
    ``max_shift`` px); returns (similarities (n_kernels,), matched atom index per kernel)."""
    sim = np.zeros((len(kernels), len(atoms)))
    centre = KERNEL - 1
    for i, kernel in enumerate(kernels):
        for j, atom in enumerate(atoms):
            xcorr = correlate2d(atom, kernel, mode="full")
            window = xcorr[centre - max_shift:centre + max_shift + 1, centre - max_shift:centre + max_shift + 1]
            sim[i, j] = np.abs(window).max() / (np.linalg.norm(atom) * np.linalg.norm(kernel))
    rows, cols = linear_sum_assignment(-sim)
    return sim[rows, cols], cols


@pytest.fixture(scope="module")
def planted():
    images, kernels, placements = planted_images()
    model = SparseCNN(**PLANTED_FIT).fit(images)
    return images, kernels, placements, model


def test_recovers_planted_kernels(planted):
    images, kernels, _, model = planted
    atoms = model.basis_.reshape(-1, KERNEL, KERNEL)
    sims, _ = matched_similarity(atoms, kernels)
    assert np.median(sims) >= 0.85, sims
    assert sims.min() >= 0.75, sims
    # random unit-norm atoms would score far lower: the bound measures learning
    rng = np.random.default_rng(1)
    random_sims, _ = matched_similarity(rng.standard_normal((4, KERNEL, KERNEL)), kernels)
    assert np.median(random_sims) < 0.6
    np.testing.assert_allclose(np.linalg.norm(model.basis_, axis=1), 1.0, rtol=1e-5)
    assert model.history_["loss"][-20:].mean() < 0.5 * model.history_["loss"][:5].mean()


def test_transform_finds_the_planted_positions(planted):
    images, kernels, placements, model = planted
    codes = model.transform(images[:4])
    assert codes.shape == (4, 4, 48 - KERNEL + 1, 48 - KERNEL + 1)
    assert np.mean(codes != 0) < 0.05  # sparse
    _, match = matched_similarity(model.basis_.reshape(-1, KERNEL, KERNEL), kernels)
    hits = total = 0
    for i, j, row, col, amp in placements:
        if i >= 4 or row < KERNEL - 1 or col < KERNEL - 1 or row > 48 - 2 * KERNEL + 1 or col > 48 - 2 * KERNEL + 1:
            continue  # only placements whose pixels all lie in the fully reconstructed interior
        total += 1
        window = np.abs(codes[i, match[j], max(row - 2, 0):row + 3, max(col - 2, 0):col + 3])
        hits += window.max() > 0.3 * abs(amp)
    assert total >= 5 and hits / total >= 0.8
    recon = model.inverse_transform(codes)
    inner = (slice(None), slice(KERNEL - 1, 48 - KERNEL + 1), slice(KERNEL - 1, 48 - KERNEL + 1))
    err = np.sum((recon[inner] - images[:4][inner]) ** 2) / np.sum(images[:4][inner] ** 2)
    assert err < 0.3


def test_same_seed_same_result():
    images, _, _ = planted_images(n_images=4)
    params = dict(PLANTED_FIT, n_steps=5)
    a = SparseCNN(**params).fit(images)
    b = SparseCNN(**params).fit(images)
    np.testing.assert_array_equal(a.basis_, b.basis_)
    np.testing.assert_array_equal(a.history_["loss"], b.history_["loss"])
    c = SparseCNN(**dict(params, random_state=1)).fit(images)
    assert not np.array_equal(a.basis_, c.basis_)


def test_encoder_is_ista_on_the_energy():
    """With many iterations the encoder reaches the minimum of the energy it is trained on."""
    images, _, _ = planted_images(n_images=2)
    model = SparseCNN(**dict(PLANTED_FIT, n_steps=2)).fit(images)
    settings, atoms, mask = model._fitted, model._atoms, sparse_cnn.interior_mask(48, 48, KERNEL, "cpu")
    x = torch.as_tensor(images / model.scale_, dtype=torch.float32)[:, None]
    eta = sparse_cnn.step_size(atoms)

    def energy(n_iter):
        a = sparse_cnn.encode(x, atoms, settings, eta, n_iter, mask)
        return sum(float(t) for t in sparse_cnn.energy_terms(x, a, atoms, settings.objective, mask)), a

    energies = [energy(n)[0] for n in (1, 3, 10, 100)]
    assert all(e1 > e2 for e1, e2 in zip(energies, energies[1:]))
    # at the minimum a single further proximal step with a smaller step size hardly moves the codes
    e, a = energy(300)
    residual = mask * (x - torch.nn.functional.conv_transpose2d(a, atoms))
    moved = settings.objective.prox(a + 0.5 * eta * torch.nn.functional.conv2d(residual, atoms), 0.5 * eta, dim=1)
    assert float((moved - a).norm() / a.norm()) < 1e-2


def test_step_size_is_inverse_lipschitz_constant():
    atoms = sparse_cnn._normalised(torch.randn(6, 1, 5, 5, generator=torch.Generator().manual_seed(0)))
    eta = sparse_cnn.step_size(atoms)
    # power iteration on DᵀD (no mask) over a large image agrees with the spectral bound
    v = torch.randn(1, 6, 60, 60, generator=torch.Generator().manual_seed(1))
    for _ in range(200):
        v = torch.nn.functional.conv2d(torch.nn.functional.conv_transpose2d(v, atoms), atoms, padding=0)
        v = v / v.norm()
    top = float(torch.nn.functional.conv_transpose2d(v, atoms).norm() ** 2)
    assert top <= 1.0 / eta * (1 + 1e-4)
    assert top >= 0.9 / eta
    # one atom alone: L = max |FFT|^2 >= ||d||^2 = 1
    assert sparse_cnn.step_size(atoms[:1]) <= 1.0


def test_rectified_and_topk_activations():
    images, kernels, _ = planted_images(n_images=8, positive=True)
    rect = SparseCNN(**dict(PLANTED_FIT, nonlinearity="rectified", n_steps=30)).fit(images)
    codes = rect.transform(images[:2])
    assert codes.min() >= 0 and codes.max() > 0
    topk = SparseCNN(**dict(PLANTED_FIT, objective="topk", objective_params={"k": 1}, n_steps=30)).fit(images)
    codes = topk.transform(images[:2])
    assert (np.count_nonzero(codes, axis=1) <= 1).all() and np.count_nonzero(codes) > 0
    assert np.isfinite(topk.history_["loss"]).all()


def test_filter_bank_registry_and_fit_images(small_image_folder):
    from effcode.data import load_images

    assert LEARNERS.get("sparse_cnn") is SparseCNN
    model = SparseCNN(n_components=6, n_steps=50, crop_size=32, batch_size=2)
    model.fit_images(load_images(str(small_image_folder)), patch_size=8, n_patches=7)
    assert model.kernel_size == 8 and len(model.history_["loss"]) == 4  # ceil(7 / 2) steps
    bank = model.filter_bank((8, 8), method="sparse_cnn")
    assert isinstance(bank, FilterBank) and bank.filters.shape == (6, 8, 8) and bank.method == "sparse_cnn"
    np.testing.assert_array_equal(bank.filters, bank.basis)


@pytest.mark.parametrize("params, match", [
    (dict(crop_size=100), "crop_size=100 does not fit"),
    (dict(crop_size=10), "crop_size must be >= 16"),
    (dict(nonlinearity="tanh"), "nonlinearity must be one of"),
    (dict(objective="l3"), "objective must be one of"),
    (dict(objective_params=3), "objective_params must be a dict"),
    (dict(objective="cauchy", objective_params={"width": 1}), "bad parameters for objective"),
    (dict(learning_rate=0.0), "learning_rate must be > 0"),
    (dict(n_iter=0), "n_iter must be >= 1"),
    (dict(lam=-1.0), "lam must be >= 0"),
])
def test_bad_parameters(params, match):
    images, _, _ = planted_images(n_images=2)
    with pytest.raises(InputError, match=match):
        SparseCNN(**dict(PLANTED_FIT, n_steps=1, **params)).fit(images)


def test_bad_arrays():
    model = SparseCNN(**dict(PLANTED_FIT, n_steps=1))
    with pytest.raises(InputError, match="X must be a 3-D array"):
        model.fit(np.zeros((48, 48)))
    with pytest.raises(InputError, match="NaN or Inf"):
        model.fit(np.full((2, 48, 48), np.nan))
    with pytest.raises(InputError, match="all zero"):
        model.fit(np.zeros((2, 48, 48)))
    model.fit(planted_images(n_images=2)[0])
    with pytest.raises(InputError, match="at least 15 x 15"):
        model.transform(np.ones((1, 12, 40)))
    with pytest.raises(InputError, match="4 channels"):
        model.inverse_transform(np.ones((1, 3, 10, 10)))


def test_divergence_names_the_step(monkeypatch):
    images, _, _ = planted_images(n_images=2)
    monkeypatch.setattr(sparse_cnn, "step_size", lambda atoms: float("nan"))
    with pytest.raises(DivergenceError, match="step 0 of 3.*learning_rate"):
        SparseCNN(**dict(PLANTED_FIT, n_steps=3)).fit(images)


@pytest.mark.slow
def test_gabor_like_filters_on_default_images():
    """Default parameters on the bundled photos: median Gabor R² of the atoms (= the encoder's
    first-layer filters, tied weights) at least 0.80."""
    from effcode.data import load_images
    from effcode.gabor import fit_gabors

    model = SparseCNN().fit_images(load_images("default"))
    bank = model.filter_bank((16, 16), method="sparse_cnn")
    r2 = fit_gabors(bank.basis)["r2"]
    assert np.median(r2) >= 0.80, np.round(np.sort(r2), 2)
