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
from effcode.objectives import make_objective

PLANTED = 8  # side of the planted kernels (px)
ATOM = 10  # side of the learned atoms: room for the kernel at any small shift
SIZE = 48  # image side (px)
#: settings of the known-answer fits (4 planted kernels, 4 atoms)
PLANTED_FIT = dict(n_components=4, kernel_size=ATOM, lam=3.0, n_iter=8, learning_rate=1e-2, n_steps=200,
                   crop_size=SIZE, batch_size=4)


def planted_images(n_images=32, n_kernels=4, per_image=6, noise=0.01, positive=False, seed=0):
    """Images = sum of unit-norm random zero-mean 8x8 kernels at random positions, plus noise.

    Returns (images (n, 48, 48), kernels (n_kernels, 8, 8), placements [(image, kernel, row, col, amp)]).
    """
    rng = np.random.default_rng(seed)
    kernels = rng.standard_normal((n_kernels, PLANTED, PLANTED))
    kernels -= kernels.mean(axis=(1, 2), keepdims=True)
    kernels /= np.linalg.norm(kernels, axis=(1, 2), keepdims=True)
    images = noise * rng.standard_normal((n_images, SIZE, SIZE))
    placements = []
    for i in range(n_images):
        for _ in range(per_image):
            j = int(rng.integers(n_kernels))
            row, col = (int(v) for v in rng.integers(0, SIZE - PLANTED + 1, size=2))
            amp = rng.uniform(1.0, 2.0) * (1.0 if positive else rng.choice([-1.0, 1.0]))
            images[i, row:row + PLANTED, col:col + PLANTED] += amp * kernels[j]
            placements.append((i, j, row, col, amp))
    return images, kernels, placements


def matched_similarity(atoms, kernels):
    """Hungarian matching of kernels to atoms on |normalised cross-correlation|, best over all shifts.

    Returns (similarity per kernel, matched atom per kernel, (row, col) offset of the kernel inside
    its atom, sign of the match).
    """
    sim = np.zeros((len(kernels), len(atoms)))
    where = {}
    for i, kernel in enumerate(kernels):
        for j, atom in enumerate(atoms):
            xcorr = correlate2d(atom, kernel, mode="full") / (np.linalg.norm(atom) * np.linalg.norm(kernel))
            best = np.unravel_index(np.argmax(np.abs(xcorr)), xcorr.shape)
            sim[i, j] = abs(xcorr[best])
            where[i, j] = (best[0] - PLANTED + 1, best[1] - PLANTED + 1), np.sign(xcorr[best])
    rows, cols = linear_sum_assignment(-sim)
    return sim[rows, cols], cols, [where[i, j][0] for i, j in zip(rows, cols)], [where[i, j][1] for i, j in
                                                                                   zip(rows, cols)]


@pytest.fixture(scope="module")
def planted():
    images, kernels, placements = planted_images()
    model = SparseCNN(**PLANTED_FIT).fit(images)
    return images, kernels, placements, model


def test_recovers_planted_kernels(planted):
    """Measured over 5 seeds: median similarity 0.92-0.96, every kernel >= 0.79."""
    images, kernels, _, model = planted
    sims = matched_similarity(model.basis_.reshape(-1, ATOM, ATOM), kernels)[0]
    assert np.median(sims) >= 0.9, sims
    assert sims.min() >= 0.75, sims
    # the data-patch initial atoms and random atoms score far lower: the bound measures learning
    initial = SparseCNN(**dict(PLANTED_FIT, n_steps=1, learning_rate=1e-9)).fit(images).basis_
    assert np.median(matched_similarity(initial.reshape(-1, ATOM, ATOM), kernels)[0]) < 0.8
    noise = np.random.default_rng(1).standard_normal((4, ATOM, ATOM))
    assert np.median(matched_similarity(noise, kernels)[0]) < 0.6
    np.testing.assert_allclose(np.linalg.norm(model.basis_, axis=1), 1.0, rtol=1e-5)
    history = model.history_
    assert history["reconstruction_error"][-20:].mean() < 0.6 * history["reconstruction_error"][:5].mean()


def test_transform_finds_the_planted_positions(planted):
    images, kernels, placements, model = planted
    n = 8
    codes = model.transform(images[:n])
    assert codes.shape == (n, 4, SIZE - ATOM + 1, SIZE - ATOM + 1)
    assert np.mean(codes != 0) < 0.02  # sparse
    _, match, offset, sign = matched_similarity(model.basis_.reshape(-1, ATOM, ATOM), kernels)
    lo, hi = ATOM - 1, SIZE - ATOM + 1  # interior rows/cols [lo, hi): fully reconstructed
    hits = total = 0
    for i, j, row, col, amp in placements:
        if i >= n or min(row, col) < lo or max(row, col) + PLANTED > hi:
            continue
        total += 1
        r, c = row - offset[j][0], col - offset[j][1]  # activation position that places the atom there
        window = codes[i, match[j], r - 1:r + 2, c - 1:c + 2] * sign[j] * np.sign(amp)
        hits += window.max() > 0.5 * abs(amp)
    assert total >= 8 and hits / total >= 0.8, (hits, total)
    recon = model.inverse_transform(codes)
    inner = (slice(None), slice(lo, hi), slice(lo, hi))
    err = np.sum((recon[inner] - images[:n][inner]) ** 2) / np.sum(images[:n][inner] ** 2)
    assert err < 0.5  # measured 0.35: the 8-step encoder under-estimates amplitudes (FISTA not converged)


