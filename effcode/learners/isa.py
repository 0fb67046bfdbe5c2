r"""Independent Subspace Analysis (Hyvarinen & Hoyer 2000) of image patches.

Model: the K linear filter outputs :math:`y = W z` of a PCA-whitened patch :math:`z`
(:math:`W` is :math:`K \times d'` with orthonormal rows) fall into :math:`J = K/m` subspaces
:math:`S_1, \dots, S_J` of ``subspace_size`` :math:`m` consecutive units.  Outputs in different
subspaces are independent; within a subspace only the *energy*
:math:`e_j = \sum_{i \in S_j} y_i^2` matters, with a sparse (super-Gaussian) density of the norm
:math:`\sqrt{e_j}`.  ISA maximises the log-likelihood

.. math::  \max_W \ J(W) = \mathbb{E}_z\Big[\sum_{j=1}^{J}
           -\sqrt{\varepsilon + \textstyle\sum_{i \in S_j} (w_i^\top z)^2}\Big] \quad \text{s.t. } W W^\top = I,

(:math:`\log p(r) = -\sqrt{\varepsilon + r^2}` + const, a smoothed Laplacian of the subspace norm
:math:`r`; ``epsilon`` in squared whitened units) by projected gradient ascent: the gradient

.. math::  \frac{\partial J}{\partial w_i} = -\mathbb{E}\Big[\frac{y_i\, z}{\sqrt{\varepsilon + e_{j(i)}}}\Big]

is projected on the tangent space of :math:`W W^\top = I`, a step is taken and :math:`W` is
re-orthonormalised, :math:`W \leftarrow (W W^\top)^{-1/2} W`; the step size adapts so that
:math:`J` never decreases.  It stops when one iteration raises :math:`J` by less than
``tol`` :math:`\cdot |J|`.

Initialisation: :math:`J` has poor local optima in which units of different subspaces are paired
(from random starts, synthetic subspaces were missed by principal angles of ~80 degrees).  So the
ascent starts from symmetric FastICA outputs grouped by the correlation of their energies
(:func:`group_by_energy_dependence`): ICA separates the subspaces from each other but not within
them (Cardoso 1998; Szabo, Poczos & Lorincz 2007), and units of one subspace share their energy
fluctuations.  On natural images the ascent then converges slowly (the objective is flat along
many directions); ``max_iter`` bounds it.

``transform`` returns the subspace energies :math:`\sqrt{\sum_{i \in S_j} y_i^2}` (no
:math:`\varepsilon`), the complex-cell-like, phase-invariant responses.  See ``docs/ica.md``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import DivergenceError
from ..validation import check_float, check_int
from .base import LEARNERS
from .ica import WhitenedLinearLearner, _iterations, _sym_decorrelate, fastica_symmetric, warn_if_not_converged


#: FastICA tolerance of the initialisation (scikit-learn's criterion, see :func:`fastica_symmetric`)
INIT_TOL = 1e-4


def subspace_objective(y: torch.Tensor, subspace_size: int, epsilon: float) -> float:
    """J(W) from the outputs y (n, K): mean over samples of sum_j -sqrt(epsilon + e_j)."""
    energy = (y * y).reshape(y.shape[0], -1, subspace_size).sum(dim=2)
    return float(-(energy + epsilon).sqrt().sum(dim=1).mean())


def group_by_energy_dependence(y: torch.Tensor, subspace_size: int) -> torch.Tensor:
    """A permutation of the K outputs ``y`` (n, K) putting dependent units into consecutive groups.

    Dependence of units i, j: the correlation of their energies, corr(y_i^2, y_j^2) (0 for
    independent units).  Greedy: the most dependent unassigned pair starts a group, which grows by
    the unassigned unit with the largest summed dependence on its members until it holds
    ``subspace_size`` units.  Returns the (K,) index tensor of the new order.
    """
    if subspace_size == 1:
        return torch.arange(y.shape[1], device=y.device)
    energy = y * y
    energy = energy - energy.mean(dim=0)
    energy = energy / torch.linalg.vector_norm(energy, dim=0).clamp_min(torch.finfo(y.dtype).tiny)
    dependence = (energy.T @ energy).cpu().numpy()
    np.fill_diagonal(dependence, -np.inf)
    free = np.ones(len(dependence), dtype=bool)
    order = []
    while free.any():  # K is a multiple of subspace_size >= 2: at least two free units here
        masked = np.where(free[:, None] & free[None, :], dependence, -np.inf)
        group = [int(i) for i in np.unravel_index(np.argmax(masked), masked.shape)]
        free[group] = False
        while len(group) < subspace_size:
            nxt = int(np.argmax(np.where(free, dependence[group].sum(axis=0), -np.inf)))
            group.append(nxt)
            free[nxt] = False
        order += group
    return torch.as_tensor(order, device=y.device)


def isa_gradient_ascent(z: torch.Tensor, w: torch.Tensor, *, subspace_size: int, epsilon: float, max_iter: int,
                        tol: float, progress: bool = False) -> tuple[torch.Tensor, float, int, bool]:
    """Maximise J(W) on whitened ``z`` (n, d') from ``w`` (K, d') by projected gradient ascent.

    Each iteration takes the Euclidean gradient of J, projects it on the tangent space of the
    orthonormal-rows constraint, steps, and re-orthonormalises (``(W W^T)^(-1/2) W``).  The step
    size adapts: x1.5 after an accepted step, halved (and the step retried) while J would decrease,
    so J never decreases.  Stops when an iteration raises J by less than ``tol * |J|``.
    Returns ``(W, J, n_iter, converged)``.
    """
    n, m = z.shape[0], subspace_size
    w = _sym_decorrelate(w)
    y = z @ w.T
    value = subspace_objective(y, m, epsilon)
    step = 1.0
    for it in _iterations(max_iter, progress, "ISA"):
        norm = ((y * y).reshape(n, -1, m).sum(dim=2) + epsilon).sqrt().repeat_interleave(m, dim=1)
        grad = -(y / norm).T @ z / n                                     # dJ/dW, (K, d')
        grad = grad - 0.5 * (grad @ w.T + w @ grad.T) @ w               # tangent to W W^T = I
        while True:
            w_new = _sym_decorrelate(w + step * grad)
            y_new = z @ w_new.T
            new_value = subspace_objective(y_new, m, epsilon)
            if not math.isfinite(new_value):
                raise DivergenceError(f"ISA produced NaN/Inf at iteration {it}; increase epsilon or reduce "
                                      "whiten_components")
            if new_value >= value:
                break
            step *= 0.5
            if step < 1e-12:  # no ascent left at this precision
                return w, value, it, True
        gain = new_value - value
        w, y, value = w_new, y_new, new_value
        step *= 1.5
        if gain <= tol * abs(value):
            return w, value, it, True
    return w, value, max_iter, False


class ISA(WhitenedLinearLearner):
    """Independent Subspace Analysis of patches on PCA-whitened data.

    Parameters
    ----------
    n_components : number of linear units K, a multiple of ``subspace_size`` (None: the whitened
        dimension rounded down to a multiple).
    subspace_size : units per subspace m (2 or 4 typically).
    whiten_components : PCA dimensions d' kept: an int, or a fraction of the variance in (0, 1]
        (at least K dimensions).  None: 95% of the variance.
    epsilon : smoothing of the subspace norm in the objective (squared whitened units).
    max_iter, tol : gradient-ascent iterations; stop when an iteration raises J by less than
        ``tol * |J|``.  (The FastICA initialisation uses its own criterion, tolerance 1e-4.)
    log_luminance : ``fit_images`` takes the log of luminance before sampling patches.
    random_state, device, progress : seed (int), torch device, tqdm bar.

    Attributes (after fit; pixel space = the space of the patches given to ``fit``)
    ----------
    components_, filters_ : (K, d) linear filters, unit k's output is ``(x - mean_) @ filters_[k]``
        (unit variance on the training data).  Subspace j is units ``j*m .. j*m + m - 1``.
    basis_ : (K, d) basis functions in input units; ``mixing_`` = ``basis_.T``.
    explained_variance_ : (K,) ``||basis_k||^2`` (squared input units); subspaces are ordered by
        their summed explained variance, units within a subspace by their own.
    negentropy_ : (K,) logcosh negentropy approximation of each linear output.
    objective_ : J(W) at the end (per patch, whitened units).  mean_, whitener_, n_iter_, converged_.
    """

    def __init__(self, n_components=None, *, subspace_size=2, whiten_components=None, epsilon=1e-3, max_iter=200,
                 tol=1e-6, log_luminance=False, random_state=0, device="cpu", progress=False):
        self.n_components = n_components
        self.subspace_size = subspace_size
        self.whiten_components = whiten_components
        self.epsilon = epsilon
        self.max_iter = max_iter
        self.tol = tol
        self.log_luminance = log_luminance
        self.random_state = random_state
        self.device = device
        self.progress = progress

    def _fit(self, X, *, progress: bool):
        m = check_int("subspace_size", self.subspace_size)
        epsilon = check_float("epsilon", self.epsilon, minimum=0.0, strict_minimum=True)
        max_iter = check_int("max_iter", self.max_iter)
        tol = check_float("tol", self.tol, minimum=0.0, strict_minimum=True)
        whitener, z, w0, _ = self._whiten(X, multiple_of=m)
        w0, _, _ = fastica_symmetric(z, w0, max_iter=max_iter, tol=INIT_TOL, progress=progress)
        w0 = w0[group_by_energy_dependence(z @ w0.T, m)]
        w, self.objective_, n_iter, converged = isa_gradient_ascent(z, w0, subspace_size=m, epsilon=epsilon,
                                                                    max_iter=max_iter, tol=tol, progress=progress)
        warn_if_not_converged(type(self).__name__, converged, max_iter, tol)
        w = w.cpu().numpy()
        self._set_outputs(whitener, w, z.cpu().numpy() @ w.T, groups=m)
        self.n_iter_ = n_iter
        self.converged_ = converged
        return self

    def transform(self, X):
        """Subspace energies (n, K/m): ``sqrt(sum_{i in S_j} y_i^2)`` of the linear outputs ``y = sources(X)``.

        Units: whitened (unit-variance) output units; phase-invariant within each subspace.
        """
        y = self.sources(X)
        return np.sqrt((y * y).reshape(y.shape[0], -1, self.subspace_size).sum(axis=2))


LEARNERS.register("isa", ISA)
