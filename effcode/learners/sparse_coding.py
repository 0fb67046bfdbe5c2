r"""Sparse coding (Olshausen & Field 1996) with batched torch inference.

Given patches x (d,) the model learns a dictionary Phi (d, K) with unit-norm
columns (atoms) and infers codes a (K,) that minimise

.. math::  E(x; a, \Phi) = \tfrac12 \lVert x - \Phi a \rVert^2 + \lambda \textstyle\sum_k S(a_k),

S being a penalty from :mod:`effcode.objectives` (``l1`` by default).  In code the
dictionary is stored as rows, D = Phiᵀ of shape (K, d), so a batch X (B, d) is
reconstructed as ``A @ D``.

**Scale of lambda.**  Patches are divided by s, the root-mean-square pixel value of
the training data (fixed at the first ``fit``/``partial_fit`` call, stored as
``scale_``), before coding; ``lam`` is the weight for these unit-RMS patches.  The
same ``lam`` therefore gives the same sparsity on another image set, resolution or
contrast.  Codes returned by :meth:`SparseCoding.transform` are multiplied back by s,
so that ``X ≈ codes @ components_`` in the units of X.

**Learning.**  Each step draws a batch, infers its codes (``inference``: FISTA/ISTA/LCA with
``n_iter`` iterations and early stop at relative code change ``tol``, or one of the two active-set
solvers), updates running averages of two sufficient statistics of the batches seen, and
moves the atoms towards the minimiser of the mean loss of those batches with their codes
held fixed (Mairal et al. 2010, JMLR 11:19-60, keep the same statistics).  At step t the
running averages take in batch t's codes A_t (B, K) and patches X_t (B, d) with the weight
:math:`w_t = 1 / \max(1,\ t / g_t)`, without a cap, where the window growth

.. math::  g_t = g_\infty + (g_0 - g_\infty)\, e^{-t/\tau},\qquad g_0 = 5,\ g_\infty = 2,\ \tau = 300

(``window_growth`` = (g_0, g_∞, τ), by default ``WINDOW_GROWTH`` = (5, 2, 300); a number g gives the
constant schedule g_t = g) falls from 5 to 2:

.. math::  \bar G_t = (1 - w_t)\,\bar G_{t-1} + w_t\,\tfrac1B A_t^\top A_t,\quad
           \bar H_t = (1 - w_t)\,\bar H_{t-1} + w_t\,\tfrac1B A_t^\top X_t,\qquad
           L(D) = \tfrac12 \operatorname{tr}(D^\top \bar G_t D) - \operatorname{tr}(D^\top \bar H_t)

is that mean loss up to a constant, and :math:`\bar G D - \bar H` its gradient.  With a constant g, batch s
keeps the weight :math:`w_s \prod_{u=s+1}^{t} (1 - g/u) \approx g\,s^{g-1} / t^g` at step t: the
averages forget the codes of older, poorer dictionaries (with g = 2, batches older than t/2 hold
:math:`2^{-g}` = 25% of the weight, those older than t/4 about 6%), yet their memory, about t/g batches,
grows without bound, so their sampling noise falls as :math:`1/\sqrt t` and L, its minimiser and the atoms
converge.  This is Mairal et al.'s rescaling of the past, :math:`A_t = \beta_t A_{t-1} + \ldots` with
:math:`\beta_t = (1 - 1/t)^\rho`, whose newest batch weighs :math:`(1 + \rho)/t` for large t, at
ρ = g − 1.  Early on, when the atoms change fast, g ≈ 5 forgets quickly (memory about t/5 batches) and
the first few hundred updates reach a good dictionary about twice as soon as with g = 2; after about 1,500
updates g is 2 to within 0.02, and the long memory lets the atoms settle: between 4,800 and 9,600 updates g = 5
alone left the atoms of experiment 01 turning by 0.0009–0.0011 in median absolute cosine, at the edge of
experiment 12's bar, and g = 2 by 0.0005–0.0007.  (A cap on the memory, as at 50 batches before, leaves a noise
floor: the atoms then move by about 2% in absolute cosine per doubling of the training, for ever.)  g depends on
t alone, so a training of N updates is the first part of one of 2N.
For one atom with the others held fixed, L is minimised on the unit sphere by the normalised

.. math::  U_k = D_k + \frac{(\bar H - \bar G D)_k}{\bar G_{kk}},

and each update takes the fraction :math:`\eta` (``learning_rate``) of that step,
:math:`D_k \leftarrow \text{normalise}\big(D_k + \eta\,(U_k - D_k)\big)`:

* ``dictionary_update="gradient"`` (default) moves all atoms at once from the current D (a
  diagonally scaled gradient step, with :math:`\bar G_{kk}` damped by
  :math:`\epsilon = 10^{-3}` times its mean); coupled atoms would overshoot at
  :math:`\eta = 1`, so the default is :math:`\eta = 0.5`;
* ``dictionary_update="bcd"`` is Mairal's block-coordinate descent: one sweep over the atoms
  in order, each step computed from the atoms already updated in this sweep.  At
  :math:`\eta = 1` (its default) every atom is the exact minimiser of L given the others, so
  a sweep never increases L; it costs a sequential loop of K matrix-vector products per step.

Because :math:`\bar G, \bar H` are means, :math:`\eta` does not depend on the batch size and is
dimensionless.  On the default benchmark both updates reach the same quality after about the
same number of patches (``benchmarks/bench_dictionary_learning.py``); the gradient step is
cheaper per step, so it is the default.

**Dead atoms.**  With ``resample_after=n``, an atom that has not been used (all
codes exactly 0) in n consecutive steps is replaced by the normalised residual
x - D a of one of the worst-reconstructed patches of the current batch (a
different patch per replaced atom), and its statistics are reset.  This happens during a
warm-up only, at steps t ≤ ``resample_until`` (500 by default; None: throughout), so that late in
training nothing but the data moves the atoms.  ``resample_after=None`` disables it.

The whole schedule (averaging weights, learning rate, warm-up) depends on the step t alone, not
on ``n_steps``: a training of N updates is the first half of one of 2N updates, which is how
convergence is checked (experiment 12: median per-atom absolute cosine between the atoms at N and 2N).

**Defaults.**  ``lam=2`` with 256 atoms on Olshausen-Field whitened 16x16 patches
leaves about 5% of the codes non-zero and about 28% of the patch energy
unexplained; 300 updates of 512 patches give Gabor-like atoms (median Gabor R² about 0.95 on the
default images).  ``inference="auto"`` is the default: the fastest solver for the penalty on the
device (:func:`effcode.learners.inference.fastest_method`; on the CPU the compiled coordinate
descent for ``l1`` and ``nonneg_l1``, which reaches the same quality about 4x sooner than 20 FISTA
iterations, ``results/benchmarks/README.md``; LCA for ``l0`` and ``topk``, whose codes end 12-20% lower in
energy than FISTA's at the same cost; FISTA for ``cauchy``).  With this schedule the atoms of experiment 01
(256 atoms, 16x16, each seed's subset of the default images) stop moving by 4,800 updates: the median
per-atom absolute cosine between 4,800 and 9,600 updates is 0.9994, 0.9995 and 0.9993 for seeds 0, 1 and 2
(0.9991, 0.9992 and 0.9989 with g = 5; docs/objectives.md gives the table, experiment 12 the test).

**Filters.**  ``basis_`` and ``filters_`` are both the atoms (K, d).  Inference
starts from the linear drive Dx (each unit's first response is the dot
product of its atom with the patch), so the atom is the unit's feed-forward
filter; for an overcomplete code the effective filter measured by reverse
correlation of the *sparse* output differs (lateral competition sharpens it), and
is not what ``filters_`` reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ..errors import DivergenceError, InputError
from ..objectives import OBJECTIVES, Objective, make_objective
from ..validation import (check_array, check_choice, check_float, check_int, check_memory, check_random_state,
                          check_tensor, resolve_device, window_growth_schedule)
from . import inference
from .coordinate_descent import support_statistics
from .base import LEARNERS, StreamedPatchLearner, data_scale, output_dtype

#: the default ``window_growth`` (g_0, g_inf, tau): the running averages of the dictionary statistics give the
#: newest batch the weight 1 / max(1, t / g_t) at step t, without a cap, so that they remember about the last
#: t / g_t batches; the window growth g_t = g_inf + (g_0 - g_inf) exp(-t / tau) falls from 5 to 2 with the time
#: constant 300 updates (module docstring)
WINDOW_GROWTH = (5.0, 2.0, 300.0)
#: dead atoms are resampled during the first RESAMPLE_UNTIL dictionary updates only (the default of
#: ``resample_until``): a warm-up, after which nothing but the data moves the atoms
RESAMPLE_UNTIL = 500
#: dictionary update rules (module docstring) and the learning rate each uses when none is given
DEFAULT_LEARNING_RATES = {"gradient": 0.5, "bcd": 1.0}
#: the stopping tolerance each inference method uses when none is given (relative change of the codes
#: per iteration; per sweep for "cd", whose sweep minimises every active coordinate exactly).  On a
#: batch of the default images, K = 256: "cd" at 1e-2 ends 0.003% above the minimal objective, the
#: default 20 FISTA iterations 0.04% above.
DEFAULT_TOLERANCES = {"fista": 1e-3, "ista": 1e-3, "lca": 1e-3, "active_set": 1e-3, "cd": 1e-2}


@dataclass
class _Settings:
    """Validated hyper-parameters of the dictionary learning loop."""

    objective: Objective
    inference: str
    n_iter: int
    tol: float
    learning_rate: float
    dictionary_update: str
    resample_after: int | None
    resample_until: int | None
    window_growth: tuple[float, float, float]
    device: torch.device


def _check_settings(*, lam, objective, objective_params, inference_method, n_iter, tol, learning_rate,
                    dictionary_update, resample_after, resample_until, window_growth, device) -> _Settings:
    lam = check_float("lam", lam, minimum=0.0)
    OBJECTIVES.get(objective)  # a clear error for an unknown name
    if objective_params is not None and not isinstance(objective_params, dict):
        raise InputError(f"objective_params must be a dict or None, got {type(objective_params).__name__}")
    if resample_after is not None:
        resample_after = check_int("resample_after", resample_after, minimum=1)
    if resample_until is not None:
        resample_until = check_int("resample_until", resample_until, minimum=0)
    dictionary_update = check_choice("dictionary_update", dictionary_update, tuple(DEFAULT_LEARNING_RATES))
    if learning_rate is None:
        learning_rate = DEFAULT_LEARNING_RATES[dictionary_update]
    device = resolve_device(device)
    inference_method = check_choice("inference", inference_method, ("auto", *inference.METHODS))
    if inference_method == "auto":
        inference_method = inference.fastest_method(objective, device)
    if inference_method in ("active_set", "cd") and objective not in inference.ACTIVE_SET_OBJECTIVES:
        raise InputError(f"inference={inference_method!r} needs a convex sparse objective, one of "
                         f"{list(inference.ACTIVE_SET_OBJECTIVES)}; got objective={objective!r} (use 'fista')")
    if inference_method in inference.CPU_ONLY_METHODS and device.type != "cpu":
        raise InputError(f"inference={inference_method!r} runs on the CPU only; got device={str(device)!r} "
                         "(use 'auto' or 'active_set' on a GPU)")
    if tol is None:
        tol = DEFAULT_TOLERANCES[inference_method]
    return _Settings(
        objective=make_objective(objective, lam, **(objective_params or {})),
        inference=inference_method,
        n_iter=check_int("n_iter", n_iter),
        tol=check_float("tol", tol, minimum=0.0),
        learning_rate=check_float("learning_rate", learning_rate, minimum=0.0, strict_minimum=True),
        dictionary_update=dictionary_update,
        resample_after=resample_after,
        resample_until=resample_until,
        window_growth=window_growth_schedule(window_growth, "window_growth"),
        device=device,
    )


def block_coordinate_sweep(dictionary: torch.Tensor, code_gram: torch.Tensor, code_data: torch.Tensor, *,
                           relaxation: float = 1.0) -> torch.Tensor:
    r"""One sweep of block-coordinate descent on unit-norm atoms (Mairal et al. 2010, Algorithm 2).

    ``dictionary`` D (K, d) holds the atoms as rows, ``code_gram`` :math:`\bar G` (K, K) and
    ``code_data`` :math:`\bar H` (K, d) the averaged statistics.  Atoms are visited in order; atom k
    moves to :math:`D_k + \eta\,(U_k - D_k)`, normalised, with
    :math:`U_k = D_k + (\bar H - \bar G D)_k / \bar G_{kk}` computed from the atoms as they are at
    that moment (those before k already updated) and :math:`\eta` = ``relaxation``.  At
    :math:`\eta = 1` this is the exact minimiser over the unit sphere of
    :math:`\tfrac12 \operatorname{tr}(D^\top \bar G D) - \operatorname{tr}(D^\top \bar H)` in atom k
    with the others fixed, so the sweep never increases it.  Atoms without code energy
    (:math:`\bar G_{kk} = 0`) are left as they are.  Returns the new atoms; the inputs are unchanged.
    """
    tiny = torch.finfo(dictionary.dtype).tiny
    energy = torch.diagonal(code_gram)
    used = torch.nonzero(energy > tiny).flatten().tolist()
    inverse = 1.0 / energy.clamp_min(tiny)
    # U_k = H_k / G_kk - sum_{j != k} (G_kj / G_kk) D_j: the coupling to the other atoms, and the target
    coupling = code_gram * inverse[:, None]
    coupling.diagonal().zero_()
    target = code_data * inverse[:, None]
    updated = dictionary.clone()
    for k in used:
        step_to = torch.addmv(target[k], updated.T, coupling[k], alpha=-1.0)
        if relaxation != 1.0:
            step_to = torch.lerp(updated[k], step_to, relaxation)
        updated[k] = step_to / torch.linalg.vector_norm(step_to).clamp_min(tiny)
    return updated


@dataclass
class _CodedBatch:
    """A batch's codes A (B, K), AᵀA (K, K), AᵀX (K, d), squared residual per patch (B,) and, when it
    was formed, the residual X - AD (B, d)."""
    codes: torch.Tensor
    code_gram: torch.Tensor
    code_data: torch.Tensor
    residual_energy: torch.Tensor
    residual: torch.Tensor | None


class _Trainer:
    """The dictionary, its running statistics and the update step, all torch on one device."""

    def __init__(self, dictionary: torch.Tensor, settings: _Settings):
        self.settings = settings
        self.dictionary = dictionary
        k, d = dictionary.shape
        self.code_gram = torch.zeros(k, k, dtype=dictionary.dtype, device=dictionary.device)
        self.code_data = torch.zeros(k, d, dtype=dictionary.dtype, device=dictionary.device)
        self.unused_steps = torch.zeros(k, dtype=torch.int64, device=dictionary.device)
        self.n_steps = 0
        self.n_resampled = 0

    def encode(self, X: torch.Tensor) -> torch.Tensor:
        s = self.settings
        codes, _ = inference.solve(X, self.dictionary, s.objective, method=s.inference, n_iter=s.n_iter, tol=s.tol)
        return codes

    def _code_batch(self, X: torch.Tensor) -> _CodedBatch:
        """Codes of X and their sums AᵀA, AᵀX and squared residuals: from the supports when the inference is
        the compiled coordinate descent (cost grows with the non-zeros), else by dense products."""
        if self.settings.inference == "cd":
            correlations, gram = X @ self.dictionary.T, self.dictionary @ self.dictionary.T
            codes, _ = inference.solve_coordinate_descent(correlations, gram, self.settings.objective,
                                                          n_iter=self.settings.n_iter, tol=self.settings.tol)
            sums = support_statistics(codes.numpy(), X.numpy(), correlations.numpy(), gram.numpy())
            code_gram, code_data, residual_energy = (torch.from_numpy(array) for array in sums)
            return _CodedBatch(codes, code_gram, code_data, residual_energy, residual=None)
        codes = self.encode(X)
        residual = X - codes @ self.dictionary
        return _CodedBatch(codes, codes.T @ codes, codes.T @ X, residual.pow(2).sum(dim=1), residual)

    def step(self, X: torch.Tensor) -> dict:
        """One dictionary update on batch X (B, d) of normalised patches; returns the step's record."""
        s = self.settings
        self.n_steps += 1
        with torch.no_grad():
            coded = self._code_batch(X)
            codes = coded.codes
            batch = X.shape[0]
            squared_error = coded.residual_energy.sum()
            loss = (0.5 * squared_error + s.objective.value(codes)) / batch
            if not torch.isfinite(loss):
                raise DivergenceError(
                    f"sparse coding loss became {float(loss)} at dictionary update {self.n_steps}; "
                    f"likely cause: learning_rate={s.learning_rate} too large, or lam={s.objective.lam} "
                    "out of range for the data")
            weight = self.averaging_weight()
            self.code_gram.lerp_(coded.code_gram / batch, weight)
            self.code_data.lerp_(coded.code_data / batch, weight)
            if s.dictionary_update == "bcd":
                updated = block_coordinate_sweep(self.dictionary, self.code_gram, self.code_data,
                                                 relaxation=s.learning_rate)
            else:
                updated = self._gradient_update()
            change = torch.linalg.vector_norm(updated - self.dictionary)   # NaN/Inf if any atom became so
            if not torch.isfinite(change):
                raise DivergenceError(
                    f"the dictionary became NaN/Inf at dictionary update {self.n_steps}; likely cause: "
                    f"learning_rate={s.learning_rate} too large, or lam={s.objective.lam} so large that "
                    "all codes vanish")
            previous, self.dictionary = self.dictionary, updated
            used = torch.diagonal(coded.code_gram) > 0      # sum over the batch of each code squared
            self.unused_steps = torch.where(used, torch.zeros_like(self.unused_steps), self.unused_steps + 1)
            if s.resample_after is not None and (s.resample_until is None or self.n_steps <= s.resample_until):
                self._resample(X, coded, previous)
            x_energy = X.pow(2).sum().clamp_min(torch.finfo(X.dtype).tiny)
            return {
                "loss": float(loss),
                "reconstruction_error": float(squared_error / x_energy),
                "sparsity": torch.count_nonzero(codes).item() / codes.numel(),
                "dictionary_change": float(change),
            }

    def _gradient_update(self) -> torch.Tensor:
        energy = torch.diagonal(self.code_gram)
        damping = 1e-3 * energy.mean() + torch.finfo(energy.dtype).tiny
        gradient = self.code_gram @ self.dictionary - self.code_data
        updated = self.dictionary - self.settings.learning_rate * gradient / (energy + damping)[:, None]
        return updated / updated.norm(dim=1, keepdim=True).clamp_min(torch.finfo(updated.dtype).tiny)

    def averaging_weight(self) -> float:
        """Weight of the newest batch in the running averages at step t: 1 / max(1, t / g_t), with the window
        growth g_t = g_inf + (g_0 - g_inf) exp(-t / tau), (g_0, g_inf, tau) the settings' ``window_growth``."""
        t = self.n_steps
        early, late, settling = self.settings.window_growth
        growth = late + (early - late) * math.exp(-t / settling)
        return 1.0 / max(1.0, t / growth)

    def _resample(self, X: torch.Tensor, coded: _CodedBatch, coding_dictionary: torch.Tensor) -> None:
        """Dead atoms become the normalised residuals of the worst-coded patches (``coding_dictionary``: the
        atoms the batch was coded with)."""
        after = self.settings.resample_after
        assert after is not None, "called only when atoms are resampled"
        dead = torch.nonzero(self.unused_steps >= after).flatten()
        n_dead = min(int(dead.numel()), X.shape[0])
        if n_dead == 0:
            return
        dead = dead[:n_dead]
        worst = coded.residual_energy.topk(n_dead).indices
        if coded.residual is not None:
            new_atoms = coded.residual[worst]
        else:
            new_atoms = X[worst] - coded.codes[worst] @ coding_dictionary
        norms = new_atoms.norm(dim=1, keepdim=True)
        keep = norms.flatten() > 0
        dead, new_atoms, norms = dead[keep], new_atoms[keep], norms[keep]
        self.dictionary[dead] = new_atoms / norms
        self.code_gram[dead, :] = 0
        self.code_gram[:, dead] = 0
        self.code_data[dead] = 0
        self.unused_steps[dead] = 0
        self.n_resampled += int(dead.numel())


