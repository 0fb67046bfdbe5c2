r"""Independent Component Analysis of image patches: symmetric FastICA and natural-gradient Infomax.

Model: a (DC-removed) patch :math:`x \in \mathbb{R}^d` is a linear mixture
:math:`x = A s + \mu` of :math:`K` independent, non-Gaussian (sparse) sources :math:`s`.
Both algorithms work on PCA-whitened patches :math:`z = V (x - \mu) \in \mathbb{R}^{d'}`
(:math:`V = \Lambda_{d'}^{-1/2} E_{d'}^\top`, the top :math:`d'` principal components;
dropping the rest discards the low-variance, high-frequency directions where noise and
aliasing live) and estimate an unmixing matrix :math:`W` (:math:`K \times d'`), :math:`y = W z`.

* ``algorithm="fastica"`` (Hyvarinen & Oja 1997/2000, symmetric, "logcosh" contrast)
  maximises the sum of negentropy approximations under orthonormal rows,

  .. math::  \max_W \sum_{k=1}^{K} \big(\mathbb{E}[G(w_k^\top z)] - \mathbb{E}[G(\nu)]\big)^2
             \quad \text{s.t. } W W^\top = I, \qquad G(u) = \log\cosh u,\ \nu \sim N(0, 1),

  with the fixed-point iteration
  :math:`W \leftarrow \mathrm{sym}\big(\mathbb{E}[\tanh(Wz) z^\top]
  - \mathrm{diag}(\mathbb{E}[1 - \tanh^2(Wz)]) W\big)`,
  :math:`\mathrm{sym}(W) = (W W^\top)^{-1/2} W`.  It stops when
  :math:`\max_k |1 - |w_k^{\text{new}\top} w_k|| < \text{tol}` (scikit-learn's criterion).

* ``algorithm="infomax"`` (Bell & Sejnowski 1995, 1997; Amari, Cichocki & Yang 1996)
  maximises the log-likelihood of a square :math:`W` (:math:`K = d'`) under the
  super-Gaussian source density :math:`p(s) = 1 / (\pi \cosh s)`,

  .. math::  \max_W \ \mathbb{E}_z\Big[\sum_k \log p(w_k^\top z)\Big] + \log |\det W|,

  by mini-batch natural-gradient ascent
  :math:`\Delta W = \eta\,(I - \langle \varphi(y) y^\top \rangle_{\text{batch}}) W`, with the score
  :math:`\varphi(y) = -\mathrm{d}\log p/\mathrm{d}y = \tanh y`.  The rate is multiplied by
  ``anneal`` (0.9) after every epoch whose update turned by more than 60 degrees from the
  previous one; it stops when one epoch changes :math:`W` by less than ``tol`` (relative
  Frobenius norm).  Suited to super-Gaussian sources only (natural-image patches are).

Outputs are mapped back to pixel space (the space of the patches given to ``fit``), scaled to
unit-variance sources, and canonicalised: each unit's sign makes its largest-magnitude basis pixel
positive, and units are ordered by the variance they explain, :math:`\lVert a_k \rVert^2
\operatorname{var}(s_k)` (descending).  See ``docs/ica.md``.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any

import numpy as np
import torch
from scipy import integrate
from sklearn.exceptions import ConvergenceWarning

from ..data import Image, PatchWhitener, log_luminance, remove_dc, sample_patches
from ..errors import DivergenceError, InputError
from ..progress import progress_bar
from ..validation import (check_array, check_choice, check_float, check_int, check_random_state,
                          resolve_device, seed_alias)
from .base import LEARNERS, FilterLearner
from .training import IterativeLearner, data_fingerprint

ALGORITHMS = ("fastica", "infomax")
#: patches sampled by ``fit_images`` when ``n_patches`` is None
DEFAULT_N_PATCHES = 50_000
#: fraction of the patch variance kept by PCA when ``whiten_components`` is None (about 113 of the
#: 256 dimensions of DC-removed 16 x 16 patches of the default images; see docs/ica.md)
DEFAULT_VARIANCE_FRACTION = 0.95
#: FastICA with ``n_components=None`` estimates this share of the whitened dimensions, the most
#: non-Gaussian ones.  Complete ICA (K = d') adds units that span the whole patch or are noisy
#: high-frequency gratings.  Half keeps the median Gabor R² of the basis above 0.85 on 16x16 patches
#: of the default images (0.914, 0.905 at K = 56 of d' = 113, seeds 0, 1), of 8-bit noisy photographs
#: (``noisy_photos``: 0.886, 0.881 at K = 64 of 128) and of dead leaves (0.881, 0.869 at K = 31 of 63),
#: where K = d' gives 0.851, 0.827 and 0.869 (seed 0; docs/ica.md).
FASTICA_SHARE = 0.5


def amari_index(unmixing, mixing) -> float:
    r"""Amari performance index of an estimated unmixing matrix, normalised to [0, 1].

    With :math:`P = B A` (``unmixing`` :math:`B` is (K, d), ``mixing`` :math:`A` is (d, K)),

    .. math::  \frac{1}{2K(K-1)} \Big[\sum_i \Big(\sum_j \frac{|p_{ij}|}{\max_l |p_{il}|} - 1\Big)
               + \sum_j \Big(\sum_i \frac{|p_{ij}|}{\max_l |p_{lj}|} - 1\Big)\Big].

    0 means :math:`P` is a scaled permutation (perfect separation); 1 is the worst case (all
    entries of :math:`P` equal in magnitude).  Dimensionless.

    Parameters
    ----------
    unmixing : array_like
        The estimated unmixing matrix B, shape (K, d).
    mixing : array_like
        The true mixing matrix A, shape (d, K).
    """
    unmixing = check_array("unmixing", unmixing, ndim=2)
    mixing = check_array("mixing", mixing, ndim=2)
    if unmixing.shape[1] != mixing.shape[0] or unmixing.shape[0] != mixing.shape[1]:
        raise InputError(f"unmixing (K, d) and mixing (d, K) must give a square product, got "
                         f"{unmixing.shape} and {mixing.shape}")
    p = np.abs(unmixing @ mixing)
    k = p.shape[0]
    if k < 2:
        raise InputError("the Amari index needs at least 2 sources")
    rows = (p / p.max(axis=1, keepdims=True)).sum(axis=1) - 1
    cols = (p / p.max(axis=0, keepdims=True)).sum(axis=0) - 1
    return float((rows.sum() + cols.sum()) / (2 * k * (k - 1)))


@functools.lru_cache(maxsize=1)
def _gaussian_logcosh() -> float:
    """E[log cosh(nu)] for nu ~ N(0, 1) (about 0.3746)."""
    value, _ = integrate.quad(lambda u: math.exp(-u * u / 2) / math.sqrt(2 * math.pi) * _logcosh_scalar(u),
                              -np.inf, np.inf)
    return value


def _logcosh_scalar(u: float) -> float:
    a = abs(u)
    return a + math.log1p(math.exp(-2 * a)) - math.log(2)


def negentropy(sources) -> np.ndarray:
    r"""Per-column negentropy approximation :math:`(\mathbb{E}[\log\cosh y] - \mathbb{E}[\log\cosh \nu])^2`
    of (n, K) sources standardised to zero mean, unit variance; (K,) array, dimensionless (0 for Gaussian).

    Parameters
    ----------
    sources : array_like
        Standardised sources, shape (n, K).
    """
    y = check_array("sources", sources, ndim=2)
    y = (y - y.mean(axis=0)) / y.std(axis=0)
    a = np.abs(y)
    logcosh = a + np.log1p(np.exp(-2 * a)) - math.log(2)
    return (logcosh.mean(axis=0) - _gaussian_logcosh()) ** 2


def _sym_decorrelate(w: torch.Tensor) -> torch.Tensor:
    """(W W^T)^(-1/2) W: the nearest matrix with orthonormal rows."""
    eigvals, eigvecs = torch.linalg.eigh(w @ w.T)
    return (eigvecs * eigvals.clamp_min(torch.finfo(w.dtype).tiny).rsqrt()) @ eigvecs.T @ w


def _random_orthonormal(rng: np.random.Generator, k: int, d: int) -> np.ndarray:
    """(k, d) matrix with orthonormal rows, Haar-distributed, from ``rng``."""
    q, r = np.linalg.qr(rng.standard_normal((d, k)))
    return (q * np.sign(np.diag(r))).T


def _iterations(n: int, progress: bool, desc: str, start: int = 1):
    """Iterations ``start`` .. ``n`` (counted from 1), with a progress bar when ``progress``."""
    return progress_bar(range(start, n + 1), progress=progress, desc=desc, leave=False, initial=start - 1, total=n)


def _resumed_iteration(checkpoints, w: torch.Tensor) -> tuple[torch.Tensor, int, dict]:
    """``(W, first iteration, saved state)`` to continue from: a checkpoint's W (on ``w``'s device) and
    the iteration after its step, or ``w``, 1 and an empty state without one."""
    state = checkpoints.resume() if checkpoints is not None else None
    if state is None:
        return w, 1, {}
    return state["w"].to(device=w.device, dtype=w.dtype), state["step"] + 1, state


def _completed(checkpoints, iteration: int, training_state) -> None:
    if checkpoints is not None:
        checkpoints.completed(iteration, training_state)


#: :class:`ICA` runs FastICA in single precision when ``tol`` is at least this: the stopping test then
#: stays far above float32 rounding (about 1e-7), and single-precision products and logistics run about
#: twice as fast as double on the CPU.  Smaller tolerances iterate in the data's own precision.
SINGLE_PRECISION_TOL = 1e-5


def fastica_symmetric(z: torch.Tensor, w: torch.Tensor, *, max_iter: int, tol: float,
                      progress: bool = False, checkpoints=None,
                      single_precision: bool = False) -> tuple[torch.Tensor, int, bool]:
    r"""Symmetric FastICA (logcosh) on whitened data ``z`` (n, d') from initial ``w`` (K, d').

    Returns ``(W, n_iter, converged)``; W has orthonormal rows and the dtype of ``w``.  See the
    module docstring.  ``single_precision``: iterate in float32 (about twice as fast on the CPU; use
    it only with ``tol >= SINGLE_PRECISION_TOL``), else in the data's dtype.
    ``checkpoints`` (a :class:`~effcode.learners.training.TrainingCheckpoints`) saves W every few
    iterations and continues from a saved one (an iteration depends on W alone, so the result is
    that of an uninterrupted run).

    Each iteration makes one elementwise pass over the (K, n) responses: with
    :math:`s = \sigma(2Wz)` (logistic), :math:`\tanh(Wz) = 2s - 1` and
    :math:`1 - \tanh^2(Wz) = 4 s (1 - s)`, so
    :math:`\mathbb{E}[\tanh(Wz) z^\top] = (2\,\mathbb{E}[s z^\top] - \mathbb{E}[z]^\top)` and
    :math:`\mathbb{E}[1 - \tanh^2] = 4(\mathbb{E}[s] - \mathbb{E}[s^2])`.  The two products with the data
    are the whole remaining cost (torch's CPU logistic is also several times faster than its tanh).

    Parameters
    ----------
    z : torch.Tensor
        Whitened patches, shape (n, d').
    w : torch.Tensor
        Initial unmixing matrix, shape (K, d').
    max_iter : int
        The most iterations.
    tol : float
        Stop once every unit's weight vector turned by less than this in an iteration:
        ``max_k (1 - |w_k_new . w_k|) < tol``.
    progress : bool, default False
        Whether to draw a progress bar.
    checkpoints : TrainingCheckpoints or None, default None
        Where to save and resume W (None: no checkpoints).
    single_precision : bool, default False
        Whether to iterate in float32 (only with ``tol >= SINGLE_PRECISION_TOL``).
    """
    out_dtype = w.dtype
    work_dtype = torch.float32 if single_precision else z.dtype
    n = z.shape[0]
    zt = z.T.to(work_dtype).contiguous()   # (d', n): row-major responses make per-unit reductions contiguous
    z_mean = zt.mean(dim=1)
    w, start, _ = _resumed_iteration(checkpoints, _sym_decorrelate(w.to(work_dtype)))
    w = w.to(work_dtype)
    s = zt.new_empty((w.shape[0], n))   # reused: a fresh (K, n) buffer per iteration costs page faults
    for it in _iterations(max_iter, progress, "FastICA", start):
        torch.sigmoid_(torch.mm(2.0 * w, zt, out=s))                    # (K, n), tanh(Wz) = 2s - 1
        g_prime = 4.0 * (s.mean(dim=1) - torch.linalg.vector_norm(s, dim=1) ** 2 / n)   # E[1 - tanh^2]
        w_new = _sym_decorrelate((2.0 / n) * (s @ zt.T) - z_mean - g_prime[:, None] * w)
        change = float(((w_new * w).sum(dim=1).abs() - 1).abs().max())
        w = w_new
        if not math.isfinite(change):
            raise DivergenceError(f"FastICA produced NaN/Inf at iteration {it}; check the input for "
                                  "constant or duplicated dimensions (reduce whiten_components)")
        if change < tol:
            return w.to(out_dtype), it, True
        _completed(checkpoints, it, lambda: {"w": w.cpu()})
    return w.to(out_dtype), max_iter, False


def infomax_loss(z: torch.Tensor, w: torch.Tensor) -> float:
    """Infomax's negative log-likelihood per patch, up to a constant: mean over patches of
    sum_k log cosh(w_k . z), minus log|det W| (the density p(s) = 1 / (pi cosh s)).

    Parameters
    ----------
    z : torch.Tensor
        Whitened patches, shape (n, d').
    w : torch.Tensor
        Square unmixing matrix, shape (d', d').
    """
    y = (z @ w.T).abs()
    logcosh = y + torch.log1p(torch.exp(-2.0 * y)) - math.log(2.0)
    return float(logcosh.sum(dim=1).mean() - torch.linalg.slogdet(w)[1])


def infomax_natural_gradient(z: torch.Tensor, w: torch.Tensor, *, max_iter: int, tol: float, learning_rate: float,
                             batch_size: int, generator: torch.Generator, anneal: float = 0.9,
                             progress: bool = False, checkpoints=None) -> tuple[torch.Tensor, int, bool, dict]:
    """Mini-batch natural-gradient Infomax (tanh score) on whitened ``z`` (n, d') from square ``w``.

    ``max_iter`` counts epochs (passes over the shuffled data); ``generator`` (a CPU
    ``torch.Generator``) draws the shuffles.  ``checkpoints`` (a
    :class:`~effcode.learners.training.TrainingCheckpoints`) saves W, the annealed rate, the last
    epoch's update and the generator's state every few epochs and continues from a saved state.
    Returns ``(W, n_epochs, converged, history)``; ``history["loss"]`` holds :func:`infomax_loss`
    after each epoch.

    Parameters
    ----------
    z : torch.Tensor
        Whitened patches, shape (n, d').
    w : torch.Tensor
        Initial square unmixing matrix, shape (d', d').
    max_iter : int
        The most epochs.
    tol : float
        Stop once an epoch changes W by less than this (relative Frobenius norm).
    learning_rate : float
        The initial step size.
    batch_size : int
        Patches per mini-batch.
    generator : torch.Generator
        A CPU generator that draws the shuffles.
    anneal : float, default 0.9
        Factor applied to the learning rate after an epoch whose update turned by more than 60
        degrees from the previous epoch's (an oscillation around the optimum).
    progress : bool, default False
        Whether to draw a progress bar.
    checkpoints : TrainingCheckpoints or None, default None
        Where to save and resume the state (None: no checkpoints).
    """
    n = z.shape[0]
    eye = torch.eye(w.shape[0], dtype=w.dtype, device=w.device)
    w, start, state = _resumed_iteration(checkpoints, w)
    lr = state.get("learning_rate", learning_rate)
    previous_step = state.get("previous_step")
    if previous_step is not None:
        previous_step = previous_step.to(device=w.device, dtype=w.dtype)
    if "generator" in state:
        generator.set_state(state["generator"])
    history = {"loss": list(state.get("loss", []))}

    def training_state() -> dict:
        return {"w": w.cpu(), "learning_rate": lr, "generator": generator.get_state(), "loss": history["loss"],
                "previous_step": None if previous_step is None else previous_step.cpu()}

    for epoch in _iterations(max_iter, progress, "Infomax", start):
        w_start = w
        order = torch.randperm(n, generator=generator).to(z.device)
        for start in range(0, n, batch_size):
            batch = z[order[start:start + batch_size]]
            y = batch @ w.T
            w = w + lr * (eye - torch.tanh(y).T @ y / batch.shape[0]) @ w
        step = w - w_start
        change = float(torch.linalg.matrix_norm(step) / torch.linalg.matrix_norm(w_start))
        if not math.isfinite(change):
            raise DivergenceError(f"Infomax produced NaN/Inf in epoch {epoch}; lower learning_rate "
                                  f"(was {learning_rate})")
        history["loss"].append(infomax_loss(z, w))
        if change < tol:
            return w, epoch, True, history
        if previous_step is not None:
            cosine = float((step * previous_step).sum() / (torch.linalg.matrix_norm(step)
                                                          * torch.linalg.matrix_norm(previous_step)))
            if cosine < 0.5:  # turned by more than 60 degrees: oscillating around the optimum
                lr *= anneal
        previous_step = step
        _completed(checkpoints, epoch, training_state)
    return w, max_iter, False, history


def warn_if_not_converged(name: str, converged: bool, max_iter: int, tol: float) -> None:
    if not converged:
        warnings.warn(f"{name} did not converge to tol={tol} in max_iter={max_iter} iterations; the result is "
                      "usable but not at the optimum (raise max_iter or tol)", ConvergenceWarning, stacklevel=3)


def canonical_order(basis: np.ndarray, groups: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Signs and order of units from their (d, K) basis columns (unit-variance sources).

    Returns ``(signs (K,), order (K,))``: ``signs`` makes each column's largest-magnitude entry
    positive; ``order`` sorts units by explained variance ``||a_k||^2`` (descending, stable).
    With ``groups`` > 1, consecutive blocks of ``groups`` units stay together: blocks are sorted
    by their summed variance and units within a block by their own.

    Parameters
    ----------
    basis : ndarray
        Basis columns of unit-variance sources, shape (d, K).
    groups : int, default 1
        Size of the blocks of units kept together.
    """
    k = basis.shape[1]
    peak = basis[np.abs(basis).argmax(axis=0), np.arange(k)]
    signs = np.where(peak < 0, -1.0, 1.0)
    variance = (basis ** 2).sum(axis=0).reshape(k // groups, groups)
    block_order = np.argsort(-variance.sum(axis=1), kind="stable")
    within = np.argsort(-variance, axis=1, kind="stable")
    order = (block_order[:, None] * groups + within[block_order]).ravel()
    return signs, order


def resolve_whitening(whiten_components, n_components, X: np.ndarray, *, square: bool = False,
                      multiple_of: int = 1, share: float = 1.0) -> tuple[int, int]:
    """(d', K): the number of PCA dimensions kept and of units, from the estimator's parameters.

    ``whiten_components``: an int (dimensions kept); a float in (0, 1] (the fewest leading principal
    components explaining that fraction of the variance of ``X``, but at least ``n_components``);
    or None: ``n_components`` when the method is ``square`` (Infomax) and it is given, else the
    fraction :data:`DEFAULT_VARIANCE_FRACTION`.  ``n_components`` None means K = ``share`` · d'
    (rounded down to a multiple of ``multiple_of``, at least one multiple).

    Parameters
    ----------
    whiten_components : int, float or None
        PCA dimensions kept (int), or the fewest leading components explaining this fraction of the
        variance (float in (0, 1], at least ``n_components``); None: see above.
    n_components : int or None
        Units K (None: ``share`` times the dimensions kept).
    X : ndarray
        The patches, shape (n, d).
    square : bool, default False
        Whether the method needs as many units as dimensions.
    multiple_of : int, default 1
        K is rounded down to a multiple of this.
    share : float, default 1.0
        K over d' when ``n_components`` is None.
    """
    n, d = X.shape
    k = None if n_components is None else check_int("n_components", n_components, maximum=d)
    if whiten_components is None:
        whiten_components = k if square and k is not None else DEFAULT_VARIANCE_FRACTION
    if isinstance(whiten_components, (float, np.floating)):
        fraction = check_float("whiten_components", whiten_components, minimum=0.0, maximum=1.0,
                               strict_minimum=True)
        centred = X - X.mean(axis=0)
        eigvals = np.sort(np.clip(np.linalg.eigvalsh(centred.T @ centred), 0, None))[::-1]
        cumulative = np.cumsum(eigvals) / max(eigvals.sum(), np.finfo(float).tiny)
        dim = min(int(np.searchsorted(cumulative, fraction * (1 - 1e-12)) + 1), d)
        dim = max(dim, k or 0)
    else:
        dim = check_int("whiten_components", whiten_components, maximum=d)
    if dim > n - 1:   # PCA of n centred patches has at most n - 1 directions
        raise InputError(f"{n} patches give at most {n - 1} principal components, fewer than the {dim} dimensions to "
                         f"whiten (whiten_components, at least n_components); expected at least {dim + 1} patches "
                         "(raise n_patches, or lower n_components)")
    k = max(multiple_of, int(share * dim) // multiple_of * multiple_of) if k is None else k
    if k > dim:
        raise InputError(f"n_components ({k}) must be <= the whitened dimension whiten_components ({dim})")
    if k < 1 or k % multiple_of:
        raise InputError(f"n_components ({k}) must be a positive multiple of subspace_size ({multiple_of})")
    if square and k != dim:
        raise InputError(f"algorithm='infomax' estimates a square unmixing matrix: n_components ({k}) must equal "
                         f"whiten_components ({dim})")
    return dim, k


@seed_alias
def image_patches(images, patch_size: int, n_patches: int, *, log: bool, random_state) -> np.ndarray:
    """Raw-luminance (or log-luminance) patches with per-patch DC removed, (n, p*p) float64.

    ``images``: a list of :class:`~effcode.data.Image` objects or 2-D arrays.

    Parameters
    ----------
    images : sequence of Image or ndarray
        The 2-D images.
    patch_size : int
        Side p of the square patches, pixels.
    n_patches : int
        How many patches to draw.
    log : bool
        Whether to take log luminance first.
    random_state : int
        Seed of the patch positions.
    """
    patch_size = check_int("patch_size", patch_size)
    n_patches = check_int("n_patches", n_patches, minimum=2)
    if log:
        images = [log_luminance(image.array if isinstance(image, Image) else image) for image in images]
    return remove_dc(sample_patches(images, patch_size, n_patches, random_state=random_state, dtype=np.float64))


class WhitenedLinearLearner(IterativeLearner, FilterLearner):
    """Shared machinery of :class:`ICA` and :class:`~effcode.learners.isa.ISA`: linear units learned on
    PCA-whitened patches, mapped back to pixel space with a canonical sign and order.

    Subclasses implement ``_fit(X, progress=..., checkpoints=...)`` (``checkpoints`` a
    :class:`~effcode.learners.training.TrainingCheckpoints` for their iterations) and call
    :meth:`_set_outputs`.
    """

    def fit(self, X, y=None, *, checkpoint=None, checkpoint_every: int = 20):
        """Learn the filters from (n, d) patches (rows); returns self.

        With ``checkpoint`` (a file path) the iteration's state is saved there every
        ``checkpoint_every`` iterations (epochs for Infomax); an existing checkpoint of the same
        parameters and data is resumed, ending with the result of an uninterrupted run.

        Parameters
        ----------
        X : array_like
            Patches, shape (n, d).
        y : None
            Ignored.
        checkpoint : str or os.PathLike or None, default None
            File the state is saved to and resumed from (None: no checkpoint).
        checkpoint_every : int, default 20
            Iterations between saves.
        """
        data: dict[str, Any] = {"X": data_fingerprint([X])} if checkpoint is not None else {}
        return self._fit(X, progress=bool(self.progress),
                         checkpoints=self._checkpoints(checkpoint, checkpoint_every, **data))

    def _whiten(self, X, *, square: bool = False, multiple_of: int = 1, share: float = 1.0):
        """Validate ``X``, PCA-whiten it and draw a random orthonormal initial W.

        Returns ``(whitener, z (n, d') tensor on the device, w0 (K, d') tensor, rng)``.
        """
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state, "random_state")
        X = check_array("X", X, ndim=2)
        if X.shape[0] < 2:
            raise InputError(f"X has n_samples = {X.shape[0]}, but {type(self).__name__} needs at least 2 patches "
                             "(rows) to estimate their covariance")
        if X.shape[1] < multiple_of:
            raise InputError(f"X has n_features = {X.shape[1]}, fewer than the {multiple_of} units of one subspace "
                             f"(subspace_size); expected at least {multiple_of} columns")
        dim, k = resolve_whitening(self.whiten_components, self.n_components, X, square=square,
                                   multiple_of=multiple_of, share=share)
        whitener = PatchWhitener(kind="pca", n_components=dim).fit(X)
        z = torch.from_numpy(whitener.transform(X)).to(device)
        w0 = torch.from_numpy(_random_orthonormal(rng, k, dim)).to(device)
        return whitener, z, w0, rng

    def _set_outputs(self, whitener: PatchWhitener, w: np.ndarray, sources: np.ndarray, groups: int = 1):
        """Pixel-space filters/basis from whitened-space ``w`` (K, d'), unit-variance, canonical sign/order."""
        scale = sources.std(axis=0)
        unmixing = (w @ whitener.whitening_) / scale[:, None]          # (K, d)
        mixing = whitener.dewhitening_ @ np.linalg.pinv(w) * scale      # (d, K)
        signs, order = canonical_order(mixing, groups)
        self.components_ = np.ascontiguousarray((unmixing * signs[:, None])[order])
        self.filters_ = self.components_
        self.mixing_ = np.ascontiguousarray((mixing * signs)[:, order])
        self.basis_ = np.ascontiguousarray(self.mixing_.T)
        self.explained_variance_ = (self.basis_ ** 2).sum(axis=1)
        self.negentropy_ = negentropy(sources / scale)[order]
        self.mean_ = whitener.mean_
        self.whitener_ = whitener
        self.whitened_unmixing_ = w
        self.n_features_in_ = whitener.n_features_in_

    def _whitened(self, X) -> tuple[torch.Tensor, torch.Tensor]:
        """(z, W) as float64 tensors: X (n, d) PCA-whitened by the fitted ``whitener_`` (n, d'), and the
        unmixing matrix in that space (K, d'), ``whitened_unmixing_``."""
        z = self.whitener_.transform(self._check_fitted_table(X))
        return torch.from_numpy(np.asarray(z, dtype=np.float64)), torch.from_numpy(self.whitened_unmixing_)

    def sources(self, X):
        """Linear unit outputs (n, K), unit variance on the training data: ``(X - mean_) @ components_.T``.

        Parameters
        ----------
        X : array_like
            Patches, shape (n, d).
        """
        return (self._check_fitted_table(X) - self.mean_) @ self.components_.T

    def inverse_transform(self, S):
        """Patches (n, d) from unit outputs (n, K): ``S @ basis_ + mean_``.

        Parameters
        ----------
        S : array_like
            Unit outputs, shape (n, K).
        """
        S = check_array("S", S, ndim=2)
        if not hasattr(self, "basis_") or S.shape[1] != self.basis_.shape[0]:
            raise InputError("inverse_transform needs a fitted model and S of shape (n, n_components)")
        return S @ self.basis_ + self.mean_

    def fit_images(self, images, *, patch_size: int = 16, n_patches: int | None = None, progress: bool = False,
                   checkpoint=None, checkpoint_every: int = 20):
        """Fit on patches sampled from raw luminance images (log luminance if ``log_luminance``).

        Preprocessing: ``n_patches`` (default 50,000) random ``patch_size`` x ``patch_size``
        patches (seeded by ``random_state``), per-patch mean removed; ``fit`` then PCA-whitens
        them with dimension reduction (by default to 95% of the variance) and learns the units.
        No Olshausen-Field whitening: the PCA step whitens.  ``checkpoint`` and
        ``checkpoint_every`` as in :meth:`fit`.

        Parameters
        ----------
        images : sequence of Image or ndarray
            The 2-D luminance images.
        patch_size : int, default 16
            Side of the square patches, pixels.
        n_patches : int or None, default None
            How many patches to draw (None: 50,000).
        progress : bool, default False
            Whether to draw a progress bar.
        checkpoint : str or os.PathLike or None, default None
            File the state is saved to and resumed from (None: no checkpoint).
        checkpoint_every : int, default 20
            Iterations between saves.
        """
        n_patches = DEFAULT_N_PATCHES if n_patches is None else n_patches
        patches = image_patches(images, patch_size, n_patches, log=bool(self.log_luminance),
                                random_state=self.random_state)
        data: dict[str, Any] = ({"patch_size": patch_size, "n_patches": n_patches, "images": data_fingerprint(images)}
                if checkpoint is not None else {})
        return self._fit(patches, progress=bool(progress or self.progress),
                         checkpoints=self._checkpoints(checkpoint, checkpoint_every, **data))


class ICA(WhitenedLinearLearner):
    r"""Independent Component Analysis of patches (FastICA or Infomax) on PCA-whitened data z.

    FastICA: :math:`\max_W \sum_k (\mathbb{E}[\log\cosh(w_k^\top z)] - \mathbb{E}[\log\cosh\nu])^2`
    s.t. :math:`W W^\top = I`.  Infomax: :math:`\max_W \mathbb{E}[\sum_k \log p(w_k^\top z)] + \log|\det W|`,
    :math:`p(s) = 1/(\pi\cosh s)`.  See the module docstring.  The attributes are set by ``fit``
    and live in pixel space, the space of the patches given to ``fit``.

    Parameters
    ----------
    n_components : int or None, default=None
        Number of independent components K (None: half the whitened dimension d' for FastICA,
        which then finds the K most non-Gaussian directions; d' for Infomax, which is square).
    algorithm : {"fastica", "infomax"}, default="fastica"
        ``"fastica"`` (symmetric, logcosh) or ``"infomax"`` (natural gradient, tanh score;
        square: K = d').
    whiten_components : int, float or None, default=None
        PCA dimensions d' kept before ICA: an int, or a fraction of the variance in (0, 1] (at
        least K dimensions are kept).  None: 95% of the variance for FastICA; K for Infomax.
    max_iter : int, default=200
        FastICA iterations / Infomax epochs, at most.
    tol : float, default=1e-4
        FastICA: largest ``|1 - |w_new . w_old||`` per iteration; Infomax: relative change of W
        per epoch.
    learning_rate : float, default=0.01
        Infomax natural-gradient step.
    batch_size : int, default=512
        Infomax mini-batch size.
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
        Unmixing filters, ``s = (x - mean_) @ filters_.T`` (per unit of input, so sources have
        unit variance); ``filters_`` is the identical array (scikit-learn and effcode names).
    basis_ : ndarray of shape (K, d)
        Basis functions (rows of the mixing matrix's transpose), in input units:
        ``x - mean_ ~ s @ basis_``.   ``mixing_`` = ``basis_.T`` (d, K).
    explained_variance_ : ndarray of shape (K,)
        ``||basis_k||^2``, variance each unit adds back (squared input units).
    negentropy_ : ndarray of shape (K,)
        Logcosh negentropy approximation of each source on the training data.
    mean_ : ndarray of shape (d,)
        The patch mean.
    whitener_ : PatchWhitener
        The fitted :class:`~effcode.data.PatchWhitener`.
    n_iter_ : int
        Iterations (FastICA) or epochs (Infomax) made.
    converged_ : bool
        Whether they converged.
    whitened_unmixing_ : ndarray of shape (K, d')
        W as the algorithm left it, in the whitened space (before the canonical scale, sign and
        order of ``components_``); :meth:`objective_score` evaluates it.
    history_ : dict
        Infomax: ``loss`` (:func:`infomax_loss` after each epoch); FastICA: empty.
    """

    def __init__(self, n_components=None, *, algorithm="fastica", whiten_components=None, max_iter=200,
                 tol=1e-4, learning_rate=0.01, batch_size=512, log_luminance=False, random_state=0,
                 device="cpu", progress=False):
        self.n_components = n_components
        self.algorithm = algorithm
        self.whiten_components = whiten_components
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.log_luminance = log_luminance
        self.random_state = random_state
        self.device = device
        self.progress = progress

    def _fit(self, X, *, progress: bool, checkpoints):
        algorithm = check_choice("algorithm", self.algorithm, ALGORITHMS)
        max_iter = check_int("max_iter", self.max_iter)
        tol = check_float("tol", self.tol, minimum=0.0, strict_minimum=True)
        square = algorithm == "infomax"
        whitener, z, w0, rng = self._whiten(X, square=square, share=1.0 if square else FASTICA_SHARE)
        if algorithm == "fastica":
            w, n_iter, converged = fastica_symmetric(z, w0, max_iter=max_iter, tol=tol, progress=progress,
                                                     checkpoints=checkpoints,
                                                     single_precision=tol >= SINGLE_PRECISION_TOL)
            self.history_ = {}
        else:
            lr = check_float("learning_rate", self.learning_rate, minimum=0.0, strict_minimum=True)
            batch_size = check_int("batch_size", self.batch_size)
            gen = torch.Generator().manual_seed(int(rng.integers(2 ** 62)))
            w, n_iter, converged, history = infomax_natural_gradient(
                z, w0, max_iter=max_iter, tol=tol, learning_rate=lr, batch_size=batch_size, generator=gen,
                progress=progress, checkpoints=checkpoints)
            self.history_ = {key: np.asarray(values, dtype=np.float64) for key, values in history.items()}
        warn_if_not_converged(type(self).__name__, converged, max_iter, tol)
        self._check_fit()
        unmixing = w.cpu().numpy()
        self._set_outputs(whitener, unmixing, z.cpu().numpy() @ unmixing.T)
        self.n_iter_ = n_iter
        self.converged_ = converged
        return self

    def transform(self, X):
        """Source estimates (n, K), unit variance on the training data: ``(X - mean_) @ components_.T``.

        Parameters
        ----------
        X : array_like
            Patches, shape (n, d).
        """
        return self.sources(X)

    def objective_score(self, X, y=None) -> float:
        r"""The algorithm's objective on X (n, d), the quantity ``fit`` maximised: higher is better.

        It compares models of one algorithm and ``n_components`` only (the FastICA sum grows with the
        number of units); :meth:`score` ranks across them.

        * FastICA: the summed negentropy approximation of the K outputs :math:`y = W z`,
          :math:`\sum_k (\mathbb{E}[\log\cosh y_k] - \mathbb{E}[\log\cosh \nu])^2` over the patches of X
          (dimensionless; 0 for Gaussian outputs).
        * Infomax: the mean log-likelihood per whitened patch,
          :math:`\mathbb{E}[\sum_k \log p(w_k^\top z)] + \log|\det W|` with :math:`p(s) = 1/(\pi\cosh s)`,
          up to the constant :math:`-K\log\pi` (nats; minus :func:`infomax_loss`).

        z are the patches of X whitened by the fitted ``whitener_`` and W is ``whitened_unmixing_``.
        ``y`` is ignored.

        Parameters
        ----------
        X : array_like
            Patches, shape (n, d).
        y : None
            Ignored.
        """
        z, w = self._whitened(X)
        if self.algorithm == "infomax":
            return -infomax_loss(z, w)
        return float(negentropy((z @ w.T).numpy()).sum())

    def _step_size_parameter(self) -> str | None:
        """Infomax's learning rate; FastICA's fixed-point iteration has no step size to tune."""
        return f"learning_rate={self.learning_rate}" if self.algorithm == "infomax" else None


LEARNERS.register("ica", ICA)
