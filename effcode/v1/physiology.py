r"""In-silico physiology: the receptive field of every model unit, measured as V1's were, by reverse correlation.

Ringach (2002, J Neurophysiol 88:455) mapped macaque simple cells with the subspace reverse correlation
of Ringach, Sapiro & Shapley (1997, Vision Res 37:2455): at each refresh a grating is drawn with
uniform probability from a finite set of orthonormal Hartley functions, and the cross-correlation of
the image sequence with the spike train is the projection of the receptive field onto the set's span,
for any linear filter followed by a static nonlinearity.  :func:`measure_receptive_fields` presents
that ensemble (or white noise) to a model, in stimulus space, through the model's whole front end and
its real nonlinear inference, and returns each unit's first-order kernel with its standard error.

**Stimuli.**  A stimulus lives on a square window of side :math:`P = 3p - 2` pixels with the model's
:math:`p \times p` patch at its centre (a margin of :math:`p - 1` on each side; for the sparse CNN this
window is the canvas whose interior, the pixels the CNN reconstructs, is exactly the patch).

* ``"hartley"``: :math:`h_k(x) = \operatorname{cas}(2\pi\, k \cdot x / P)`, :math:`\operatorname{cas} =
  \cos + \sin`, with the wave vector :math:`k` drawn uniformly from the :math:`P^2 - 1` non-zero vectors
  of the window's frequency grid (periodic on the window, every orientation and frequency the pixel
  grid holds; :math:`h_k` and :math:`h_{-k}` are the two quadrature phases).  On the window
  :math:`\sum_x h_k(x) h_{k'}(x) = P^2 \delta_{kk'}`, so :math:`\mathbb{E}_k[h_k(x)\,h_k(y)] =
  (P^2 \delta_{xy} - 1) / (P^2 - 1)`.
* ``"white_noise"``: independent standard normal pixels on the window.

Every stimulus :math:`s` is shown at both polarities, :math:`+s` and :math:`-s` (``n_stimuli`` counts
both), and the unit's response enters as the half difference
:math:`d = \tfrac12\,(r(+s) - r(-s))`, which removes the spontaneous rate and every even part of the
response.

**Front end.**  The stimulus passes through what the learner applies to images before coding:

* sparse coding, SAILnet and the sparse CNN see Olshausen-Field-whitened images.  Whitening is the
  filter :math:`R(f) = |f| \exp(-(|f|/f_0)^4)`, :math:`f_0 = 0.4` cycles/pixel
  (:func:`effcode.data.olshausen_field_filter`), applied to the whole window with periodic edges, and
  the patch is cropped from the result.  A periodic Hartley function is only rescaled by it,
  :math:`h_k \mapsto R(|k|/P)\, h_k`, exactly; white noise is filtered by FFT.  The stimulus-space
  receptive field of a whitened-space linear filter :math:`w` is therefore the whitening kernel
  applied to it, :math:`(K * w)(x)` with :math:`\hat K = R`, on the window.
* ICA and ISA remove each patch's mean; their PCA whitening is part of their ``filters``.
* a callable receives the raw patches.

**Contrast.**  The raw stimulus has amplitude :math:`c` (a Hartley function or a noise pixel of unit
variance, times :math:`c`).  For a whitened front end :math:`c` is set so that the whitened patches have,
averaged over the ensemble, the root-mean-square ``contrast`` (default 1) in the units of the learner's
training patches, whose RMS is 1 after :func:`effcode.data.whiten_images` (sparse coding's lam is
defined for unit-RMS patches): :math:`c = \text{contrast} / \sqrt{\overline{R^2}}`, the mean of
:math:`R^2` over the ensemble's frequencies.  Nonlinear codes thus run in their natural regime.  For the
other front ends the raw patches have RMS ``contrast``.

**Estimate.**  With :math:`n` pairs, the raw stimulus values :math:`z_i(x) = s_i(x) / c` at the patch
pixels and the half differences :math:`d_i`, unit by unit,

.. math::  \widehat{\mathrm{RF}}(x) = \frac{\nu}{c}\,\frac1n \sum_{i=1}^n d_i\, z_i(x), \qquad
           \mathrm{SE}(x) = \frac{\nu}{c}\,\sqrt{\frac{1}{n(n-1)} \sum_i \big(d_i z_i(x) - \overline{d z}(x)\big)^2},

with :math:`\nu = (P^2 - 1)/P^2` for Hartley and 1 for white noise.  For a linear unit
:math:`r(s) = \sum_x g(x) s(x)` the estimate is unbiased for :math:`g - \bar g` (Hartley; the window's
mean :math:`\bar g` is the one direction no non-zero grating probes) or :math:`g` (white noise); for a
unit with a static nonlinearity it is the first-order kernel (proportional to :math:`g` for white noise by
Bussgang's theorem).  The units are response per unit of raw stimulus.  Stimuli are drawn independently,
as in the experiment, so the SE is the sampling error of a finite random sequence: it shrinks as
:math:`1/\sqrt n` and another ``seed`` gives an estimate that differs by about it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..data import olshausen_field_filter
from ..errors import InputError
from ..learners import FilterBank
from ..learners.ica import WhitenedLinearLearner
from ..learners.inference import ACTIVE_SET_OBJECTIVES, fastest_method
from ..learners.sailnet import SAILnet
from ..learners.sparse_cnn import SparseCNN, encode, interior_mask
from ..learners.sparse_coding import SparseCoding, sparse_encode
from ..objectives import make_objective
from ..validation import check_choice, check_float, check_int, check_random_state, seed_alias

STIMULI = ("hartley", "white_noise")
#: stimuli shown when ``n_stimuli`` is None (both polarities counted): a 256-atom 16x16 L1 code is
#: measured in about a second on one core, with a median peak |RF| / SE above 20 (docs/v1.md)
DEFAULT_N_STIMULI = 32768
#: the sparse CNN codes a (3p - 2)^2 canvas per stimulus, about 100 times the work of a patch code;
#: its few units (32 by default) each get the same precision from fewer stimuli
DEFAULT_N_STIMULI_CNN = 4096
#: canvases the sparse CNN codes at once: its FFT products of 64 canvases stay in cache (one thread:
#: 1,024 canvases of 46x46, 32 atoms, in 2.8 CPU s in chunks of 64 against 6.8 s in one batch)
CNN_CHUNK = 64
#: stimulus pairs generated and coded at once (fixed, so that a seed gives the same stimuli always)
BATCH_PAIRS = 1024
#: sweeps and tolerance of the coordinate descent that codes L1 / non-negative L1 stimuli: its exact
#: minimiser (sparse_encode's defaults), not the training-time approximation
CD_N_ITER = 200
CD_TOL = 1e-4


@dataclass
class ReceptiveFields:
    """Receptive fields measured by reverse correlation (:func:`measure_receptive_fields`).

    Parameters
    ----------
    rfs : ndarray of shape (units, p, p), float32
        Each unit's first-order kernel in stimulus space (response per unit of raw stimulus; the
        patch's pixels, x = column, y = row).  NaN for a unit that never responded.
    se : ndarray of shape (units, p, p), float32
        The standard error of every pixel of ``rfs`` (NaN where it is).
    stimulus : {"hartley", "white_noise"}
        The stimulus ensemble.
    n_stimuli : int
        Stimuli shown, both polarities counted.
    seed : int
        The seed of the stimulus sequence.
    contrast : float
        RMS of the patches the model's coder saw, relative to its training patches (whitened
        front end) or of the raw patches (other front ends).
    front_end : {"olshausen_field", "dc_removed", "raw"}
        ``"olshausen_field"`` (whitened window, then the patch), ``"dc_removed"`` (ICA, ISA) or
        ``"raw"`` (a callable).
    window : int
        Side P of the square stimulus window, in pixels, the patch at its centre.
    response_fraction : ndarray of shape (units,)
        Fraction of the stimuli with a non-zero response.
    """

    rfs: np.ndarray
    se: np.ndarray
    stimulus: str
    n_stimuli: int
    seed: int
    contrast: float
    front_end: str
    window: int
    response_fraction: np.ndarray

    @property
    def responsive(self) -> np.ndarray:
        """(units,) bool: the unit responded to at least one stimulus (its RF is measured, not NaN)."""
        return self.response_fraction > 0

    def scored_array(self) -> np.ndarray:
        """The (units, p, p) float32 array the scorer fits: a unit that never responded (NaN receptive
        field) becomes zeros, whose Gabor fit fails, so it is counted in the funnel and compared with nothing."""
        return np.nan_to_num(np.asarray(self.rfs, dtype=np.float32), nan=0.0)

    def peak_to_se(self) -> np.ndarray:
        """(units,) the largest absolute RF value over the patch divided by the RMS of the unit's standard errors
        (NaN for a silent unit, inf for an exact measurement)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            peak = np.abs(self.rfs).max(axis=(1, 2), initial=0.0, where=np.isfinite(self.rfs))
            rms_se = np.sqrt(np.mean(np.square(self.se, dtype=np.float64), axis=(1, 2)))
            ratio = peak / rms_se
        return np.where(self.responsive, ratio, np.nan)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The measurement as plain arrays (for :meth:`effcode.runs.Run.step` and ``.npz`` files)."""
        return {"rfs": self.rfs, "se": self.se, "stimulus": np.array(self.stimulus),
                "n_stimuli": np.array(self.n_stimuli), "seed": np.array(self.seed),
                "contrast": np.array(self.contrast), "front_end": np.array(self.front_end),
                "window": np.array(self.window), "response_fraction": self.response_fraction}

    @classmethod
    def from_arrays(cls, data) -> "ReceptiveFields":
        """The inverse of :meth:`to_arrays`."""
        missing = {"rfs", "se", "stimulus", "n_stimuli", "seed", "contrast", "front_end", "window",
                   "response_fraction"} - set(data)
        if missing:
            raise InputError(f"not a ReceptiveFields record: missing {sorted(missing)}")
        return cls(rfs=np.asarray(data["rfs"], dtype=np.float32), se=np.asarray(data["se"], dtype=np.float32),
                   stimulus=str(data["stimulus"]), n_stimuli=int(data["n_stimuli"]), seed=int(data["seed"]),
                   contrast=float(data["contrast"]), front_end=str(data["front_end"]), window=int(data["window"]),
                   response_fraction=np.asarray(data["response_fraction"], dtype=np.float64))


@dataclass(frozen=True)
class _Unit:
    """A model reduced to what the measurement needs: its coder and its front end."""

    #: (n, p, p) float32 patches as the coder sees them -> (n, units) responses
    respond: Callable[[np.ndarray], np.ndarray]
    front_end: str
    patch_size: int | None
    default_n_stimuli: int = DEFAULT_N_STIMULI


# ----------------------------------------------------------------- the models' coders


def _flat(patches: np.ndarray) -> np.ndarray:
    return patches.reshape(len(patches), -1)


def _side(n_pixels: int, what: str) -> int:
    side = math.isqrt(n_pixels)
    if side * side != n_pixels:
        raise InputError(f"{what} has {n_pixels} pixels per unit, not a square patch; expected p * p")
    return side


def _sparse_coding_unit(atoms: np.ndarray, params: dict) -> _Unit:
    """L1-type codes by the compiled coordinate descent (their exact minimiser); other penalties by the
    learner's own inference, iterations and tolerance.  Patches arrive in unit-RMS units, those of lam."""
    atoms = np.ascontiguousarray(atoms.reshape(len(atoms), -1), dtype=np.float32)
    objective = params["objective"]
    if objective in ACTIVE_SET_OBJECTIVES:
        solver: dict[str, Any] = {"inference_method": "cd", "n_iter": CD_N_ITER, "tol": CD_TOL}
    else:
        inference = fastest_method(objective, "cpu") if params["inference"] == "auto" else params["inference"]
        tol = params["tol"] if params["tol"] is not None else 1e-3
        solver = {"inference_method": inference, "n_iter": params["n_iter"], "tol": tol}

    def respond(patches):
        return sparse_encode(_flat(patches), atoms, lam=params["lam"], objective=objective,
                             objective_params=params["objective_params"], device="cpu", **solver)

    return _Unit(respond, "olshausen_field", _side(atoms.shape[1], "the dictionary"))


