"""``score``: held-out reconstruction at a shared sparsity budget, with known answers.

Patches are drawn from a known dictionary with known sparse codes (each atom active with probability
2/16, Laplace amplitudes) plus Gaussian pixel noise of 0.3 times the signal's standard deviation in
every patch, training and held-out alike.  ``GridSearchCV`` over ``lam`` must pick an interior value
next to the one whose codes are as sparse as the generating ones, with the best-recovered dictionary;
over ``n_components``, fewer atoms than the truth must score worse.
"""

import warnings

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score

from effcode.errors import InputError
from effcode.learners import ICA, ISA, SAILnet, SparseCNN, SparseCoding
from effcode.learners.selection import (budget, budget_scorer, largest_codes_approximation, matching_pursuit,
                                        unexplained_score)

N_FEATURES, N_ATOMS, ACTIVE_PER_PATCH, NOISE = 16, 16, 2, 0.3
LAM_GRID = [1e-3, 0.01, 0.1, 0.3, 1.0, 3.0, 10.0]


def planted_patches(n=1500, seed=0):
    """(X (n, d), atoms (K, d)): sparse Laplace codes of unit-norm atoms plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    atoms = rng.standard_normal((N_ATOMS, N_FEATURES))
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    codes = rng.laplace(size=(n, N_ATOMS)) * (rng.random((n, N_ATOMS)) < ACTIVE_PER_PATCH / N_ATOMS)
    clean = codes @ atoms
    return clean + NOISE * clean.std() * rng.standard_normal(clean.shape), atoms


def recovery(basis, atoms):
    """Mean over the generating atoms of the largest absolute cosine with a learned basis function."""
    unit = basis / np.linalg.norm(basis, axis=1, keepdims=True)
    return float(np.abs(atoms @ unit.T).max(axis=1).mean())


def sparse_coding(**params):
    return SparseCoding(n_components=N_ATOMS, n_steps=50, batch_size=256, random_state=0, **params)


def quietly(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # short fits: not converged, loss barely falling
        return fit()


@pytest.fixture(scope="module")
def planted():
    return planted_patches()


# --------------------------------------------------------------------------- the building blocks


def test_the_default_budget_is_a_tenth_of_the_patch_dimension_rounded_up():
    assert [budget(d) for d in (1, 10, 16, 256)] == [1, 1, 2, 26]
    assert budget(256, 5) == 5
    with pytest.raises(InputError, match="n_nonzero"):
        budget(16, 0)


def test_truncation_keeps_the_largest_contributions_and_refits_them():
    atoms = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    x = np.array([[3.0, 1.0, -0.5]])
    codes = np.array([[2.0, 0.4, -0.5, 0.0]])          # contributions 2, 0.8, 0.5, 0
    # k = 1: the first atom, refitted to the projection (3, 0, 0); k = 2 adds the second: (3, 1, 0)
    np.testing.assert_allclose(largest_codes_approximation(x, codes, atoms, 1), [[3.0, 0.0, 0.0]])
    np.testing.assert_allclose(largest_codes_approximation(x, codes, atoms, 2), [[3.0, 1.0, 0.0]])
    # a budget larger than the non-zero codes uses only those: the fourth atom (code 0) is never taken
    np.testing.assert_allclose(largest_codes_approximation(x, codes, atoms, 4), x)
    assert unexplained_score(x, [[3.0, 0.0, 0.0]]) == pytest.approx(-1.25 / 10.25)
    with pytest.raises(InputError, match="codes must have shape"):
        largest_codes_approximation(x, codes[:, :3], atoms, 1)


def test_matching_pursuit_with_an_orthonormal_basis_keeps_the_largest_coordinates():
    rng = np.random.default_rng(1)
    rotation, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    coefficients = rng.standard_normal((50, 6))
    X = coefficients @ rotation.T
    kept = np.where(np.abs(coefficients) >= -np.sort(-np.abs(coefficients), axis=1)[:, [2]], coefficients, 0.0)
    np.testing.assert_allclose(matching_pursuit(X, 3 * rotation.T, 3), kept @ rotation.T, atol=1e-9)
    np.testing.assert_allclose(matching_pursuit(X, rotation.T, 6), X, atol=1e-9)


def test_an_all_zero_input_is_refused():
    with pytest.raises(InputError, match="X is all zeros"):
        unexplained_score(np.zeros((3, 4)), np.zeros((3, 4)))


# --------------------------------------------------------------------------- known answers


def test_grid_search_over_lam_picks_an_interior_value_with_the_best_recovered_dictionary(planted):
    X, atoms = planted
    search = quietly(lambda: GridSearchCV(sparse_coding(), {"lam": LAM_GRID}, cv=3).fit(X))
    scores = search.cv_results_["mean_test_score"]
    best = search.best_params_["lam"]
    assert best not in (LAM_GRID[0], LAM_GRID[-1]), dict(zip(LAM_GRID, scores))
    assert np.all((scores >= -1) & (scores <= 0))
    models = {lam: quietly(lambda: sparse_coding(lam=lam).fit(X)) for lam in LAM_GRID}
    # the generating sparsity: the chosen lam is next to the one whose codes are as sparse as the truth's
    active = {lam: np.count_nonzero(model.transform(X)) / len(X) for lam, model in models.items()}
    closest = min(LAM_GRID, key=lambda lam: abs(active[lam] - ACTIVE_PER_PATCH))
    assert abs(LAM_GRID.index(best) - LAM_GRID.index(closest)) <= 1, active
    # the generating atoms: the chosen model recovers them best among the candidates (ties within 0.002)
    recovered = {lam: recovery(model.basis_, atoms) for lam, model in models.items()}
    assert recovered[best] >= max(recovered.values()) - 0.002, recovered
    assert recovered[best] > 0.99
    assert recovered[LAM_GRID[-1]] < 0.95                  # too sparse: the edge loses atoms


def test_fewer_atoms_than_the_truth_score_worse_and_more_add_little(planted):
    X, _ = planted
    grid = [4, 8, 12, 16, 24]
    search = quietly(lambda: GridSearchCV(sparse_coding(lam=0.3), {"n_components": grid}, cv=3).fit(X))
    scores = dict(zip(grid, search.cv_results_["mean_test_score"]))
    assert scores[4] < scores[8] < scores[12] < scores[16] - 0.05, scores
    assert search.best_params_["n_components"] >= 16
    assert scores[24] - scores[16] < 0.1 * (scores[16] - scores[12]), scores


# --------------------------------------------------------------------------- every learner


@pytest.mark.parametrize("make", [lambda: ICA(n_components=8), lambda: ISA(n_components=8, subspace_size=2,
                                                                            max_iter=50),
                                  lambda: SAILnet(n_components=16, n_steps=20, batch_size=64), sparse_coding],
                         ids=["ica", "isa", "sailnet", "sparse_coding"])
def test_every_table_learner_scores_in_minus_one_to_zero_and_a_larger_budget_explains_more(planted, make):
    X, _ = planted
    model = quietly(lambda: make().fit(X[:1000]))
    scores = [model.score(X[1000:], n_nonzero=k) for k in (1, 2, 4, 8)]
    assert -1 <= scores[0] and scores[-1] <= 0
    assert np.all(np.diff(scores) >= -1e-12), scores
    assert scores[0] < scores[-1]
    assert model.score(X[1000:]) == scores[1]              # the default budget: ceil(16 / 10) = 2
    cross = quietly(lambda: cross_val_score(make(), X, cv=2, scoring=budget_scorer(4)))
    assert np.all((cross >= -1) & (cross <= 0))


def test_sparse_cnn_scores_the_tiles_of_its_images_with_its_atoms():
    rng = np.random.default_rng(2)
    images = rng.standard_normal((2, 9, 10))               # 3 x 3 tiles: 3 rows and 3 columns each
    pixels = np.eye(9).reshape(9, 3, 3)                   # one atom per pixel of a tile
    model = SparseCNN().set_atoms(pixels)
    tiles = images[:, :9, :9].reshape(2, 3, 3, 3, 3).transpose(0, 1, 3, 2, 4).reshape(-1, 9)
    largest = np.sort(tiles ** 2, axis=1)[:, -1].sum()
    assert model.score(images, n_nonzero=1) == pytest.approx(-(1 - largest / (tiles ** 2).sum()))
    assert model.score(images, n_nonzero=9) == pytest.approx(0.0, abs=1e-12)
    assert model.score(images) == model.score(images, n_nonzero=1)   # ceil(9 / 10) = 1
