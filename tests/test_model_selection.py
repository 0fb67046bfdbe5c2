"""``score``: the description length of held-out patches at a shared sparsity budget, with known answers.

Patches are drawn from a known dictionary with known sparse codes (two atoms active per patch on
average, Laplace amplitudes) plus Gaussian pixel noise of 0.3 times the signal's standard deviation in
every patch, training and held-out alike.  ``GridSearchCV`` over ``lam`` must pick an interior value
next to the one whose codes are as sparse as the generating ones, with the best-recovered dictionary;
over ``n_components`` it must pick the generating number of atoms within 25%, for an undercomplete, a
complete and a twice overcomplete truth.
"""

import warnings

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score

from effcode.errors import InputError
from effcode.learners import ICA, ISA, SAILnet, SparseCNN, SparseCoding
from effcode.learners.selection import (FLOOR, budget, budget_scorer, description_length_score, index_bits,
                                        largest_codes_approximation, matching_pursuit, unexplained_fraction)

N_FEATURES, N_ATOMS, ACTIVE_PER_PATCH, NOISE = 16, 16, 2, 0.3
LAM_GRID = [1e-3, 0.01, 0.1, 0.3, 1.0, 3.0, 10.0]
#: data seeds of the known answers: not 0, the learners' random_state (see the ``planted`` fixture)
DATA_SEEDS = (1, 2, 3)