def _linear_unit(filters: np.ndarray) -> _Unit:
    """ICA/ISA linear units: each patch's mean removed, then the filters (their PCA whitening included)."""
    weights = np.ascontiguousarray(filters.reshape(len(filters), -1), dtype=np.float64)

    def respond(patches):
        flat = _flat(patches).astype(np.float64)
        return (flat - flat.mean(axis=1, keepdims=True)) @ weights.T

    return _Unit(respond, "dc_removed", _side(weights.shape[1], "the filters"))


def _sailnet_unit(learner: SAILnet) -> _Unit:
    """Spike counts of the trained network; patches arrive in unit-RMS units, and the learner's
    normalisation (per patch, or by its training RMS) is applied by its own ``transform``."""
    scale = np.float32(learner.scale_)

    def respond(patches):
        return learner.transform(_flat(patches) * scale)

    return _Unit(respond, "olshausen_field", _side(learner.components_.shape[1], "the SAILnet weights"))


def _sparse_cnn_unit(learner: SparseCNN) -> _Unit:
    """The activations of the units at the centre of a (3p - 2)^2 canvas holding the patch: the interior
    the CNN reconstructs is exactly the patch, and every unit whose atom overlaps it competes."""
    import torch

    p = learner.kernel_size
    canvas = 3 * p - 2
    atoms = torch.as_tensor(learner.components_.reshape(-1, 1, p, p))
    objective = make_objective(learner.objective, learner.lam, **(learner.objective_params or {}))
    mask = interior_mask(canvas, canvas, p, "cpu")
    n_iter = check_int("n_iter", learner.n_iter)
    rectify = learner.nonlinearity == "rectified"

    def respond(patches):
        images = torch.zeros(len(patches), 1, canvas, canvas)
        images[:, 0, p - 1:2 * p - 1, p - 1:2 * p - 1] = torch.as_tensor(patches)
        centre = []
        with torch.no_grad():
            for start in range(0, len(images), CNN_CHUNK):
                activations = encode(images[start:start + CNN_CHUNK], atoms, objective, learner.step_size_, n_iter,
                                     mask, rectify)
                centre.append(activations[:, :, p - 1, p - 1])
        return torch.cat(centre).numpy() if centre else np.zeros((0, len(atoms)), np.float32)

    return _Unit(respond, "olshausen_field", p, DEFAULT_N_STIMULI_CNN)


