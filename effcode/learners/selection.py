r"""Model selection on one footing: held-out reconstruction at a shared sparsity budget.

Every learner's ``score(X)`` keeps, for each patch x (d,) of X, the k largest contributions of the
learner's own codes a = ``transform(x)`` (ICA and ISA: the linear unit outputs), ranked by
:math:`\lvert a_j \rvert\,\lVert b_j \rVert` with :math:`b_j` the basis functions (``basis_``), and refits
their weights by least squares, so that

.. math::  \hat x_k = \operatorname*{arg\,min}_{y \in \operatorname{span}(b_j : j \in S_k(x))} \lVert x - y \rVert,
           \qquad S_k(x) = \text{the (at most) } k \text{ non-zero codes of largest } \lvert a_j \rvert\,\lVert b_j \rVert,

and the score is minus the fraction of the held-out energy left unexplained,

.. math::  \mathrm{score}(X) = -\frac{\sum_{x \in X} \lVert x - \hat x_k \rVert^2}{\sum_{x \in X} \lVert x \rVert^2}
           \in [-1, 0].

Higher is better: 0 reconstructs every patch exactly with k basis functions, -1 explains nothing.
Every candidate gets the same budget of k basis functions per patch, whatever its ``lam``, penalty
or number of units, so the values compare on one footing.  A model whose codes are too dense loses
what lies outside its k largest codes; one whose codes are too sparse leaves part of the budget
unused; one with too few or poorly learned basis functions cannot span the patches.  The refit makes
the score independent of the shrinkage of the codes (an l1 penalty's bias).  k defaults to one
tenth of the patch dimension, rounded up (:func:`default_budget`); choose it with
:func:`budget_scorer` when the sparsity you care about is known.

The sparse CNN's codes are convolutional, so its score approximates the non-overlapping
``kernel_size`` tiles of its images by orthogonal matching pursuit over its atoms
(:func:`matching_pursuit`), the same budget of k atoms per tile.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ..validation import check_array, check_int

#: patches approximated at a time (bounds the (rows, k, d) stack of selected atoms)
CHUNK = 2048


def budget(n_features: int, n_nonzero: int | None = None) -> int:
    """The sparsity budget k: ``n_nonzero`` (a positive integer), or by default one tenth of the patch
    dimension ``n_features``, rounded up."""
    if n_nonzero is None:
        return max(1, math.ceil(n_features / 10))
    return check_int("n_nonzero", n_nonzero)


def _project(X: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """Least-squares approximations (n, d) of the rows of X (n, d) in the span of each row's ``selected``
    vectors (n, s, d); all-zero vectors (unused slots) and duplicated vectors are allowed."""
    gram = selected @ selected.transpose(0, 2, 1)
    gram += 1e-10 * np.eye(selected.shape[1])                  # unused or duplicated slots: still solvable
    weights = np.linalg.solve(gram, selected @ X[:, :, None])
    return (weights.transpose(0, 2, 1) @ selected)[:, 0]


def _checked(X: ArrayLike, atoms: ArrayLike, n_nonzero: int) -> tuple[np.ndarray, np.ndarray, int]:
    X = check_array("X", X, ndim=2)
    atoms = check_array("atoms", atoms, ndim=2)
    if atoms.shape[1] != X.shape[1]:
        raise InputError(f"atoms have {atoms.shape[1]} features but X has {X.shape[1]}; expected the same")
    return X, atoms, check_int("n_nonzero", n_nonzero)


def largest_codes_approximation(X: ArrayLike, codes: ArrayLike, atoms: ArrayLike, n_nonzero: int) -> np.ndarray:
    """The approximations (n, d) of the rows of X (n, d) by least squares on the (at most) ``n_nonzero``
    non-zero ``codes`` (n, K) of largest contribution ``abs(codes[:, j]) * norm(atoms[j])``, ``atoms`` (K, d)."""
    X, atoms, n_nonzero = _checked(X, atoms, n_nonzero)
    codes = check_array("codes", codes, ndim=2)
    if codes.shape != (X.shape[0], atoms.shape[0]):
        raise InputError(f"codes must have shape {(X.shape[0], atoms.shape[0])} (patches, atoms), "
                         f"got {codes.shape}")
    k = min(n_nonzero, atoms.shape[0])
    contribution = np.abs(codes) * np.linalg.norm(atoms, axis=1)
    parts = []
    for start in range(0, X.shape[0], CHUNK):
        rows = contribution[start:start + CHUNK]
        support = np.argsort(-rows, axis=1, kind="stable")[:, :k]
        used = np.take_along_axis(rows, support, axis=1) > 0
        parts.append(_project(X[start:start + CHUNK], atoms[support] * used[:, :, None]))
    return np.concatenate(parts)


def matching_pursuit(X: ArrayLike, atoms: ArrayLike, n_nonzero: int) -> np.ndarray:
    """Orthogonal matching pursuit: the approximations (n, d) of the rows of X (n, d) with at most
    ``n_nonzero`` of the ``atoms`` (K, d) each, chosen one at a time by the largest correlation of the
    unit-norm atom with the residual (atoms of zero norm are never chosen)."""
    X, atoms, n_nonzero = _checked(X, atoms, n_nonzero)
    norms = np.linalg.norm(atoms, axis=1)
    unit = atoms[norms > 0] / norms[norms > 0, None]
    steps = min(n_nonzero, unit.shape[0], X.shape[1])
    parts = []
    for start in range(0, X.shape[0], CHUNK):
        rows = X[start:start + CHUNK]
        index = np.arange(rows.shape[0])[:, None]
        chosen = np.zeros((rows.shape[0], steps), dtype=np.int64)
        approximation = np.zeros_like(rows)
        for step in range(steps):
            correlation = np.abs((rows - approximation) @ unit.T)
            correlation[index, chosen[:, :step]] = -1.0        # an atom is chosen once
            chosen[:, step] = correlation.argmax(axis=1)
            approximation = _project(rows, unit[chosen[:, :step + 1]])
        parts.append(approximation)
    return np.concatenate(parts)


def unexplained_score(X: ArrayLike, approximation: ArrayLike) -> float:
    """Minus the fraction of the energy of X (n, d) that ``approximation`` (n, d) leaves unexplained, in
    [-1, 0] for a least-squares approximation: higher is better."""
    X = check_array("X", X, ndim=2)
    energy = float(np.square(X).sum())
    if not energy > 0:
        raise InputError("X is all zeros; the score needs patches with non-zero energy")
    return -float(np.square(X - approximation).sum()) / energy


def budget_scorer(n_nonzero: int) -> Callable[..., float]:
    """A ``scoring=`` callable for ``GridSearchCV`` / ``cross_val_score`` that scores every candidate
    with ``estimator.score(X, n_nonzero=n_nonzero)``: the same budget k for all of them."""
    k = check_int("n_nonzero", n_nonzero)

    def scorer(estimator, X: ArrayLike, y: object = None) -> float:
        return estimator.score(X, n_nonzero=k)

    return scorer


__all__ = ["budget", "budget_scorer", "largest_codes_approximation", "matching_pursuit", "unexplained_score"]
