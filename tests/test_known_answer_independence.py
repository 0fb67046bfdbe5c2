"""The known-answer fixtures do not hand the learner its answer: a learner whose ``random_state`` seeds the same
numpy generator as the data, and whose first draw has the generating atoms' shape, starts at the generating atoms
(SparseCoding and SAILnet draw ``standard_normal((K, d))``, as ``sparse_data`` does), so "recovery" is free.
Each fixture below is measured as its test uses it: the learner's atoms before learning against the planted
ones, mean |cos| after Hungarian matching.  Independent draws give 0.29-0.50 here; a shared draw gives 1."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone

from effcode.learners.sailnet import SAILnet
from effcode.learners.sparse_coding import SparseCoding
from test_model_selection import DATA_SEEDS as SELECTION_SEEDS, N_ATOMS, planted_patches
from test_sailnet import planted_data
from test_sklearn_conventions import sparse_mixture
from test_sparse_coding import RECOVERY_SEEDS, matched_cosines, sparse_data

#: the largest mean matched |cos| allowed between initial and planted atoms (measured at most 0.50)
INDEPENDENT = 0.6


def initial_atoms(learner, X):
    """The learner's atoms before learning: one update at a learning rate of 1e-9 (within 1e-7 of the draw)."""
    rates = {"learning_rate": 1e-9} if isinstance(learner, SparseCoding) else {"alpha": 1e-9, "beta": 1e-9,
                                                                              "gamma": 1e-9}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clone(learner).set_params(n_steps=1, batch_size=64, **rates).fit(X).components_


def fixtures():
    """(test, data and planted atoms, learner as the test builds it) for every known-answer fixture."""
    for seed in RECOVERY_SEEDS:
        yield "sparse_coding recovery", sparse_data(64, 96, 256, seed=seed), SparseCoding(96)
        yield "dictionary update", sparse_data(48, 64, 256, seed=seed), SparseCoding(64)
        yield "default schedule", sparse_data(32, 48, 256, seed=seed), SparseCoding(48)
        for start in range(10, 15):
            yield "small dense restarts", sparse_data(16, 6, 256, seed=seed), SparseCoding(6, random_state=start)
    yield "bcd against gradient", sparse_data(48, 64, 256, seed=1), SparseCoding(64)
    for seed in SELECTION_SEEDS:
        yield "model selection", planted_patches(n=256, seed=seed), SparseCoding(N_ATOMS)
    yield "sklearn conventions", sparse_mixture(), SparseCoding(8)
    yield "sklearn conventions", sparse_mixture(), SAILnet(8)
    yield "sailnet planted components", planted_data(n=256), SAILnet(32)


@pytest.mark.parametrize("name, data, learner", list(fixtures()))
def test_no_learner_starts_at_the_planted_atoms(name, data, learner):
    X, planted = data
    start = initial_atoms(learner, X)
    assert np.mean(matched_cosines(planted, start)) < INDEPENDENT, name


def test_the_check_sees_a_learner_seeded_like_its_data():
    """Data seed 0 and random_state 0 (the recovery fixtures before): the initial atoms are the planted ones."""
    X, planted = sparse_data(64, 96, 256, seed=0)
    assert np.mean(matched_cosines(planted, initial_atoms(SparseCoding(96), X))) > 0.999
    X, planted = sparse_mixture(seed=0)
    assert np.mean(matched_cosines(planted, initial_atoms(SAILnet(8), X))) > 0.999