def _bank_params(bank: FilterBank, learner_class) -> dict:
    """The learner's parameters from ``bank.config``, defaults for those it does not record."""
    defaults = learner_class().get_params()
    return {name: bank.config.get(name, default) for name, default in defaults.items()}


def _sailnet_from_bank(bank: FilterBank) -> SAILnet:
    """The fitted SAILnet of a bank: its parameters from ``bank.config``, its weights Q from ``bank.basis``,
    its thresholds, lateral weights, data scale and step count from ``bank.state``."""
    import torch

    missing = [name for name in SAILnet.bank_state if name not in bank.state]
    if missing:
        raise InputError(f"model: this SAILnet FilterBank lacks {', '.join(missing)} in its state (the thresholds "
                         "and lateral weights its spikes depend on); learn it again, or pass the fitted SAILnet")
    params = {k: v for k, v in _bank_params(bank, SAILnet).items() if k not in ("device", "progress")}
    learner = SAILnet(**{**params, "n_components": bank.n_filters})
    weights = bank.basis.reshape(bank.n_filters, -1)
    state = bank.state
    learner._load_state({"Q": torch.from_numpy(weights), "W": torch.from_numpy(state["lateral_"]),
                         "theta": torch.from_numpy(state["thresholds_"]), "scale": float(state["scale_"]),
                         "n_features": weights.shape[1], "n_steps": int(state["n_steps_"]),
                         "history": bank.history}, learner._settings())
    return learner