def _initial_dictionary(n_components: int, n_features: int, rng: np.random.Generator,
                        device: torch.device) -> torch.Tensor:
    """Unit-norm random Gaussian atoms (K, d), drawn from ``rng`` (device-independent)."""
    atoms = rng.standard_normal((n_components, n_features))
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    return torch.from_numpy(atoms.astype(np.float32)).to(device)


def sparse_encode(X, dictionary, *, lam: float, objective: str = "l1", objective_params: dict | None = None,
                  inference_method: str = "fista", n_iter: int = 200, tol: float | None = 1e-4, batch_size: int = 65536,
                  device="cpu") -> np.ndarray:
    r"""Sparse codes (n, K) of X (n, d) over ``dictionary`` (K, d), float32, in the units of X.

    Each row minimises :math:`\tfrac12\lVert x - a D\rVert^2 + \text{lam}\sum_k S(a_k)` with
    ``lam`` in the units of X (no rescaling here; :class:`SparseCoding` rescales).
    Rows of ``dictionary`` should have unit norm.  Rows of X are coded ``batch_size`` at a time.

    Parameters
    ----------
    X : array_like
        Patches, shape (n, d).
    dictionary : array_like
        Unit-norm atoms, shape (K, d).
    lam : float
        Weight of the sparsity penalty, in the units of X.
    objective : str, default "l1"
        The penalty S, a name of :data:`effcode.objectives.OBJECTIVES`.
    objective_params : dict or None, default None
        Further parameters of the penalty.
    inference_method : {"auto", "fista", "ista", "lca", "active_set", "cd"}, default "fista"
        The inference algorithm ("auto": the fastest for the penalty and device).
    n_iter : int, default 200
        The most iterations of the inference (sweeps per active set for ``"cd"``).
    tol : float or None, default 1e-4
        Stopping tolerance: the relative change of the codes between two iterations or sweeps;
        0 runs all ``n_iter`` (None: :class:`SparseCoding`'s default for the method).
    batch_size : int, default 65536
        Rows of X coded at a time.
    device : str or torch.device, default "cpu"
        Where the inference runs ("cpu", "cuda").
    """
    settings = _check_settings(lam=lam, objective=objective, objective_params=objective_params,
                               inference_method=inference_method, n_iter=n_iter, tol=tol, learning_rate=None,
                               dictionary_update="gradient", resample_after=None, resample_until=None,
                               window_growth=WINDOW_GROWTH, device=device)
    D = check_tensor("dictionary", dictionary, settings.device)
    data = check_array("X", X, ndim=2, dtype=np.float32)
    if data.shape[1] != D.shape[1]:
        raise InputError(f"X has {data.shape[1]} features but dictionary atoms have {D.shape[1]}")
    batch_size = check_int("batch_size", batch_size)
    lipschitz = inference.lipschitz_constant(D)
    out = np.empty((data.shape[0], D.shape[0]), dtype=np.float32)
    for start in range(0, data.shape[0], batch_size):
        chunk = torch.from_numpy(np.ascontiguousarray(data[start:start + batch_size])).to(settings.device)
        codes, _ = inference.solve(chunk, D, settings.objective, method=settings.inference, n_iter=settings.n_iter,
                                   tol=settings.tol, lipschitz=lipschitz)
        out[start:start + chunk.shape[0]] = codes.cpu().numpy()
    return out


