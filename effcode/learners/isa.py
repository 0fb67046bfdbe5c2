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
:math:`r`; ``epsilon`` in squared whitened units) by Riemannian gradient ascent with
Barzilai-Borwein step sizes (:func:`isa_gradient_ascent`): the Euclidean gradient

.. math::  \frac{\partial J}{\partial w_i} = -\mathbb{E}\Big[\frac{y_i\, z}{\sqrt{\varepsilon + e_{j(i)}}}\Big]

is projected on the tangent space of :math:`W W^\top = I` (:math:`G`), and
:math:`W \leftarrow \mathrm{sym}(W + a G)`, :math:`\mathrm{sym}(W) = (W W^\top)^{-1/2} W`.  The step
:math:`a` is the Barzilai-Borwein estimate of the inverse curvature from the last move (it grows
and shrinks with the landscape), halved while the Armijo sufficient-increase test fails, so
:math:`J` never decreases.  It stops when the last ``STOP_WINDOW`` (20) iterations *together*
raised :math:`J` by at most ``tol`` :math:`\cdot |J|` (:func:`stalled`): one small step does not
stop it.

On natural images the ascent crosses plateaus (near saddle points) where 20 iterations gain only
~1e-7 :math:`|J|` before :math:`J` rises again by up to 2e-3 :math:`|J|`; no rule based on
:math:`J` alone can tell such a plateau from the optimum, so the default ``tol = 1e-9`` lies
far below the flattest plateau measured.  Measurements (experiment 09's setting among them):
``docs/ica.md``.

Initialisation: :math:`J` has poor local optima in which units of different subspaces are paired
(from random starts, synthetic subspaces were missed by principal angles of ~80 degrees).  So the
ascent starts from symmetric FastICA outputs grouped by the correlation of their energies
(:func:`group_by_energy_dependence`): ICA separates the subspaces from each other but not within
them (Cardoso 1998; Szabo, Poczos & Lorincz 2007), and units of one subspace share their energy
fluctuations.

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
from .ica import (WhitenedLinearLearner, _completed, _iterations, _resumed_iteration, _sym_decorrelate,
                  fastica_symmetric, warn_if_not_converged)


#: FastICA tolerance and iteration cap of the initialisation (scikit-learn's criterion, see
#: :func:`fastica_symmetric`); independent of ``max_iter``, so the ascent's budget leaves its start unchanged
INIT_TOL, INIT_MAX_ITER = 1e-4, 1000
#: the stopping rule sums the gain of J over this many iterations (see :func:`stalled`)
STOP_WINDOW = 20
#: sufficient-increase constant of the Armijo step-size test
ARMIJO = 1e-4


def subspace_objective(y: torch.Tensor, subspace_size: int, epsilon: float) -> float:
    """J(W) from the outputs y (n, K): mean over samples of sum_j -sqrt(epsilon + e_j).

    Parameters
    ----------
    y : torch.Tensor
        Linear outputs, shape (n, K).
    subspace_size : int
        Units per subspace m.
    epsilon : float
        Smoothing constant under the square root.
    """
    energy = (y * y).reshape(y.shape[0], -1, subspace_size).sum(dim=2)
    return float(-(energy + epsilon).sqrt().sum(dim=1).mean())


def group_by_energy_dependence(y: torch.Tensor, subspace_size: int) -> torch.Tensor:
    """A permutation of the K outputs ``y`` (n, K) putting dependent units into consecutive groups.

    Dependence of units i, j: the correlation of their energies, corr(y_i^2, y_j^2) (0 for
    independent units).  Greedy: the most dependent unassigned pair starts a group, which grows by
    the unassigned unit with the largest summed dependence on its members until it holds
    ``subspace_size`` units.  Returns the (K,) index tensor of the new order.

    Parameters
    ----------
    y : torch.Tensor
        Linear outputs, shape (n, K).
    subspace_size : int
        Units per group.
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


def stalled(history, tol: float, window: int = STOP_WINDOW) -> bool:
    """The stopping rule: True when the last ``window`` iterations together raised J by at most ``tol * |J|``.

    ``history`` holds J at the start and after each iteration (non-decreasing).  The gain is summed
    over the window, so one small step among larger ones does not stop the ascent, and fewer than
    ``window`` iterations never do.  With ``tol = 0`` it stops only once J has not risen at all
    for ``window`` iterations.

    Parameters
    ----------
    history : sequence of float
        J at the start and after each iteration.
    tol : float
        Relative gain below which the ascent has stalled.
    window : int, default STOP_WINDOW
        Iterations whose gains are summed.
    """
    if len(history) <= window:
        return False
    return history[-1] - history[-1 - window] <= tol * abs(history[-1])


def isa_gradient_ascent(z: torch.Tensor, w: torch.Tensor, *, subspace_size: int, epsilon: float, max_iter: int,
                        tol: float, progress: bool = False, checkpoints=None) -> tuple[torch.Tensor, int, bool, dict]:
    """Maximise J(W) on whitened ``z`` (n, d') from ``w`` (K, d') by Riemannian gradient ascent.

    Each iteration takes the Euclidean gradient of J, projects it on the tangent space of the
    orthonormal-rows constraint (G), steps and re-orthonormalises: ``W <- sym(W + a G)``,
    ``sym(W) = (W W^T)^(-1/2) W``.  The trial step ``a`` is the Barzilai-Borwein step of the last
    move, alternately ``<s, s> / c`` and ``c / <g, g>`` with s the change of W, g that of G and
    ``c = -<s, g>`` (> 0 where J is concave along s; else the last step doubles).  It is halved
    while the Armijo test ``J(new) >= J + 1e-4 a |G|^2`` fails, so J never decreases, and every
    iteration starts afresh from the Barzilai-Borwein step, so a halving never persists.
    Stops when :func:`stalled` (the gain of the last ``STOP_WINDOW`` iterations is at most
    ``tol * |J|``), or when no step above 1e-12 raises J (converged at this precision).
    Returns ``(W, n_iter, converged, history)``; ``history`` holds per-iteration lists:
    ``objective`` and ``gradient_norm`` (``|G|``) at the start and after each iteration, and ``step``
    (the accepted step sizes).  ``checkpoints`` (a :class:`~effcode.learners.training.TrainingCheckpoints`)
    saves W, the trial step and the history every few iterations and continues from a saved state with
    the result of an uninterrupted run.

    Parameters
    ----------
    z : torch.Tensor
        Whitened patches, shape (n, d').
    w : torch.Tensor
        Initial unmixing matrix with orthonormal rows, shape (K, d').
    subspace_size : int
        Units per subspace m.
    epsilon : float
        Smoothing constant under the square root of J.
    max_iter : int
        The most iterations.
    tol : float
        Relative gain of :func:`stalled` below which the ascent stops.
    progress : bool, default False
        Whether to draw a progress bar.
    checkpoints : TrainingCheckpoints or None, default None
        Where to save and resume the state (None: no checkpoints).
    """
    n, m = z.shape[0], subspace_size

    def evaluate(w):
        y = z @ w.T
        norm = ((y * y).reshape(n, -1, m).sum(dim=2) + epsilon).sqrt()             # (n, J)
        return float(-norm.sum(dim=1).mean()), y, norm

    def gradient(w, y, norm):
        grad = -(y / norm.repeat_interleave(m, dim=1)).T @ z / n                  # dJ/dW, (K, d')
        return grad - 0.5 * (grad @ w.T + w @ grad.T) @ w                          # tangent to W W^T = I

    w, start, state = _resumed_iteration(checkpoints, w)
    if start == 1:
        w = _sym_decorrelate(w)
    value, y, norm = evaluate(w)
    grad = gradient(w, y, norm)
    history = state.get("history", {"objective": [value], "gradient_norm": [float(torch.linalg.vector_norm(grad))],
                                    "step": []})
    step = state.get("trial_step", 1.0)

    def training_state() -> dict:
        return {"w": w.cpu(), "trial_step": step, "history": history}

    for it in _iterations(max_iter, progress, "ISA", start):
        slope = float((grad * grad).sum())
        while True:
            w_new = _sym_decorrelate(w + step * grad)
            new_value, y, norm = evaluate(w_new)
            if not math.isfinite(new_value):
                raise DivergenceError(f"ISA produced NaN/Inf at iteration {it}; increase epsilon or reduce "
                                      "whiten_components")
            if new_value >= value + ARMIJO * step * slope:
                break
            step *= 0.5
            if step < 1e-12:  # no ascent left at this precision
                return w, it - 1, True, history
        history["step"].append(step)
        new_grad = gradient(w_new, y, norm)
        s, dg = w_new - w, new_grad - grad
        curvature = -float((s * dg).sum())                                 # > 0 where J is concave along s
        if curvature > 0:  # Barzilai-Borwein, alternating the two estimates of 1 / curvature
            step = float((s * s).sum()) / curvature if it % 2 else curvature / float((dg * dg).sum())
        else:
            step *= 2.0
        w, value, grad = w_new, new_value, new_grad
        history["objective"].append(value)
        history["gradient_norm"].append(float(torch.linalg.vector_norm(grad)))
        if stalled(history["objective"], tol):
            return w, it, True, history
        _completed(checkpoints, it, training_state)
    return w, max_iter, False, history


class ISA(WhitenedLinearLearner):
    r"""Independent Subspace Analysis of patches on PCA-whitened data.

    The attributes are set by ``fit`` and live in pixel space, the space of the patches given to
    ``fit``.

    Parameters
    ----------
    n_components : int or None, default=None
        Number of linear units K, a multiple of ``subspace_size`` (None: the whitened dimension
        rounded down to a multiple).
    subspace_size : int, default=2
        Units per subspace m (2 or 4 typically).
    whiten_components : int, float or None, default=None
        PCA dimensions d' kept: an int, or a fraction of the variance in (0, 1] (at least K
        dimensions).  None: 95% of the variance.
    epsilon : float, default=1e-3
        Smoothing of the subspace norm in the objective (squared whitened units).
    max_iter : int, default=3000
        Most gradient-ascent iterations.
    tol : float, default=1e-9
        Stop when the last 20 iterations together raised J by at most ``tol * |J|``
        (:func:`stalled`; ``tol = 0``: run until J stops rising or ``max_iter``).  The FastICA
        initialisation has its own criterion (tolerance 1e-4, at most 1000 iterations).
    log_luminance : bool, default=False
        ``fit_images`` takes the log of luminance before sampling patches.
    random_state : int, RandomState, Generator or None, default=0
        Seed of the initialisation (scikit-learn's convention).
    device : str or torch.device, default="cpu"
        Torch device for all computation.
    progress : bool, default=False
        Show a tqdm progress bar while fitting.

    Attributes
    ----------
    components_ : ndarray of shape (K, d)
        Linear filters, unit k's output is ``(x - mean_) @ filters_[k]`` (unit variance on the
        training data); ``filters_`` is the identical array.  Subspace j is units
        ``j*m .. j*m + m - 1``.
    basis_ : ndarray of shape (K, d)
        Basis functions in input units; ``mixing_`` = ``basis_.T``.
    explained_variance_ : ndarray of shape (K,)
        ``||basis_k||^2`` (squared input units); subspaces are ordered by their summed explained
        variance, units within a subspace by their own.
    negentropy_ : ndarray of shape (K,)
        Logcosh negentropy approximation of each linear output.
    objective_ : float
        J(W) at the end (per patch, whitened units).
    whitened_unmixing_ : ndarray of shape (K, d')
        W in the whitened space, subspaces in the order the ascent left them (before the
        canonical sign and order of ``components_``); :meth:`objective_score` evaluates it.
    mean_ : ndarray of shape (d,)
        The patch mean.
    whitener_ : PatchWhitener
        The fitted :class:`~effcode.data.PatchWhitener`.
    n_iter_ : int
        Iterations made.
    converged_ : bool
        Whether they converged.
    history_ : dict
        Per-iteration float arrays: ``objective`` (J at the start and after each iteration,
        ``n_iter_`` + 1 values, non-decreasing), ``gradient_norm`` (Frobenius norm of the
        projected gradient, likewise) and ``step`` (the accepted step sizes, ``n_iter_`` values).

    Notes
    -----
    With z the PCA-whitened patch (d',), W (K, d') with orthonormal rows and the units grouped
    into subspaces :math:`S_j` of ``subspace_size`` consecutive units, ISA maximises

    .. math::  J(W) = \mathbb{E}_z \sum_j -\sqrt{\varepsilon + \textstyle\sum_{i \in S_j} (w_i^\top z)^2}
               \quad \text{s.t.}\quad W W^\top = I

    (``objective_``: J per patch, whitened units).  ``transform`` returns the subspace energies
    :math:`\sqrt{\sum_{i \in S_j} y_i^2}` (n, K/m) of the outputs y, which have unit variance
    on the training data.
    """

    def __init__(self, n_components=None, *, subspace_size=2, whiten_components=None, epsilon=1e-3, max_iter=3000,
                 tol=1e-9, log_luminance=False, random_state=0, device="cpu", progress=False):
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

    def _fit(self, X, *, progress: bool, checkpoints):
        m = check_int("subspace_size", self.subspace_size)
        epsilon = check_float("epsilon", self.epsilon, minimum=0.0, strict_minimum=True)
        max_iter = check_int("max_iter", self.max_iter)
        tol = check_float("tol", self.tol, minimum=0.0)
        whitener, z, w0, _ = self._whiten(X, multiple_of=m)
        if checkpoints.resume() is None:  # a resumed ascent continues from its saved W, past the initialisation
            w0, _, _ = fastica_symmetric(z, w0, max_iter=INIT_MAX_ITER, tol=INIT_TOL, progress=progress)
            w0 = w0[group_by_energy_dependence(z @ w0.T, m)]
        w, n_iter, converged, history = isa_gradient_ascent(z, w0, subspace_size=m, epsilon=epsilon,
                                                            max_iter=max_iter, tol=tol, progress=progress,
                                                            checkpoints=checkpoints)
        self.objective_ = history["objective"][-1]
        self.history_ = {key: np.asarray(values, dtype=np.float64) for key, values in history.items()}
        warn_if_not_converged(type(self).__name__, converged, max_iter, tol)
        self._check_fit()
        unmixing = w.cpu().numpy()
        self._set_outputs(whitener, unmixing, z.cpu().numpy() @ unmixing.T, groups=m)
        self.n_iter_ = n_iter
        self.converged_ = converged
        return self

    def _step_size_parameter(self) -> None:
        """None: the ascent picks its own steps (Barzilai-Borwein, halved until J rises), so J never
        decreases and no step size can be too large."""
        return None

    @property
    def _n_features_out(self) -> int:
        """Columns of :meth:`transform`'s output: one per subspace."""
        return self.components_.shape[0] // self.subspace_size

    def objective_score(self, X, y=None) -> float:
        r"""The objective J on X (n, d), the quantity ``fit`` maximised: higher is better.

        It compares models of one ``n_components`` and ``subspace_size`` only; :meth:`score` ranks
        across them.

        .. math::  J = \frac1n \sum_{z} \sum_j -\sqrt{\varepsilon + \textstyle\sum_{i \in S_j} (w_i^\top z)^2},

        the mean log-likelihood per patch up to a constant, z the patches of X whitened by the fitted
        ``whitener_`` and W ``whitened_unmixing_`` (whitened units, as ``objective_``).  ``y`` is ignored.

        Parameters
        ----------
        X : array_like
            Patches, shape (n, d).
        y : None
            Ignored.
        """
        z, w = self._whitened(X)
        return subspace_objective(z @ w.T, self.subspace_size, self.epsilon)

    def _score_codes(self, X) -> np.ndarray:
        """The linear unit outputs (n, K), ``sources(X)``: :meth:`score` truncates them, not the energies."""
        return self.sources(X)

    def transform(self, X):
        """Subspace energies (n, K/m): ``sqrt(sum_{i in S_j} y_i^2)`` of the linear outputs ``y = sources(X)``.

        Units: whitened (unit-variance) output units; phase-invariant within each subspace.

        Parameters
        ----------
        X : array_like
            Patches, shape (n, d).
        """
        y = self.sources(X)
        return np.sqrt((y * y).reshape(y.shape[0], -1, self.subspace_size).sum(axis=2))


LEARNERS.register("isa", ISA)
