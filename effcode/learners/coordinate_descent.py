r"""Compiled (numba) kernels for sparse codes that are mostly zero: lasso by active-set coordinate
descent, and the dictionary statistics accumulated from the codes' supports.

For each row c of the correlations C = X Dᵀ (B, K) and the Gram matrix G = D Dᵀ (K, K),
:func:`lasso_coordinate_descent` minimises

.. math::  f(a) = \tfrac12 a^\top G a - c^\top a + \lambda \textstyle\sum_k |a_k|
           \quad (\text{and } a \ge 0 \text{ when } \texttt{nonneg}),

which is ½‖x − aD‖² + λ‖a‖₁ up to the constant ½‖x‖².  Per row, with a = 0 and an empty active
set S at the start:

1. the full gradient g = c − G[:, S] a_S is formed (K·|S| operations) and the atoms outside S that
   violate optimality at 0, \|g_k\| > λ(1 + slack) (g_k > λ(1 + slack) when non-negative), are
   found; with none, a is optimal and the row is done;
2. the ``max_add`` largest violators join S;
3. cyclic coordinate descent on S: a_j ← shrink(a_j + g_j / G_jj, λ / G_jj), the gradient on S
   updated after each change (|S| operations, from a copy of G[S, S] gathered once per round),
   until a sweep changes the codes by at most ``tol`` relative to their norm,
   ‖Δa‖ ≤ tol ‖a‖ (Euclidean), or for ``n_iter`` sweeps;
4. atoms of S that ended at zero leave it; back to 1.

Every step is exact coordinate minimisation of the convex f, so this reaches the same minimiser as
FISTA (:mod:`effcode.learners.inference`) to the stopping tolerance, at a cost that grows with
the support (about 12 of 256 atoms on the default benchmark) instead of with K² per iteration.
"""

from __future__ import annotations

from .. import numba_cache  # first: a read-only installation caches elsewhere, or not at all
import numba
import numpy as np

from .largest import keep_largest

#: most violators added to the active set per optimality check (the largest first)
MAX_ADD = 16
#: most optimality checks per row, a safeguard: a row still violating optimality after this many
#: rounds keeps the codes of its last active set (on the default images a row needs about 2.6)
MAX_ROUNDS = 64


@numba.njit(cache=numba_cache.CACHE, nogil=True, fastmath=True)
def _lasso_rows(correlations, gram, lam, nonneg, n_iter, tol, slack, max_add, codes):
    n_rows, n_atoms = correlations.shape
    active = np.empty(n_atoms, np.int64)
    values = np.zeros(n_atoms, correlations.dtype)
    gradient = np.zeros(n_atoms, correlations.dtype)   # gradient on the active set, aligned with ``active``
    full = np.empty(n_atoms, correlations.dtype)
    in_active = np.zeros(n_atoms, np.bool_)
    candidates = np.empty(max_add, np.int64)
    top_scores = np.empty(max_add, correlations.dtype)
    sub_gram = np.empty(n_atoms * n_atoms, gram.dtype)   # G[S, S], row-major with stride |S|
    inverse_curvature = np.empty(n_atoms, gram.dtype)     # 1 / G_jj over S
    threshold = lam * (1.0 + slack)
    most_sweeps = 0
    for row in range(n_rows):
        c = correlations[row]
        n_active = 0
        for _ in range(MAX_ROUNDS):
            # 1. full gradient
            for k in range(n_atoms):
                full[k] = c[k]
            for s in range(n_active):
                j = active[s]
                v = values[s]
                g_row = gram[j]
                for k in range(n_atoms):
                    full[k] -= v * g_row[k]
            # 2. the max_add largest violators join, kept in a short list sorted by decreasing |g|
            n_new = 0
            for k in range(n_atoms):
                if in_active[k]:
                    continue
                score = full[k] if nonneg else abs(full[k])
                if score > threshold:
                    n_new = keep_largest(score, k, top_scores, candidates, n_new, max_add)
            if n_new == 0:
                break
            for i in range(n_new):
                k = candidates[i]
                active[n_active] = k
                values[n_active] = 0.0
                in_active[k] = True
                n_active += 1
            for s in range(n_active):
                gradient[s] = full[active[s]]
                g_row = gram[active[s]]
                for t in range(n_active):
                    sub_gram[s * n_active + t] = g_row[active[t]]
                curvature = g_row[active[s]]
                inverse_curvature[s] = 1.0 / curvature if curvature > 0.0 else 0.0   # an all-zero atom stays 0
            # 3. coordinate descent on the active set until a sweep changes the codes by at most
            #    tol (relative, Euclidean norm)
            for sweep in range(1, n_iter + 1):
                squared_change = 0.0
                squared_norm = 0.0
                for s in range(n_active):
                    old = values[s]
                    z = old + gradient[s] * inverse_curvature[s]
                    shrink = lam * inverse_curvature[s]
                    if z > shrink:
                        new = z - shrink
                    elif z < -shrink and not nonneg:
                        new = z + shrink
                    else:
                        new = 0.0
                    delta = new - old
                    if delta != 0.0:
                        values[s] = new
                        offset = s * n_active
                        for t in range(n_active):
                            gradient[t] -= sub_gram[offset + t] * delta
                        squared_change += delta * delta
                    squared_norm += new * new
                most_sweeps = max(most_sweeps, sweep)
                if squared_change <= tol * tol * squared_norm:
                    break
            # 4. atoms at zero leave the active set
            kept = 0
            for s in range(n_active):
                if values[s] != 0.0:
                    active[kept] = active[s]
                    values[kept] = values[s]
                    kept += 1
                else:
                    in_active[active[s]] = False
            n_active = kept
        for s in range(n_active):
            codes[row, active[s]] = values[s]
            in_active[active[s]] = False
    return most_sweeps


