r"""Model selection on one footing: the description length of held-out patches at a shared sparsity budget.

Every learner's ``score(X)`` states one generative model for every candidate: each patch x (d,) is
a weighted sum of k of the learner's K basis functions :math:`b_j` (``basis_``), the k chosen as a
set, plus white Gaussian noise,

.. math::  x = \sum_{j \in S} w_j b_j + \varepsilon, \qquad S \subset \{1, \dots, K\},\ \lvert S \rvert = k,
           \qquad \varepsilon \sim \mathcal N(0, \sigma^2 I_d),

and scores the bits per pixel this model saves when it transmits the held-out patches, against
sending them as white Gaussian noise of their own power (the model with no basis functions).

*The set* S of a patch is the learner's own choice: the k non-zero codes a = ``transform(x)`` (ICA
and ISA: the linear unit outputs) of largest contribution :math:`\lvert a_j \rvert\,\lVert b_j \rVert`;
their weights are refitted by least squares,

.. math::  \hat x_k = \operatorname*{arg\,min}_{y \in \operatorname{span}(b_j : j \in S_k(x))} \lVert x - y \rVert,

so that an l1 penalty's shrinkage is not what is scored.  *The two-part code*: the residuals cost
:math:`\tfrac{nd}{2}\log_2 \hat\sigma^2` bits (up to a constant shared by every model), with
:math:`\hat\sigma^2 = \sum_x \lVert x - \hat x_k \rVert^2 / nd`, and each patch's set costs
:math:`\log_2 \binom{K}{k}` bits (every k-subset equally likely a priori).  The k weights cost
the same for every candidate at a shared k, so they cancel and are left out.  Per pixel,

.. math::  \mathrm{score}(X) = \frac12 \log_2 \frac{\sum_{x \in X} \lVert x \rVert^2}
                                              {\sum_{x \in X} \lVert x - \hat x_k \rVert^2}
           \;-\; \frac{1}{d} \log_2 \binom{K}{\min(k, K)}
           \quad \text{bits per pixel.}

Higher is better; 0 is no better than no model.  The first term rewards explaining the held-out
energy with k basis functions; the second charges for the choice among K of them, so a larger
dictionary must explain enough more to pay for its longer indices.  Every candidate gets the same
k, whatever its ``lam``, penalty or number of units: at one K the score ranks models as their
unexplained energy does; across K it is a minimum-description-length choice of the dictionary's
size.  A model whose codes are too dense loses what lies outside its k largest codes; one whose
codes are too sparse leaves part of the budget unused (it is still charged for k indices); one with
too few or poorly learned basis functions cannot span the patches; one with needlessly many pays
for them.  The unexplained fraction is floored at :data:`FLOOR` (an exact reconstruction scores
about 20 bits per pixel less the index cost, not infinity).  k defaults to one tenth of the patch
dimension, rounded up (:func:`budget`); choose it with :func:`budget_scorer` when the sparsity you
care about is known.

The sparse CNN's codes are convolutional, so its score approximates the non-overlapping
``kernel_size`` tiles of its images by orthogonal matching pursuit over its K atoms
(:func:`matching_pursuit`), the same budget of k atoms per tile and the same formula with d the
tile's pixels.
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


#: smallest unexplained fraction the score uses: about 20 bits per pixel at most for the residual term
FLOOR = 1e-12


def unexplained_fraction(X: ArrayLike, approximation: ArrayLike) -> float:
    """The fraction of the energy of X (n, d) that ``approximation`` (n, d) leaves unexplained, in [0, 1]
    for a least-squares approximation: lower is better."""
    X = check_array("X", X, ndim=2)
    energy = float(np.square(X).sum())
    if not energy > 0:
        raise InputError("X is all zeros; the score needs patches with non-zero energy")
    return float(np.square(X - approximation).sum()) / energy


def index_bits(n_atoms: int, n_nonzero: int) -> float:
    """Bits to name one set of ``n_nonzero`` of ``n_atoms`` basis functions, every set equally likely:
    log2 of the binomial coefficient (all of them when ``n_nonzero`` exceeds ``n_atoms``: 0 bits)."""
    n_atoms, k = check_int("n_atoms", n_atoms), check_int("n_nonzero", n_nonzero)
    k = min(k, n_atoms)
    return (math.lgamma(n_atoms + 1) - math.lgamma(k + 1) - math.lgamma(n_atoms - k + 1)) / math.log(2)


def description_length_score(X: ArrayLike, approximation: ArrayLike, n_atoms: int, n_nonzero: int) -> float:
    """Bits per pixel saved on the patches X (n, d) by their ``approximation`` (n, d) with ``n_nonzero``
    of ``n_atoms`` basis functions each: half the log2 of the energy over the unexplained energy
    (floored at :data:`FLOOR`), less the index cost per pixel; higher is better (module docstring)."""
    unexplained = max(unexplained_fraction(X, approximation), FLOOR)
    n_features = np.shape(X)[1]
    return -0.5 * math.log2(unexplained) - index_bits(n_atoms, n_nonzero) / n_features


def budget_scorer(n_nonzero: int) -> Callable[..., float]:
    """A ``scoring=`` callable for ``GridSearchCV`` / ``cross_val_score`` that scores every candidate
    with ``estimator.score(X, n_nonzero=n_nonzero)``: the same budget k for all of them."""
    k = check_int("n_nonzero", n_nonzero)

    def scorer(estimator, X: ArrayLike, y: object = None) -> float:
        return estimator.score(X, n_nonzero=k)

    return scorer


__all__ = ["FLOOR", "budget", "budget_scorer", "description_length_score", "index_bits", "largest_codes_approximation",
           "matching_pursuit", "unexplained_fraction"]
