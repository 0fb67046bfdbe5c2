"""ICA learner: known mixtures of Laplacian sources are separated, conventions, errors, natural images."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from effcode.errors import InputError
from effcode.learners.base import LEARNERS
from effcode.learners.ica import ICA, amari_index, negentropy

N_SOURCES, N_PIXELS, N_SAMPLES = 12, 20, 20_000
AMARI_BOUND = 0.05


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def laplacian_mixture():
    """12 unit-variance Laplacian sources mixed into 20 dimensions by a random matrix, plus an offset."""
    rng = np.random.default_rng(1)
    sources = rng.laplace(size=(N_SAMPLES, N_SOURCES)) / np.sqrt(2)
    mixing = rng.standard_normal((N_PIXELS, N_SOURCES))
    offset = rng.standard_normal(N_PIXELS)
    return sources @ mixing.T + offset, sources, mixing


def test_amari_index_known_values():
    k = 5
    perm_scale = np.eye(k)[[2, 0, 4, 1, 3]] * np.array([3.0, -1.0, 0.5, 2.0, -7.0])[:, None]
    assert amari_index(perm_scale, np.eye(k)) == 0.0
    assert amari_index(np.ones((k, k)), np.eye(k)) == pytest.approx(1.0)
    # one row mixes two sources equally: that row adds 1, the column with two maxima adds 1
    p = np.eye(k)
    p[0, 1] = 1.0
    assert amari_index(p, np.eye(k)) == pytest.approx((1 + 1) / (2 * k * (k - 1)))
    with pytest.raises(InputError, match="square product"):
        amari_index(np.ones((3, 4)), np.ones((3, 3)))


@pytest.fixture(scope="module", params=["fastica", "infomax"])
def fitted(request, laplacian_mixture):
    return ICA(N_SOURCES, algorithm=request.param, random_state=0).fit(laplacian_mixture[0])


def test_separates_laplacian_mixture(laplacian_mixture, fitted):
    X, sources, mixing = laplacian_mixture
    model = fitted
    assert model.converged_
    assert amari_index(model.components_, mixing) < AMARI_BOUND
    # each true source is matched by one estimate (correlation, up to sign)
    corr = np.abs(np.corrcoef(sources.T, model.transform(X).T)[:N_SOURCES, N_SOURCES:])
    assert corr.max(axis=1).min() > 0.98
    # Laplacian sources: positive negentropy, far above a Gaussian's
    assert model.negentropy_.min() > 10 * negentropy(np.random.default_rng(0).standard_normal((N_SAMPLES, 1)))[0]


def test_single_precision_fastica_reaches_the_double_precision_solution(laplacian_mixture):
    """Single-precision iterations at tol 1e-4 (what ICA runs) must land on the float64 solution (tol 1e-7)
    of the same whitened data and start, within the Amari distance the tolerance allows, and return float64."""
    import torch

    from effcode.data import PatchWhitener
    from effcode.learners.ica import SINGLE_PRECISION_TOL, _random_orthonormal, fastica_symmetric

    X, _, mixing = laplacian_mixture
    whitener = PatchWhitener(kind="pca", n_components=N_SOURCES).fit(X)
    z = torch.from_numpy(whitener.transform(X))
    w0 = torch.from_numpy(_random_orthonormal(np.random.default_rng(0), N_SOURCES, N_SOURCES))
    assert 1e-4 >= SINGLE_PRECISION_TOL > 1e-7
    w_single, _, converged_single = fastica_symmetric(z, w0, max_iter=200, tol=1e-4, single_precision=True)
    w_double, _, converged_double = fastica_symmetric(z, w0, max_iter=500, tol=1e-7)
    assert converged_single and converged_double and w_single.dtype == torch.float64
    assert amari_index(w_single.numpy(), w_double.numpy().T) < 1e-3
    # and both separate the known mixture
    unmixing = w_single.numpy() @ whitener.whitening_
    assert amari_index(unmixing, mixing) < AMARI_BOUND


def test_outputs_follow_conventions(laplacian_mixture, fitted):
    X, _, _ = laplacian_mixture
    model = fitted
    k = N_SOURCES
    assert model.components_.shape == model.filters_.shape == model.basis_.shape == (k, N_PIXELS)
    assert model.filters_ is model.components_
    s = model.transform(X)
    np.testing.assert_allclose(s.std(axis=0), 1.0, rtol=1e-9)
    np.testing.assert_allclose(s.mean(axis=0), 0.0, atol=1e-9)
    # the noiseless mixture has rank 12: the basis reconstructs it exactly
    np.testing.assert_allclose(model.inverse_transform(s), X, atol=1e-8)
    np.testing.assert_allclose(model.components_ @ model.mixing_, np.eye(k), atol=1e-9)
    # sign: each basis function's largest-magnitude pixel is positive
    peaks = model.basis_[np.arange(k), np.abs(model.basis_).argmax(axis=1)]
    assert np.all(peaks > 0)
    # order: explained variance (||basis||^2 with unit-variance sources) non-increasing
    np.testing.assert_allclose(model.explained_variance_, (model.basis_ ** 2).sum(axis=1))
    assert np.all(np.diff(model.explained_variance_) <= 0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("algorithm", ["fastica", "infomax"])
def test_same_seed_bitwise_identical(algorithm):
    rng = np.random.default_rng(5)
    X = rng.laplace(size=(3000, 6)) @ rng.standard_normal((6, 6))
    a = ICA(6, algorithm=algorithm, random_state=3, max_iter=30).fit(X)
    b = ICA(6, algorithm=algorithm, random_state=3, max_iter=30).fit(X)
    assert np.array_equal(a.components_, b.components_)
    assert np.array_equal(a.basis_, b.basis_)
    other = ICA(6, algorithm=algorithm, random_state=4, max_iter=2).fit(X)
    assert not np.array_equal(a.components_, other.components_)


def test_warns_when_not_converged(laplacian_mixture):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model = ICA(N_SOURCES, max_iter=2).fit(laplacian_mixture[0])
    assert not model.converged_ and model.n_iter_ == 2


def test_dimension_reduction_by_variance_fraction():
    rng = np.random.default_rng(2)
    X = rng.laplace(size=(4000, 5)) @ rng.standard_normal((5, 30)) + 1e-4 * rng.standard_normal((4000, 30))
    model = ICA(5, whiten_components=0.999).fit(X)
    assert model.components_.shape == (5, 30)           # 5 signal dimensions kept, noise dropped
    assert model.whitener_.n_components == 5
    half = ICA(whiten_components=0.999).fit(X)           # n_components None: FastICA estimates half of d'
    assert half.components_.shape == (2, 30)
    assert ICA(algorithm="infomax", whiten_components=4, max_iter=5).fit(X).components_.shape == (4, 30)
    fewer = ICA(3, whiten_components=5).fit(X)           # FastICA may estimate fewer units than d'
    assert fewer.components_.shape == (3, 30)
    assert np.allclose(np.corrcoef(fewer.transform(X).T), np.eye(3), atol=1e-6)


def test_fit_images_and_registry():
    rng = np.random.default_rng(0)
    images = [rng.laplace(size=(40, 50)).cumsum(axis=0).cumsum(axis=1) / 50 for _ in range(3)]
    model = LEARNERS.create("ica", 16, random_state=0)
    assert isinstance(model, ICA)
    model.fit_images(images, patch_size=6, n_patches=3000)
    # per-patch DC was removed: every basis function and the mean patch sum to zero
    np.testing.assert_allclose(model.basis_.sum(axis=1), 0.0, atol=1e-10)
    assert abs(model.mean_.sum()) < 1e-10
    bank = model.filter_bank((6, 6), method="ica")
    assert bank.filters.shape == bank.basis.shape == (16, 6, 6)
    again = ICA(16, random_state=0).fit_images(images, patch_size=6, n_patches=3000)
    assert np.array_equal(again.components_, model.components_)


def test_sklearn_params_roundtrip():
    model = ICA(10, algorithm="infomax", learning_rate=0.02)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    copy.set_params(algorithm="fastica")
    assert copy.algorithm == "fastica" and model.algorithm == "infomax"


@pytest.mark.parametrize("params, X_shape, match", [
    ({"algorithm": "jade"}, (100, 4), "algorithm"),
    ({"n_components": 5}, (100, 4), "n_components"),
    ({"n_components": 3, "whiten_components": 2}, (100, 4), "n_components"),
    ({"n_components": 2, "whiten_components": 3, "algorithm": "infomax"}, (100, 4), "square"),
    ({"whiten_components": 1.5}, (100, 4), "whiten_components"),
    ({"tol": 0}, (100, 4), "tol"),
    ({"learning_rate": -1.0, "algorithm": "infomax"}, (100, 4), "learning_rate"),
    ({"device": "gpu7"}, (100, 4), "device"),
    ({}, (1, 4), "at least 2"),
])
def test_bad_input(params, X_shape, match):
    X = np.random.default_rng(0).laplace(size=X_shape)
    with pytest.raises(InputError, match=match):
        ICA(**params).fit(X)


def test_transform_errors():
    with pytest.raises(NotFittedError, match="not fitted"):
        ICA(2).transform(np.zeros((3, 4)))
    model = ICA(2).fit(np.random.default_rng(0).laplace(size=(500, 4)))
    with pytest.raises(InputError, match="expecting 4 features"):
        model.transform(np.zeros((3, 5)))
    with pytest.raises(InputError, match="NaN"):
        model.transform(np.full((3, 4), np.nan))


@pytest.mark.slow
def test_natural_image_basis_is_gabor_like():
    """Default preprocessing (raw luminance, DC removed, 95% of the variance kept: d' = 113), K = 64:
    median Gabor R^2 of the basis 0.906 measured (0.904 and 0.916 with seeds 1 and 2)."""
    from effcode.data import load_images
    from effcode.gabor import fit_gabors

    model = ICA(64, random_state=0).fit_images(load_images("default"), patch_size=16)
    assert model.converged_
    r2 = fit_gabors(model.basis_.reshape(-1, 16, 16))["r2"]
    assert np.median(r2) >= 0.90


def test_too_few_patches_for_the_whitened_dimensions_is_refused():
    X = np.random.default_rng(0).laplace(size=(10, 64))
    with pytest.raises(InputError, match=r"10 patches give at most 9 principal components.*expected at least 33"):
        ICA(32).fit(X)
