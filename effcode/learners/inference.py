r"""Batched sparse inference kernels in torch: FISTA, ISTA and LCA.

All three solve, for each row x of a batch X (B, d) and a dictionary D (K, d)
whose rows are the atoms,

.. math::  \min_a \tfrac12 \lVert x - a D \rVert^2 + \lambda \textstyle\sum_k S(a_k),

with the penalty given as an :class:`effcode.objectives.Objective`.  The codes
A (B, K) reconstruct the batch as ``A @ D``.

The data enter only through C = X Dᵀ (B, K), computed once, and the Gram matrix
G = D Dᵀ (K, K): the gradient of the quadratic term is ``A G - C``.  One
iteration therefore costs one (B, K) x (K, K) matmul (2·B·K² FLOPs) plus a few
elementwise operations, independent of the patch dimension d.  These functions
do no input validation (see :mod:`effcode.learners.sparse_coding`); they run on
whatever device and dtype their tensors have.
"""

from __future__ import annotations

import math

import torch

#: inference algorithm names accepted by :func:`solve`
METHODS = ("fista", "ista", "lca")

#: on the CPU, batches are coded this many rows at a time: the working set stays in cache and
#: large temporaries are not re-allocated (and page-faulted) every iteration - about 3x faster
#: at B = 65,536 than one pass.  CUDA devices code the whole batch at once.
CPU_CHUNK_ROWS = 8192


def lipschitz_constant(dictionary: torch.Tensor, n_iter: int = 50, seed: int = 0) -> float:
    """Largest eigenvalue of D Dᵀ (= of ΦᵀΦ), by power iteration, times 1.01 for safety.

    The step size 1/L makes the gradient step on the quadratic term non-expansive.
    The start vector is drawn from a fixed-seed CPU generator, so the result does
    not depend on the global random state.
    """
    gram = dictionary @ dictionary.T
    generator = torch.Generator().manual_seed(seed)
    v = torch.randn(gram.shape[0], generator=generator, dtype=torch.float64).to(gram)
    v = v / v.norm()
    value = torch.zeros((), dtype=gram.dtype, device=gram.device)
    for _ in range(n_iter):
        w = gram @ v
        value = v @ w
        v = w / w.norm().clamp_min(torch.finfo(w.dtype).tiny)
    return 1.01 * float(value)


def solve(X: torch.Tensor, dictionary: torch.Tensor, objective, *, method: str = "fista", n_iter: int = 100,
          tol: float = 1e-4, lipschitz: float | None = None, init: torch.Tensor | None = None,
          check_every: int = 5) -> tuple[torch.Tensor, int]:
    """Sparse codes A (B, K) of X (B, d) over ``dictionary`` (K, d), and the iterations run.

    ``method``: ``"fista"`` (Beck & Teboulle 2009), ``"ista"`` (proximal gradient
    without momentum) or ``"lca"`` (Rozell et al. 2008, Euler steps of size 1/L).
    ``lipschitz``: L, the largest eigenvalue of D Dᵀ (computed if None).
    Stops after ``n_iter`` iterations or once the relative change of the codes
    between two iterations, ||A_t - A_{t-1}||_F / ||A_{t-1}||_F, is below ``tol``
    (checked every ``check_every`` iterations to limit device synchronisation;
    ``tol=0`` always runs ``n_iter``).  On the CPU, rows are coded in chunks of
    ``CPU_CHUNK_ROWS``, each with its own stopping test; the iterations returned
    are the most any chunk ran.
    """
    kernel = {"fista": _fista, "ista": _ista, "lca": _lca}[method]
    with torch.no_grad():
        if lipschitz is None:
            lipschitz = lipschitz_constant(dictionary)
        gram = dictionary @ dictionary.T
        rows = max(1, X.shape[0]) if X.device.type != "cpu" else CPU_CHUNK_ROWS
        if X.shape[0] == 0:
            return X.new_zeros((0, dictionary.shape[0])), 0
        codes, iterations = [], 0
        for start in range(0, X.shape[0], rows):
            chunk_init = None if init is None else init[start:start + rows]
            chunk, n = kernel(X[start:start + rows] @ dictionary.T, gram, objective, 1.0 / lipschitz, n_iter, tol,
                              chunk_init, check_every)
            codes.append(chunk)
            iterations = max(iterations, n)
        return (codes[0] if len(codes) == 1 else torch.cat(codes)), iterations


def _converged(new: torch.Tensor, old: torch.Tensor, tol: float) -> bool:
    change = torch.linalg.vector_norm(new - old)
    scale = torch.linalg.vector_norm(old)
    return bool(change <= tol * scale)


def _start(correlations: torch.Tensor, init: torch.Tensor | None) -> torch.Tensor:
    return torch.zeros_like(correlations) if init is None else init.to(correlations).clone()


def _gradient_step_operator(gram: torch.Tensor, step: float) -> torch.Tensor:
    """M = I - step·G, so that y - step·(y G - C) = y M + step·C is one ``addmm``."""
    eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
    return eye - step * gram


def _fista(correlations, gram, objective, step, n_iter, tol, init, check_every):
    operator = _gradient_step_operator(gram, step)
    scaled = step * correlations
    codes = _start(correlations, init)
    momentum_point = codes
    t = 1.0
    for it in range(1, n_iter + 1):
        previous = codes
        codes = objective.prox(torch.addmm(scaled, momentum_point, operator), step)
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        # y = a + ((t - 1) / t_next) (a - a_prev), as one fused lerp
        momentum_point = torch.lerp(previous, codes, 1.0 + (t - 1.0) / t_next)
        t = t_next
        if tol > 0 and it % check_every == 0 and _converged(codes, previous, tol):
            return codes, it
    return codes, n_iter


def _ista(correlations, gram, objective, step, n_iter, tol, init, check_every):
    operator = _gradient_step_operator(gram, step)
    scaled = step * correlations
    codes = _start(correlations, init)
    for it in range(1, n_iter + 1):
        previous = codes
        codes = objective.prox(torch.addmm(scaled, codes, operator), step)
        if tol > 0 and it % check_every == 0 and _converged(codes, previous, tol):
            return codes, it
    return codes, n_iter


def _lca(correlations, gram, objective, step, n_iter, tol, init, check_every):
    r"""Locally competitive algorithm: internal potentials u, outputs a = prox(u).

    Euler steps of :math:`\dot u = C - u - a (G - I)` with dt = step = 1/L; the
    thresholding function is the prox of lam·S at unit step, so fixed points are
    the stationary points of the sparse-coding energy.  When ``init`` codes are
    given, u starts at them (a = prox(init)).
    """
    eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
    inhibition = -step * (gram - eye)
    drive = step * correlations
    potentials = _start(correlations, init)
    codes = objective.prox(potentials, 1.0)
    for it in range(1, n_iter + 1):
        previous = codes
        # u <- (1 - dt) u + dt C - dt a (G - I)
        potentials = torch.addmm(potentials, codes, inhibition, beta=1.0 - step).add_(drive)
        codes = objective.prox(potentials, 1.0)
        if tol > 0 and it % check_every == 0 and _converged(codes, previous, tol):
            return codes, it
    return codes, n_iter