def test_same_seed_same_result():
    images, _, _ = planted_images(n_images=4)
    params = dict(PLANTED_FIT, n_steps=5)
    a = SparseCNN(**params).fit(images)
    b = SparseCNN(**params).fit(images)
    np.testing.assert_array_equal(a.basis_, b.basis_)
    np.testing.assert_array_equal(a.history_["loss"], b.history_["loss"])
    c = SparseCNN(**dict(params, random_state=1)).fit(images)
    assert not np.array_equal(a.basis_, c.basis_)


def test_the_step_size_is_constant_then_halves_every_half_life():
    """Constant for decay_start steps, then lr · 2^(-(t - decay_start) / half_life); None: constant."""
    rate = sparse_cnn.learning_rate_at
    assert [rate(t, 0.01, 100, 50.0) for t in (0, 99, 100, 150, 200, 600)] == pytest.approx(
        [0.01, 0.01, 0.01, 0.005, 0.0025, 0.01 / 1024])
    assert rate(10 ** 6, 0.01, None, 50.0) == 0.01


def test_a_training_of_n_steps_is_the_first_part_of_a_longer_one():
    """The schedule depends on the step alone, not on n_steps: the atoms after 6 steps equal, bit for bit,
    those of a 12-step training at its 6th step (same crops), with the decay starting inside both."""
    images, _, _ = planted_images(n_images=4)
    snapshots = {}

    class Recorded:
        def resume(self):
            return None

        def completed(self, step, state):
            snapshots[step] = state()["atoms"].clone()

    params = dict(PLANTED_FIT, decay_start=3, half_life=2.0)
    short = SparseCNN(**dict(params, n_steps=6)).fit(images)
    SparseCNN(**dict(params, n_steps=12))._fit_arrays(list(images), n_steps=None, progress=False,
                                                      checkpoints=Recorded())
    np.testing.assert_array_equal(short.basis_, snapshots[6].reshape(len(short.basis_), -1).numpy())
    assert not torch.equal(snapshots[6], snapshots[12])


def test_longer_encoders_reach_the_minimum_of_the_energy(planted):
    """transform runs FISTA on the training energy: more steps, lower energy, then a fixed point."""
    images, _, _, model = planted
    x = torch.as_tensor(images[:2] / model.scale_, dtype=torch.float32)[:, None]
    atoms = torch.as_tensor(model.basis_).reshape(-1, 1, ATOM, ATOM)
    mask = sparse_cnn.interior_mask(SIZE, SIZE, ATOM, "cpu")
    objective = make_objective("l1", PLANTED_FIT["lam"])

    def energy(n_iter):
        a = torch.as_tensor(model.set_params(n_iter=n_iter).transform(images[:2]) / model.scale_)
        return sum(float(t) for t in sparse_cnn.energy_terms(x, a, atoms, objective, mask)), a

    energies = [energy(n)[0] for n in (1, 8, 50)]
    final, a = energy(300)
    model.set_params(n_iter=PLANTED_FIT["n_iter"])
    assert energies[0] > energies[1] > energies[2] >= final * (1 - 1e-4), (energies, final)
    # at the minimum, a further proximal-gradient step hardly moves the codes
    eta = sparse_cnn.step_size(atoms)
    residual = mask * (x - torch.nn.functional.conv_transpose2d(a, atoms))
    moved = objective.prox(a + eta * torch.nn.functional.conv2d(residual, atoms), eta)
    assert float((moved - a).norm() / a.norm()) < 1e-3


@pytest.mark.parametrize("height, width", [(64, 64), (37, 50), (46, 46)])   # 37, 46: padded to 40, 48
def test_fft_convolutions_equal_the_direct_ones(height, width):
    """D^T and D by Fourier transforms equal conv2d and conv_transpose2d (no circular wrap-around, any
    image shape), and stay each other's adjoint: <D^T r, a> = <r, D a>."""
    gen = torch.Generator().manual_seed(0)
    atoms = torch.randn(5, 1, 7, 7, generator=gen)
    images = torch.randn(3, 1, height, width, generator=gen)
    maps = torch.randn(3, 5, height - 6, width - 6, generator=gen)
    fft = sparse_cnn.AtomConvolutions(atoms, height, width, fft=True)
    direct = sparse_cnn.AtomConvolutions(atoms, height, width, fft=False)
    assert fft.fft and not direct.fft
    correlated, synthesised = fft.correlate(images), fft.synthesise(maps)
    torch.testing.assert_close(correlated, direct.correlate(images), rtol=0, atol=1e-4)
    torch.testing.assert_close(synthesised, direct.synthesise(maps), rtol=0, atol=1e-4)
    assert float((correlated * maps).sum()) == pytest.approx(float((images * synthesised).sum()), rel=1e-5)