def _bank_unit(bank: FilterBank) -> _Unit:
    if bank.method == "sparse_coding":
        return _sparse_coding_unit(bank.basis, _bank_params(bank, SparseCoding))
    if bank.method in ("ica", "isa"):
        return _linear_unit(bank.filters)
    if bank.method == "sparse_cnn":
        params = {k: v for k, v in _bank_params(bank, SparseCNN).items() if k not in ("device", "progress")}
        return _sparse_cnn_unit(SparseCNN(**params).set_atoms(bank.basis))
    if bank.method == "sailnet":
        return _sailnet_unit(_sailnet_from_bank(bank))
    raise InputError(f"model: FilterBank of method {bank.method!r} has no known response; expected one of "
                     "sparse_coding, ica, isa, sparse_cnn, sailnet, or pass a callable")


def _as_unit(model) -> _Unit:
    """The coder and front end of a fitted learner, a FilterBank or a callable."""
    if isinstance(model, FilterBank):
        return _bank_unit(model)
    if isinstance(model, (SparseCoding, WhitenedLinearLearner, SAILnet, SparseCNN)):
        if not hasattr(model, "components_"):
            raise InputError(f"model: the {type(model).__name__} is not fitted; fit it first")
        if isinstance(model, SparseCoding):
            return _sparse_coding_unit(model.components_, model.get_params())
        if isinstance(model, WhitenedLinearLearner):
            return _linear_unit(model.components_)
        if isinstance(model, SAILnet):
            return _sailnet_unit(model)
        return _sparse_cnn_unit(model)
    if callable(model):
        return _Unit(model, "raw", None)
    raise InputError(f"model must be a fitted effcode learner, a FilterBank or a callable mapping patches "
                     f"(n, p, p) to responses (n, units); got {type(model).__name__}")


