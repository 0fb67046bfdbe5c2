r"""Compiled (numba) locally competitive algorithm (LCA) for the hard-threshold penalties ``l0`` and ``topk``.

For each row c of the correlations C = X Dᵀ (B, K), with the Gram matrix G = D Dᵀ (K, K) and the
step dt = 1/L, LCA (Rozell et al. 2008; :func:`effcode.learners.inference._lca`) runs the Euler steps

.. math::  u \leftarrow (1 - dt)\,u + dt\,c - dt\,a\,(G - I),\qquad a = T(u),

from u = init (or 0) and a = T(u), where T is the prox of the penalty at unit step:

* ``l0``: hard threshold, :math:`a_k = u_k` where the absolute value of :math:`u_k` exceeds
  :math:`\sqrt{2\lambda}`, else 0;
* ``topk``: keep the k entries of u of largest absolute value, zero the rest (all of u when k >= K).

A dense implementation pays a (B, K) x (K, K) product per iteration for the inhibition a (G − I),
2·K² operations per row, although a has only about k (topk) or a similar number (l0, once the
dictionary is learned) non-zero entries per row.  Here the inhibition is the sum over the active
atoms j of :math:`a_j (G_{j,:} - e_j)`, the rows of the precomputed operator
:math:`-dt\,(G - I)`: K operations per active atom, and one iteration of a row costs
K·(number of active atoms) for the inhibition plus a few K for the update of u and the threshold
(a partial selection of the k largest for topk: one comparison per atom, a short sorted insertion
for the few that beat the current k-th, O(K k) at worst).  Every row runs independently, with u, a
and the inhibition held in vectors of length K.

The operations are those of the dense version in the same order (decay, plus inhibition, plus
drive), in the dtype of the input; only the summation order of the inhibition differs, so results
agree to rounding (an entry exactly at the threshold, or tied for the k-th place, may differ).
Ties in topk: among equal absolute values the atom of lower index wins.

Stopping test, **per row** (the torch version tests a chunk of rows at once): every
``check_every`` iterations the row stops once :math:`\lVert a_t - a_{t-1}\rVert \le
\mathrm{tol}\,\lVert a_{t-1}\rVert` (Euclidean) and :math:`a_{t-1} \ne 0`: a row whose codes are
still all zero keeps running (its potentials may be rising towards the threshold; such a row costs
only the O(K) update per iteration), where a chunk of rows with all-zero codes would stop.
``tol = 0`` runs exactly ``n_iter`` iterations.
"""

from __future__ import annotations

from .. import numba_cache  # first: a read-only installation caches elsewhere, or not at all
import numba
import numpy as np

from .largest import keep_largest


@numba.njit(cache=numba_cache.CACHE, nogil=True)
def _select(u, threshold, k, use_topk, selected, top_scores):
    """Indices of the non-zero entries of T(u) in ``selected``; returns how many."""
    n_atoms = u.shape[0]
    n_selected = 0
    if not use_topk:
        for i in range(n_atoms):
            if abs(u[i]) > threshold:
                selected[n_selected] = i
                n_selected += 1
        return n_selected
    if k >= n_atoms:
        for i in range(n_atoms):
            if u[i] != 0.0:
                selected[n_selected] = i
                n_selected += 1
        return n_selected
    # the k largest absolute values, kept sorted by decreasing score (zeros never enter: T keeps them at 0)
    for i in range(n_atoms):
        if u[i] != 0.0:
            n_selected = keep_largest(abs(u[i]), i, top_scores, selected, n_selected, k)
    return n_selected