def test_training_by_fft_follows_training_by_direct_convolution(monkeypatch):
    """The same seed trains the same atoms with either convolution, to float32 rounding."""
    images = planted_images(n_images=8)[0]
    settings = dict(PLANTED_FIT, n_steps=30)
    by_fft = SparseCNN(**settings).fit(images)
    build = sparse_cnn.AtomConvolutions.__init__
    monkeypatch.setattr(sparse_cnn.AtomConvolutions, "__init__",
                        lambda self, atoms, height, width, fft=None: build(self, atoms, height, width, fft=False))
    by_direct = SparseCNN(**settings).fit(images)
    np.testing.assert_allclose(by_fft.components_, by_direct.components_, atol=1e-4)
    np.testing.assert_allclose(by_fft.history_["loss"], by_direct.history_["loss"], rtol=1e-4)


def test_step_size_is_inverse_lipschitz_constant():
    atoms = sparse_cnn._normalised(torch.randn(6, 1, 5, 5, generator=torch.Generator().manual_seed(0)))
    eta = sparse_cnn.step_size(atoms)
    # power iteration on DᵀD (no mask) over a large image agrees with the spectral bound
    v = torch.randn(1, 6, 60, 60, generator=torch.Generator().manual_seed(1))
    for _ in range(200):
        v = torch.nn.functional.conv2d(torch.nn.functional.conv_transpose2d(v, atoms), atoms, padding=0)
        v = v / v.norm()
    top = float(torch.nn.functional.conv_transpose2d(v, atoms).norm() ** 2)
    assert 0.99 / eta <= top <= 1.01 / eta  # the frequency grid underestimates L by < 1 %
    # one atom alone: L = max |FFT|^2 >= ||d||^2 = 1
    assert sparse_cnn.step_size(atoms[:1]) <= 1.0


def test_rectified_encoder_recovers_positive_kernels():
    """Non-negative activations: planted with positive amplitudes, the kernels come back with
    their sign (measured over 3 seeds: median similarity 0.93-0.96)."""
    images, kernels, _ = planted_images(positive=True)
    model = SparseCNN(**dict(PLANTED_FIT, nonlinearity="rectified")).fit(images)
    sims, _, _, sign = matched_similarity(model.basis_.reshape(-1, ATOM, ATOM), kernels)
    assert np.median(sims) >= 0.9, sims
    assert (np.asarray(sign) > 0).all()
    codes = model.transform(images[:2])
    assert codes.min() >= 0 and codes.max() > 0


def test_topk_keeps_k_channels_per_position():
    images, _, _ = planted_images(n_images=8)
    model = SparseCNN(**dict(PLANTED_FIT, objective="topk", objective_params={"k": 1}, n_steps=20)).fit(images)
    codes = model.transform(images[:2])
    assert (np.count_nonzero(codes, axis=1) <= 1).all() and np.count_nonzero(codes) > 0
    assert np.isfinite(model.history_["loss"]).all()


def test_learn_filters_through_the_registry(small_image_folder):
    from effcode.learners import learn_filters

    assert LEARNERS.get("sparse_cnn") is SparseCNN
    bank = learn_filters("sparse_cnn", str(small_image_folder), patch_size=8, n_filters=6, n_patches=7,
                         crop_size=32, batch_size=2)
    assert isinstance(bank, FilterBank) and bank.method == "sparse_cnn"
    assert bank.filters.shape == (6, 8, 8) and bank.config["kernel_size"] == 8
    np.testing.assert_array_equal(bank.filters, bank.basis)
    np.testing.assert_allclose(np.linalg.norm(bank.basis.reshape(6, -1), axis=1), 1.0, rtol=1e-5)
    model = SparseCNN(n_components=6, crop_size=32, batch_size=2)
    images = [np.asarray(im) for im in np.random.default_rng(0).standard_normal((2, 40, 40))]
    model.fit_images(images, patch_size=8, n_patches=7)
    assert len(model.history_["loss"]) == 4  # ceil(7 crops / 2 per step)


@pytest.mark.parametrize("params, match", [
    (dict(crop_size=100), "crop_size=100 does not fit"),
    (dict(crop_size=12), "crop_size must be >= 20"),
    (dict(nonlinearity="tanh"), "nonlinearity must be one of"),
    (dict(objective="l3"), "objective must be one of"),
    (dict(objective_params=3), "objective_params must be a dict"),
    (dict(objective="cauchy", objective_params={"width": 1}), "bad parameters for objective"),
    (dict(learning_rate=0.0), "learning_rate must be > 0"),
    (dict(half_life=0.0), "half_life must be > 0"),
    (dict(decay_start=-1), "decay_start must be >= 0"),
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
        model.fit(np.zeros((SIZE, SIZE)))
    with pytest.raises(InputError, match="NaN or Inf"):
        model.fit(np.full((2, SIZE, SIZE), np.nan))
    with pytest.raises(InputError, match="all zero"):
        model.fit(np.zeros((2, SIZE, SIZE)))
    model.fit(planted_images(n_images=2)[0])
    with pytest.raises(InputError, match="at least 19 x 19"):
        model.transform(np.ones((1, 18, 40)))
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