def lasso_coordinate_descent(correlations: np.ndarray, gram: np.ndarray, lam: float, *, nonneg: bool = False,
                             n_iter: int = 100, tol: float = 1e-4, slack: float = 1e-3,
                             max_add: int = MAX_ADD) -> tuple[np.ndarray, int]:
    """Codes (B, K), in the dtype of ``correlations``, and the most sweeps any coordinate descent ran.

    ``correlations`` C = X Dᵀ (B, K) and ``gram`` G = D Dᵀ (K, K), C-contiguous, the same float
    dtype; ``n_iter`` caps the sweeps per active set, ``tol`` is the relative stopping change,
    ``slack`` the relative margin of the optimality test (module docstring).  No validation: the
    caller (:func:`effcode.learners.inference.solve`) passes checked arrays.
    """
    codes = np.zeros(correlations.shape, dtype=correlations.dtype)
    real = correlations.dtype.type    # scalars in the data's precision: no float64 arithmetic in the loops
    sweeps = _lasso_rows(correlations, gram, real(lam), bool(nonneg), int(n_iter), real(tol), real(slack),
                         int(max_add), codes)
    return codes, int(sweeps)


@numba.njit(cache=numba_cache.CACHE, nogil=True, fastmath=True)
def _support_statistics(codes, X, correlations, gram, code_gram, code_data, residual_energy):
    n_rows, n_atoms = codes.shape
    n_features = X.shape[1]
    support = np.empty(n_atoms, np.int64)
    for row in range(n_rows):
        a = codes[row]
        x = X[row]
        size = 0
        for k in range(n_atoms):
            if a[k] != 0.0:
                support[size] = k
                size += 1
        # ||x - aD||² = ||x||² - 2 a·c + aᵀ G a, all on the support
        energy = 0.0
        for f in range(n_features):
            energy += x[f] * x[f]
        for s in range(size):
            i = support[s]
            ai = a[i]
            energy -= 2.0 * ai * correlations[row, i]
            for t in range(size):
                j = support[t]
                energy += ai * a[j] * gram[i, j]
                code_gram[i, j] += ai * a[j]
            data_row = code_data[i]
            for f in range(n_features):
                data_row[f] += ai * x[f]
        residual_energy[row] = max(energy, 0.0)


def support_statistics(codes: np.ndarray, X: np.ndarray, correlations: np.ndarray,
                       gram: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AᵀA (K, K), AᵀX (K, d) and the residual energies ‖x − aD‖² (B,) of codes A (B, K) of X (B, d).

    The same values as the dense products, computed from each row's non-zero codes: the cost grows
    with the squared support (AᵀA) and support times d (AᵀX) instead of B·K² and B·K·d.
    ``correlations`` = X Dᵀ and ``gram`` = D Dᵀ give the residual energies without forming X − AD.
    """
    n_atoms, n_features = codes.shape[1], X.shape[1]
    code_gram = np.zeros((n_atoms, n_atoms), dtype=codes.dtype)
    code_data = np.zeros((n_atoms, n_features), dtype=codes.dtype)
    residual_energy = np.empty(codes.shape[0], dtype=codes.dtype)
    _support_statistics(codes, X, correlations, gram, code_gram, code_data, residual_energy)
    return code_gram, code_data, residual_energy


def compile_kernels() -> None:
    """Compile both kernels for float32 and float64 data and write them to numba's on-disk cache, or load them
    from it when it already holds them.

    The first call of a kernel in an installation compiles it (about 2 s for both on one core); every later
    process loads it from the cache (about 0.3 s).  ``effcode compile`` (``effcode.learners.compiled``), run
    by the README's install commands, calls this and every other kernel's once, so that no fit compiles.  Where
    the cache lies: ``effcode.numba_cache``.
    """
    for dtype in ("float32", "float64"):
        atoms = np.eye(2, 3, dtype=dtype)
        patches = np.ones((1, 3), dtype=dtype)
        correlations, gram = patches @ atoms.T, atoms @ atoms.T
        codes, _ = lasso_coordinate_descent(correlations, gram, 0.5)
        support_statistics(codes, patches, correlations, gram)