# ----------------------------------------------------------------- the stimuli


@dataclass(frozen=True)
class _Ensemble:
    """The stimulus window and what the front end does to it."""

    stimulus: str
    patch_size: int
    whitened: bool
    #: the whitening gain R on the window's FFT grid (P, P)
    gains: np.ndarray

    @property
    def window(self) -> int:
        return self.gains.shape[0]

    @property
    def crop(self) -> tuple[slice, slice]:
        start = self.patch_size - 1
        return slice(start, start + self.patch_size), slice(start, start + self.patch_size)

    def mean_square_gain(self) -> float:
        """The mean of R² over the ensemble's frequencies: a unit-amplitude stimulus's whitened power."""
        squares = self.gains.ravel() ** 2
        return float(squares[1:].mean() if self.stimulus == "hartley" else squares.mean())

    def normalisation(self) -> float:
        """nu: the reciprocal of E[z(x)^2] correction that makes the cross-correlation unbiased."""
        n_pixels = self.window ** 2
        return (n_pixels - 1) / n_pixels if self.stimulus == "hartley" else 1.0

    def draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(raw, front) (n, p, p): the unit-amplitude raw stimuli at the patch pixels, and the patches
        after the front end's whitening (the raw crop when it does not whiten)."""
        size = self.window
        rows, cols = self.crop
        if self.stimulus == "hartley":
            index = rng.integers(1, size * size, size=n)
            ky, kx = np.divmod(index, size)
            y = np.arange(rows.start, rows.stop)[None, :, None]
            x = np.arange(cols.start, cols.stop)[None, None, :]
            phase = (2 * np.pi / size) * (kx[:, None, None] * x + ky[:, None, None] * y)
            raw = np.cos(phase) + np.sin(phase)
            front = raw * self.gains[ky, kx][:, None, None] if self.whitened else raw
            return raw, front
        noise = rng.standard_normal((n, size, size))
        raw = noise[:, rows, cols]
        if not self.whitened:
            return raw, raw
        half = self.gains[:, :size // 2 + 1]
        whitened = np.fft.irfft2(np.fft.rfft2(noise) * half, s=(size, size))
        return raw, whitened[:, rows, cols]


# ----------------------------------------------------------------- the measurement


def _responses(unit: _Unit, patches: np.ndarray, n_units: int | None) -> np.ndarray:
    out = np.asarray(unit.respond(patches.astype(np.float32)), dtype=np.float64)
    if out.ndim != 2 or out.shape[0] != len(patches):
        raise InputError(f"model must map {len(patches)} patches to responses of shape ({len(patches)}, units); "
                         f"got shape {out.shape}")
    if n_units is not None and out.shape[1] != n_units:
        raise InputError(f"model returned {out.shape[1]} units for one batch and {n_units} for another")
    if not np.isfinite(out).all():
        raise InputError("model returned NaN or Inf responses; expected finite numbers")
    return out


@seed_alias
def measure_receptive_fields(model: object, patch_size: int, *, stimulus: str = "hartley", n_stimuli: int | None = None,
                             random_state: int = 0, contrast: float = 1.0) -> ReceptiveFields:
    r"""Each unit's receptive field in stimulus space, by reverse correlation, with its standard error.

    The protocol (Ringach 2002, J Neurophysiol 88:455, with the subspace reverse correlation of Ringach,
    Sapiro & Shapley 1997, Vision Res 37:2455), the front ends, the contrast and the estimate are written
    out in the module docstring (:mod:`effcode.v1.physiology`).  In short: Hartley gratings (or white
    noise) on a window of side 3p - 2 around the patch, each shown at both polarities, pass through the
    model's whole front end (Olshausen-Field whitening of the window for sparse coding, SAILnet and the
    sparse CNN; per-patch mean removal for ICA and ISA) and its nonlinear inference; the half difference
    of each pair's responses is cross-correlated with the raw stimulus at the patch pixels.

    Parameters
    ----------
    model : estimator, FilterBank or callable
        What responds to the patches:

        * a fitted :class:`~effcode.learners.SparseCoding` or a ``"sparse_coding"``
          :class:`~effcode.learners.FilterBank`: the codes minimising the learner's energy with its
          ``lam`` and penalty, for ``l1`` and ``nonneg_l1`` by compiled coordinate descent to tolerance
          1e-4 (the exact minimiser), for the other penalties by the learner's own inference settings;
        * a fitted :class:`~effcode.learners.ica.ICA` or :class:`~effcode.learners.isa.ISA`, or their
          bank: the linear units ``filters`` (for ISA the units inside each subspace, not their energies);
        * a fitted :class:`~effcode.learners.sailnet.SAILnet` or its bank (whose ``state`` holds the
          thresholds and lateral weights; a bank without them is refused): the spike counts of the network;
        * a fitted :class:`~effcode.learners.sparse_cnn.SparseCNN` or its bank: the activations of the
          units at the patch centre of a canvas whose interior is the patch;
        * any callable mapping raw patches (n, p, p) float32 to responses (n, units).
    patch_size : int
        Side p of the patches (must match the learner's).
    stimulus : {"hartley", "white_noise"}, default="hartley"
        The stimulus ensemble.
    n_stimuli : int or None, default=None
        Stimuli shown, both polarities counted, so even; None: 32768 (4096 for the sparse CNN,
        whose coder works on a canvas).  The standard error falls as 1/sqrt(n_stimuli).
    random_state : int, default=0
        Seed of the stimulus sequence (same seed, same result); ``seed=`` is a deprecated alias.
    contrast : float, default=1.0
        RMS of the whitened stimulus patches relative to the learner's unit-RMS training patches
        (whitened front ends), or of the raw patches (ICA, ISA, callables); > 0.

    Returns
    -------
    ReceptiveFields
        ``rfs`` and ``se`` (units, p, p) float32, the fraction of stimuli each unit responded to, and the
        settings.  A unit that never responded has NaN ``rfs`` and ``se`` and ``responsive`` False.
    """
    stimulus = check_choice("stimulus", stimulus, STIMULI)
    patch_size = check_int("patch_size", patch_size, minimum=2)
    random_state = check_int("random_state", random_state, minimum=0)
    contrast = check_float("contrast", contrast, minimum=0.0, strict_minimum=True)
    unit = _as_unit(model)
    if unit.patch_size is not None and unit.patch_size != patch_size:
        raise InputError(f"patch_size is {patch_size} but the model's units are {unit.patch_size} x "
                         f"{unit.patch_size}; expected patch_size={unit.patch_size}")
    n_stimuli = unit.default_n_stimuli if n_stimuli is None else check_int("n_stimuli", n_stimuli, minimum=4)
    if n_stimuli % 2:
        raise InputError(f"n_stimuli must be even (every stimulus is shown at both polarities), got {n_stimuli}")
    whitened = unit.front_end == "olshausen_field"
    window = 3 * patch_size - 2
    ensemble = _Ensemble(stimulus, patch_size, whitened, olshausen_field_filter((window, window)))
    amplitude = contrast / math.sqrt(ensemble.mean_square_gain()) if whitened else contrast

    rng = check_random_state(random_state)
    n_pairs = n_stimuli // 2
    n_units = None
    sums = squares = active = None
    for start in range(0, n_pairs, BATCH_PAIRS):
        raw, front = ensemble.draw(min(BATCH_PAIRS, n_pairs - start), rng)
        shown = amplitude * front
        responses = _responses(unit, np.concatenate([shown, -shown]), n_units)
        if n_units is None:
            n_units = responses.shape[1]
            sums = np.zeros((n_units, patch_size * patch_size))
            squares = np.zeros_like(sums)
            active = np.zeros(n_units, dtype=np.int64)
        active += np.count_nonzero(responses, axis=0)
        half = len(raw)
        difference = 0.5 * (responses[:half] - responses[half:])
        z = _flat(raw)
        sums += difference.T @ z
        squares += np.square(difference).T @ np.square(z)

    assert n_units is not None and sums is not None and squares is not None and active is not None, \
        "n_stimuli >= 4: the loop ran"
    scale = ensemble.normalisation() / amplitude
    mean = sums / n_pairs
    variance = np.clip(squares / n_pairs - mean ** 2, 0.0, None) * (n_pairs / (n_pairs - 1))
    rfs = scale * mean
    se = scale * np.sqrt(variance / n_pairs)
    silent = active == 0
    rfs[silent] = np.nan
    se[silent] = np.nan
    shape = (n_units, patch_size, patch_size)
    return ReceptiveFields(rfs=rfs.reshape(shape).astype(np.float32), se=se.reshape(shape).astype(np.float32),
                           stimulus=stimulus, n_stimuli=n_stimuli, seed=random_state, contrast=contrast,
                           front_end=unit.front_end, window=window, response_fraction=active / n_stimuli)


__all__ = ["DEFAULT_N_STIMULI", "DEFAULT_N_STIMULI_CNN", "STIMULI", "ReceptiveFields", "measure_receptive_fields"]