def planted_patches(n=1500, seed=0, n_atoms=N_ATOMS):
    """(X (n, d), atoms (K, d)): sparse Laplace codes of unit-norm atoms plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    atoms = rng.standard_normal((n_atoms, N_FEATURES))
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    codes = rng.laplace(size=(n, n_atoms)) * (rng.random((n, n_atoms)) < ACTIVE_PER_PATCH / n_atoms)
    clean = codes @ atoms
    return clean + NOISE * clean.std() * rng.standard_normal(clean.shape), atoms


def recovery(basis, atoms):
    """Mean over the generating atoms of the largest absolute cosine with a learned basis function."""
    unit = basis / np.linalg.norm(basis, axis=1, keepdims=True)
    return float(np.abs(atoms @ unit.T).max(axis=1).mean())


def sparse_coding(**params):
    return SparseCoding(**{"n_components": N_ATOMS, "n_steps": 50, "batch_size": 256, "random_state": 0, **params})


def quietly(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # short fits: not converged, loss barely falling
        return fit()


@pytest.fixture(scope="module")
def planted():
    # data seed 1, not 0: the learners' random_state is 0, and a generator seeded 0 would draw their initial
    # dictionary equal to the generating one, a known answer handed to the learner before it starts
    return planted_patches(seed=DATA_SEEDS[0])


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
    assert unexplained_fraction(x, [[3.0, 0.0, 0.0]]) == pytest.approx(1.25 / 10.25)
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


def test_the_index_cost_is_log2_of_the_number_of_sets():
    assert index_bits(16, 2) == pytest.approx(np.log2(120))          # 16 * 15 / 2 sets of two
    assert index_bits(256, 1) == pytest.approx(8.0)
    assert index_bits(8, 8) == pytest.approx(0.0, abs=1e-12)          # one set: nothing to name
    assert index_bits(4, 9) == pytest.approx(0.0, abs=1e-12)          # a budget beyond K takes them all
    with pytest.raises(InputError, match="n_atoms"):
        index_bits(0, 1)


def test_the_score_is_bits_per_pixel_saved_less_the_index_cost():
    x = np.array([[3.0, 1.0, -0.5, 0.0]])                             # energy 10.25
    approximation = np.array([[3.0, 0.0, 0.0, 0.0]])                  # leaves 1.25
    expected = 0.5 * np.log2(10.25 / 1.25) - np.log2(6) / 4          # two of 4 atoms: 6 sets to name
    assert description_length_score(x, approximation, 4, 2) == pytest.approx(expected)
    # no model: nothing explained, nothing to name, nothing saved; an exact fit is floored, not infinite
    assert description_length_score(x, np.zeros_like(x), 1, 1) == pytest.approx(0.0, abs=1e-12)
    assert description_length_score(x, x, 1, 1) == pytest.approx(-0.5 * np.log2(FLOOR))


def test_an_all_zero_input_is_refused():
    with pytest.raises(InputError, match="X is all zeros"):
        unexplained_fraction(np.zeros((3, 4)), np.zeros((3, 4)))


# --------------------------------------------------------------------------- known answers


@pytest.mark.parametrize("seed", DATA_SEEDS)
def test_grid_search_over_lam_picks_an_interior_value_with_the_best_recovered_dictionary(seed):
    X, atoms = planted_patches(seed=seed)       # not seed 0: see the ``planted`` fixture
    search = quietly(lambda: GridSearchCV(sparse_coding(), {"lam": LAM_GRID}, cv=3).fit(X))
    scores = search.cv_results_["mean_test_score"]
    best = search.best_params_["lam"]
    assert best not in (LAM_GRID[0], LAM_GRID[-1]), dict(zip(LAM_GRID, scores))
    assert scores.max() > 0.9                              # bits per pixel saved by the best candidate
    models = {lam: quietly(lambda: sparse_coding(lam=lam).fit(X)) for lam in LAM_GRID}
    # the generating sparsity: the chosen lam is next to the one whose codes are as sparse as the truth's
    active = {lam: np.count_nonzero(model.transform(X)) / len(X) for lam, model in models.items()}
    closest = min(LAM_GRID, key=lambda lam: abs(active[lam] - ACTIVE_PER_PATCH))
    assert abs(LAM_GRID.index(best) - LAM_GRID.index(closest)) <= 1, active
    # the generating atoms: the chosen model recovers them as well as the best candidate, within 0.025 (data seeds
    # 1 and 3: a sparser code, lam = 3, recovers 0.994 and 0.993 against the chosen 0.979 and 0.972, but
    # reconstructs the patches far worse; seed 2: the chosen model is the best, 0.999)
    recovered = {lam: recovery(model.basis_, atoms) for lam, model in models.items()}
    assert recovered[best] >= max(recovered.values()) - 0.025, recovered
    assert recovered[best] > 0.97
    assert recovered[LAM_GRID[-1]] < 0.95                  # too sparse: the edge loses atoms


@pytest.mark.parametrize("seed", DATA_SEEDS)
@pytest.mark.parametrize("n_atoms", [8, 16, 32], ids=["half", "complete", "twice_overcomplete"])
def test_grid_search_over_n_components_picks_the_generating_number_of_atoms(n_atoms, seed):
    """At the lam that the search over lam picks (1), from data seeds other than the learner's random_state."""
    X, _ = planted_patches(n=1500 if n_atoms <= 16 else 3000, seed=seed, n_atoms=n_atoms)
    grid = [n_atoms // 2, 3 * n_atoms // 4, n_atoms, 5 * n_atoms // 4, 3 * n_atoms // 2, 2 * n_atoms]
    search = quietly(lambda: GridSearchCV(sparse_coding(lam=1.0, n_steps=100), {"n_components": grid}, cv=3).fit(X))
    scores = dict(zip(grid, search.cv_results_["mean_test_score"]))
    assert 0.75 * n_atoms <= search.best_params_["n_components"] <= 1.25 * n_atoms, scores
    # too few atoms cannot span the patches; too many explain too little more to pay for their longer indices
    best = max(scores.values())
    assert scores[n_atoms // 2] < best - 0.3, scores
    assert scores[2 * n_atoms] < best - 0.05, scores


# --------------------------------------------------------------------------- every learner


@pytest.mark.parametrize("make", [lambda: ICA(n_components=8), lambda: ISA(n_components=8, subspace_size=2,
                                                                            max_iter=50),
                                  lambda: SAILnet(n_components=16, n_steps=20, batch_size=64), sparse_coding],
                         ids=["ica", "isa", "sailnet", "sparse_coding"])
def test_every_table_learner_scores_by_the_formula_and_a_larger_budget_explains_more(planted, make):
    X, _ = planted
    model = quietly(lambda: make().fit(X[:1000]))
    held_out = X[1000:]
    n_atoms = model.basis_.shape[0]
    scores = [model.score(held_out, n_nonzero=k) for k in (1, 2, 4, 8)]
    # the residual term (the score plus its index cost) grows with the budget
    residual_bits = [score + index_bits(n_atoms, k) / N_FEATURES for score, k in zip(scores, (1, 2, 4, 8))]
    assert np.all(np.diff(residual_bits) >= -1e-12), residual_bits
    assert 0 < residual_bits[0] < residual_bits[-1]
    assert model.score(held_out) == scores[1]              # the default budget: ceil(16 / 10) = 2
    cross = quietly(lambda: cross_val_score(make(), X, cv=2, scoring=budget_scorer(4)))
    assert np.all(np.isfinite(cross))


def test_sparse_cnn_scores_the_tiles_of_its_images_with_its_atoms():
    rng = np.random.default_rng(2)
    images = rng.standard_normal((2, 9, 10))               # 3 x 3 tiles: 3 rows and 3 columns each
    pixels = np.eye(9).reshape(9, 3, 3)                   # one atom per pixel of a tile
    model = SparseCNN().set_atoms(pixels)
    tiles = images[:, :9, :9].reshape(2, 3, 3, 3, 3).transpose(0, 1, 3, 2, 4).reshape(-1, 9)
    largest = np.sort(tiles ** 2, axis=1)[:, -1].sum()
    energy = (tiles ** 2).sum()
    # one of 9 pixel atoms per tile keeps its largest pixel; naming it costs log2(9) bits per 9 pixels
    assert model.score(images, n_nonzero=1) == pytest.approx(0.5 * np.log2(energy / (energy - largest))
                                                             - np.log2(9) / 9)
    assert model.score(images, n_nonzero=9) == pytest.approx(-0.5 * np.log2(FLOOR))   # exact, nothing to name
    assert model.score(images) == model.score(images, n_nonzero=1)   # ceil(9 / 10) = 1