def learn_dictionary(X, n_components: int = 256, **params) -> tuple[np.ndarray, dict]:
    """Fit :class:`SparseCoding` (same parameters) on X (n, d); return (dictionary (K, d), history).

    The dictionary rows are unit-norm atoms; ``history`` is ``SparseCoding.history_``.

    Parameters
    ----------
    X : array_like
        Patches, shape (n, d).
    n_components : int, default 256
        Atoms K to learn.
    **params
        Further keyword arguments of :class:`SparseCoding`.
    """
    model = SparseCoding(n_components=n_components, **params).fit(X)
    return model.components_.copy(), {key: list(values) for key, values in model.history_.items()}


class SparseCoding(StreamedPatchLearner):
    r"""Sparse coding: learn an (over)complete dictionary of unit-norm atoms with sparse codes.

    Minimises the mean over patches of 0.5·||x/s - D a||² + lam·S(a) (see the module
    docstring: s = ``scale_``, the data's RMS; D has unit-norm rows).

    Parameters
    ----------
    n_components : int, default=256
        Number of atoms K (any K: under- or overcomplete).
    lam : float, default=2.0
        Sparsity weight, for unit-RMS patches.
    objective : str, default="l1"
        Penalty name from ``effcode.objectives.OBJECTIVES``.
    objective_params : dict or None, default=None
        Extra parameters of the penalty (``{"sigma": 1.0}`` for ``cauchy``, ``{"k": 10}`` for ``topk``);
        None: none.
    inference : str, default="auto"
        ``"auto"`` (the fastest for the penalty and device,
        :func:`effcode.learners.inference.fastest_method`: for ``l1`` and ``nonneg_l1``, ``"cd"`` on the CPU
        and ``"active_set"`` on a GPU; ``"lca"`` for ``l0`` and ``topk``, ``"fista"`` for the others),
        ``"fista"``, ``"ista"``, ``"lca"``,
        ``"active_set"`` (batched FISTA on a few candidate atoms per patch with an optimality check on all
        of them; :func:`effcode.learners.inference.solve_active_set`) or ``"cd"`` (compiled coordinate
        descent on a growing active set, CPU only; the dictionary statistics are then summed over each
        patch's non-zero codes only; :mod:`effcode.learners.coordinate_descent`).  The active-set solvers
        find FISTA's minimiser for the convex penalties ``l1`` and ``nonneg_l1`` only.
    n_iter : int, default=20
        Maximum inference iterations per batch (sweeps per active set for ``"cd"``).
    tol : float or None, default=None
        Stopping tolerance of inference: the relative change of the codes between two iterations or
        sweeps.  None: 1e-2 for ``"cd"``, 1e-3 for the others.
    dictionary_update : {"gradient", "bcd"}, default="gradient"
        ``"gradient"`` (all atoms at once) or ``"bcd"`` (Mairal et al.'s block-coordinate descent: one
        sweep over the atoms in order, each the exact minimiser given the others); both use the same
        running statistics (module docstring).
    learning_rate : float or None, default=None
        Fraction of each atom's step to its block minimiser (dimensionless, > 0); None: 0.5 for
        ``"gradient"``, 1 (the exact block minimiser) for ``"bcd"``.
    batch_size : int, default=512
        Patches per dictionary update.
    n_steps : int, default=300
        Dictionary updates made by ``fit``; ``fit_images`` streams ``n_steps * batch_size`` patches.
    resample_after : int or None, default=50
        Steps of disuse after which an atom is resampled (None: never).
    resample_until : int or None, default=500
        The last dictionary update at which an atom may be resampled (a warm-up; None: throughout
        training).
    window_growth : float or tuple of (float, float, float), default=(5.0, 2.0, 300.0)
        The schedule of the running averages of the dictionary statistics: at update t the newest batch
        weighs 1 / max(1, t / g_t), so that they remember about the last t / g_t batches, with
        g_t = g_inf + (g_0 - g_inf) exp(-t / tau) for (g_0, g_inf, tau) (g_0, g_inf >= 1; tau > 0, in
        updates), or g_t = g for a number g >= 1.  The default falls from 5 (fast forgetting while the
        atoms change fast) to 2 (a long memory, so that the atoms settle); 2.0 is the constant schedule
        used before it (module docstring).
    random_state : int, RandomState, Generator or None, default=0
        Seed of the initial dictionary and of batch order (scikit-learn's convention).
    device : str or torch.device, default="cpu"
        Torch device for all computation.
    progress : bool, default=False
        Show a progress bar in ``fit`` / ``fit_images``.

    Attributes
    ----------
    components_ : ndarray of shape (K, d), float32
        Unit-norm atoms; ``basis_`` and ``filters_`` hold the same values.
    scale_ : float
        RMS of the training data (units of X).
    history_ : dict
        Per-step lists: ``loss`` (mean energy per patch, unit-RMS units), ``reconstruction_error``
        (||X - AD||² / ||X||²), ``sparsity`` (fraction of non-zero codes), ``dictionary_change``
        (Frobenius norm of the change of D).
    n_steps_ : int
        Dictionary updates made; ``n_resampled_``: atoms resampled so far.

    Notes
    -----
    With patches x (d,) divided by their RMS s = ``scale_``, atoms :math:`D` (K, d) with
    unit-norm rows and codes :math:`a` (K,), learning minimises

    .. math::  \mathbb{E}_x \min_a \Big[\tfrac12 \lVert x/s - D^\top a \rVert^2
               + \lambda \textstyle\sum_k S(a_k)\Big] \quad \text{over } D,\ \lVert D_k \rVert = 1,

    with :math:`\lambda` = ``lam`` and S the ``objective``'s penalty (:math:`S(a) = |a|` for
    ``l1``).  ``transform`` returns :math:`s\,a` (n, K), in the units of X, so that
    ``X ≈ transform(X) @ components_``; the atoms (``components_``) are unit-norm, dimensionless.

    ``fit_images`` (whitened patches streamed from images, checkpoint and resume) is
    :meth:`effcode.learners.base.StreamedPatchLearner.fit_images`.
    """

    progress_label = "sparse coding"
    state_attribute = "_trainer"

    #: the averaging weights, learning rate and warm-up depend on the step alone (module docstring)
    length_free_schedule = True

    def __init__(self, n_components: int = 256, *, lam: float = 2.0, objective: str = "l1",
                 objective_params: dict | None = None, inference: str = "auto", n_iter: int = 20,
                 tol: float | None = None, dictionary_update: str = "gradient", learning_rate: float | None = None,
                 batch_size: int = 512, n_steps: int = 300, resample_after: int | None = 50,
                 resample_until: int | None = RESAMPLE_UNTIL,
                 window_growth: float | tuple[float, float, float] = WINDOW_GROWTH, random_state: int = 0,
                 device="cpu", progress: bool = False):
        self.n_components = n_components
        self.lam = lam
        self.objective = objective
        self.objective_params = objective_params
        self.inference = inference
        self.n_iter = n_iter
        self.tol = tol
        self.dictionary_update = dictionary_update
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_steps = n_steps
        self.resample_after = resample_after
        self.resample_until = resample_until
        self.window_growth = window_growth
        self.random_state = random_state
        self.device = device
        self.progress = progress

    # ----------------------------------------------------------------- fitting

    def _settings(self) -> _Settings:
        self._check_stream_sizes()
        return _check_settings(lam=self.lam, objective=self.objective, objective_params=self.objective_params,
                               inference_method=self.inference, n_iter=self.n_iter, tol=self.tol,
                               learning_rate=self.learning_rate, dictionary_update=self.dictionary_update,
                               resample_after=self.resample_after, resample_until=self.resample_until,
                               window_growth=self.window_growth, device=self.device)

    def _start(self, X: torch.Tensor, settings: _Settings) -> None:
        """Fresh state: data scale from X, random dictionary, empty history."""
        k, d, b = self.n_components, X.shape[1], self.batch_size
        # float32: the code Gram matrix (K x K), dictionary, statistics and update (4 x K x d), codes (6 x B x K)
        check_memory(4.0 * (k * k + 4 * k * d + 6 * b * k), f"sparse coding with {k} atoms",
                     "lower n_components (n_filters) or batch_size")
        self.scale_ = data_scale(X, "sparse coding")
        self._rng = check_random_state(self.random_state, "random_state")
        dictionary = _initial_dictionary(self.n_components, X.shape[1], self._rng, settings.device)
        self._trainer = _Trainer(dictionary, settings)
        self.n_features_in_ = X.shape[1]
        self.history_: dict[str, list[float]] = {"loss": [], "reconstruction_error": [], "sparsity": [],
                                                 "dictionary_change": []}

    def _silencing_parameter(self) -> str:
        return f"lam={self.lam}" if self.objective != "topk" else "the objective"

    def _step_size_parameter(self) -> str:
        return f"learning_rate={self._trainer.settings.learning_rate}"

    def _update(self, batch: torch.Tensor) -> None:
        record = self._trainer.step(batch / self.scale_)
        for key, value in record.items():
            self.history_[key].append(value)
        self._publish()

    def _publish(self) -> None:
        atoms = self._trainer.dictionary.cpu().numpy().copy()
        self.components_ = atoms
        self.basis_ = atoms
        self.filters_ = atoms
        self.n_steps_ = self._trainer.n_steps
        self.n_resampled_ = self._trainer.n_resampled

    def _training_state(self) -> dict:
        trainer = self._trainer
        return {"scale": self.scale_, "n_features": self.n_features_in_,
                "dictionary": trainer.dictionary.cpu(), "code_gram": trainer.code_gram.cpu(),
                "code_data": trainer.code_data.cpu(), "unused_steps": trainer.unused_steps.cpu(),
                "n_steps": trainer.n_steps, "n_resampled": trainer.n_resampled,
                "history": {key: list(values) for key, values in self.history_.items()}}

    def _load_state(self, state: dict, settings: _Settings) -> None:
        device = settings.device
        trainer = _Trainer(state["dictionary"].to(device), settings)
        trainer.code_gram = state["code_gram"].to(device)
        trainer.code_data = state["code_data"].to(device)
        trainer.unused_steps = state["unused_steps"].to(device)
        trainer.n_steps, trainer.n_resampled = state["n_steps"], state["n_resampled"]
        self._trainer, self.scale_, self.n_features_in_ = trainer, state["scale"], state["n_features"]
        self.history_ = {key: list(values) for key, values in state["history"].items()}
        self._publish()

    # ----------------------------------------------------------------- using the model

    def _unit_rms_codes(self, X) -> tuple[np.ndarray, np.ndarray]:
        """X (n, d) validated and divided by ``scale_``, and its codes (n, K), both float32."""
        data = self._check_fitted_table(X, dtype=np.float32) / np.float32(self.scale_)
        settings = self._trainer.settings
        codes = sparse_encode(data, self.components_, lam=settings.objective.lam, objective=self.objective,
                              objective_params=self.objective_params, inference_method=self.inference,
                              n_iter=self.n_iter, tol=self.tol, device=settings.device)
        return data, codes

    def transform(self, X) -> np.ndarray:
        """Sparse codes (n, K) of X (n, d) in the units of X, so that ``X ≈ codes @ components_``
        (float64 for float64 X, else float32; computed in float32).

        Parameters
        ----------
        X : array_like
            Patches, shape (n, d).
        """
        _, codes = self._unit_rms_codes(X)
        return (codes * np.float32(self.scale_)).astype(output_dtype(X), copy=False)

    def objective_score(self, X, y=None) -> float:
        r"""The negative mean energy per patch of X (n, d), the learner's own objective: higher is better.

        .. math::  -\frac1n \sum_{x \in X} \Big[\tfrac12 \lVert x/s - D^\top a \rVert^2
                   + \lambda \textstyle\sum_k S(a_k)\Big]

        with the codes a inferred as :meth:`transform` infers them and s = ``scale_`` (the training
        data's RMS), so the value is in the learner's unit-RMS units.  It compares models that share
        ``lam``, ``objective`` and ``n_components`` only (the penalty grows with ``lam``); :meth:`score`
        ranks across them.  ``y`` is ignored.

        Parameters
        ----------
        X : array_like
            Patches, shape (n, d).
        y : None
            Ignored.
        """
        data, codes = self._unit_rms_codes(X)
        half_squared_error = 0.5 * float(np.square(data - codes @ self.components_, dtype=np.float64).sum())
        penalty = float(self._trainer.settings.objective.value(torch.from_numpy(codes).double()))
        return -(half_squared_error + penalty) / data.shape[0]

    def inverse_transform(self, codes) -> np.ndarray:
        """Reconstructions (n, d) = ``codes @ components_``.

        Parameters
        ----------
        codes : array_like
            Sparse codes, shape (n, K).
        """
        check_is_fitted(self, "components_")
        codes = check_array("codes", codes, ndim=2, dtype=np.float32)
        if codes.shape[1] != self.components_.shape[0]:
            raise InputError(f"codes must have {self.components_.shape[0]} columns, got shape {codes.shape}")
        return codes @ self.components_


LEARNERS.register("sparse_coding", SparseCoding)

__all__ = ["SparseCoding", "sparse_encode", "learn_dictionary"]