@numba.njit(cache=numba_cache.CACHE, nogil=True)
def _lca_rows(drive, inhibition, init, has_init, decay, threshold, k, use_topk, n_iter, tol, check_every, codes):
    n_rows, n_atoms = drive.shape
    dtype = drive.dtype
    u = np.zeros(n_atoms, dtype)
    a = np.zeros(n_atoms, dtype)              # the row's codes, dense; non-zero only at ``active``
    lateral = np.zeros(n_atoms, dtype)
    active = np.empty(n_atoms, np.int64)
    selected = np.empty(n_atoms, np.int64)
    in_selected = np.zeros(n_atoms, np.bool_)
    top_scores = np.empty(max(k, 1), dtype)
    most_iterations = 0
    for row in range(n_rows):
        if has_init:
            for i in range(n_atoms):
                u[i] = init[row, i]
        else:
            u[:] = 0.0
        n_active = _select(u, threshold, k, use_topk, active, top_scores)
        for s in range(n_active):
            a[active[s]] = u[active[s]]
        ran = n_iter
        for it in range(1, n_iter + 1):
            # a (-dt (G - I)): the rows of the operator of the active atoms
            lateral[:] = 0.0
            for s in range(n_active):
                j = active[s]
                value = a[j]
                operator_row = inhibition[j]
                for i in range(n_atoms):
                    lateral[i] += value * operator_row[i]
            for i in range(n_atoms):
                u[i] = decay * u[i] + lateral[i] + drive[row, i]
            n_selected = _select(u, threshold, k, use_topk, selected, top_scores)
            stop = False
            if tol > 0.0 and it % check_every == 0:
                squared_change = 0.0
                squared_norm = 0.0
                for s in range(n_selected):
                    i = selected[s]
                    in_selected[i] = True
                    delta = u[i] - a[i]
                    squared_change += delta * delta
                for s in range(n_active):
                    j = active[s]
                    squared_norm += a[j] * a[j]
                    if not in_selected[j]:
                        squared_change += a[j] * a[j]
                for s in range(n_selected):
                    in_selected[selected[s]] = False
                stop = squared_norm > 0.0 and squared_change <= tol * tol * squared_norm
            for s in range(n_active):
                a[active[s]] = 0.0
            for s in range(n_selected):
                i = selected[s]
                a[i] = u[i]
                active[s] = i
            n_active = n_selected
            if stop:
                ran = it
                break
        most_iterations = max(most_iterations, ran)
        for s in range(n_active):
            j = active[s]
            codes[row, j] = a[j]
            a[j] = 0.0
    return most_iterations


def lca_hard_threshold(drive: np.ndarray, inhibition: np.ndarray, step: float, *, threshold: float = 0.0,
                       k: int | None = None, n_iter: int = 100, tol: float = 1e-4, init: np.ndarray | None = None,
                       check_every: int = 5) -> tuple[np.ndarray, int]:
    """Codes (B, K), in the dtype of ``drive``, and the most iterations any row ran (module docstring).

    ``drive`` = dt·C (B, K) and ``inhibition`` = −dt·(G − I) (K, K), C-contiguous, one float dtype;
    ``step`` = dt.  ``k`` given: the ``topk`` penalty with that k; else ``l0`` with the hard
    ``threshold`` (:math:`\\sqrt{2\\lambda}`).  ``init``: starting potentials (B, K), or None for 0.
    No validation: the caller (:func:`effcode.learners.inference.solve`) passes checked arrays.
    """
    real = drive.dtype.type    # scalars in the data's precision: no float64 arithmetic in the loops
    codes = np.zeros(drive.shape, dtype=drive.dtype)
    has_init = init is not None
    start = np.ascontiguousarray(init, dtype=drive.dtype) if has_init else np.zeros((0, drive.shape[1]), drive.dtype)
    iterations = _lca_rows(drive, inhibition, start, has_init, real(1.0 - step), real(threshold),
                           int(k or 0), k is not None, int(n_iter), real(tol), max(1, int(check_every)), codes)
    return codes, int(iterations)


def compile_kernels() -> None:
    """Compile the kernel for float32 and float64 data (both penalties) into numba's on-disk cache, or load it."""
    for dtype in (np.float32, np.float64):
        drive = np.ones((1, 2), dtype=dtype)
        inhibition = np.zeros((2, 2), dtype=dtype)
        lca_hard_threshold(drive, inhibition, 0.5, threshold=0.5, n_iter=2)
        lca_hard_threshold(drive, inhibition, 0.5, k=1, n_iter=2)


__all__ = ["lca_hard_threshold", "compile_kernels"]
