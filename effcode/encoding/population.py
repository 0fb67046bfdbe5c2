"""Encoding models of a recorded (or simulated) population: :func:`fit_encoding_model`.

``stimuli`` are images (n, H, W); ``responses`` are (n, cells), or (repeats, n, cells) for
repeated presentations (models are fitted to the trial average; the trials are kept for the
noise ceiling when scoring).  Every model predicts the mean response of every cell,
``predict(stimuli) -> (n, cells)``, and scores itself on held-out data with ``score``.

Models (registry :data:`ENCODING_MODELS`):

* ``glm`` (:class:`PopulationGLM`): a linear filter per cell over the whole image with the
  noise model's canonical link (exp for Poisson, identity for Gaussian) and a smoothness plus L2
  prior; the smoothness is chosen per cell from a grid by the validation loss, then the model is
  refitted on all the training data (the objective is convex).
* ``cnn`` (:class:`PopulationCNN`): a convolutional core shared by all cells and a per-cell
  readout factorised into a spatial mask ("where") and feature weights ("what"), after Klindt et
  al. (2017); trained by Adam with early stopping on the validation split, the readout's L1
  weight chosen from a grid by the validation loss.
* ``efficient`` (:class:`EfficientModel`): a fixed front end made of a learned effcode filter
  bank (rectified, energy or subunit features: :mod:`.frontends`) and the same per-cell readout.

The validation split is drawn from the training data (``validation_fraction``, seeded); the
test set is never seen during fitting.  Stimuli are standardised by the mean and standard
deviation of the training pixels (two scalars, stored and applied by ``predict``).
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator

from ..storage.atomic import read_npz, write_npz
from ..errors import DivergenceError, InputError
from ..registry import Registry
from ..validation import (check_array, check_choice, check_float, check_int, check_random_state, resolve_device,
                          seed_from, seed_alias)
from ..v1.stats import median_interval
from .metrics import bits_per_spike_per_cell, correlation_per_cell, feve_per_cell
from .noise import OUTPUTS, apply_output, canonical_output, choose_noise, initial_offset, loss_per_cell

ENCODING_MODELS: Registry = Registry("encoding model")

#: fewest stimuli the validation split may hold
MIN_VALIDATION = 10


def check_recordings(stimuli, responses) -> tuple[np.ndarray, np.ndarray]:
    """``stimuli`` (n, H, W) and ``responses`` (n, cells) or (repeats, n, cells), checked."""
    stimuli = check_array("stimuli", stimuli, ndim=3)
    responses = check_array("responses", responses, ndim=(2, 3))
    if responses.shape[-2] != stimuli.shape[0]:
        raise InputError(f"responses of shape {responses.shape} (n, cells) or (repeats, n, cells) hold "
                         f"{responses.shape[-2]} stimuli, but stimuli of shape {stimuli.shape} hold {stimuli.shape[0]}")
    if min(stimuli.shape[1:]) < 4:
        raise InputError(f"stimuli must be images of at least 4 x 4 pixels, got shape {stimuli.shape}")
    return stimuli, responses


@dataclass
class EncodingScores:
    """Held-out scores of one model, one value per cell (NaN where a metric is undefined).

    Parameters
    ----------
    correlation : ndarray
        Pearson correlation of the prediction with the trial-averaged response, per cell.
    feve : ndarray
        Fraction of explainable variance explained, per cell.
    bits_per_spike : ndarray
        Log-likelihood gain over the training mean rate, bits per spike, per cell.
    """

    #: Pearson correlation of the prediction with the trial-averaged response
    correlation: np.ndarray
    #: fraction of explainable variance explained (repeats needed; :func:`feve_per_cell`)
    feve: np.ndarray
    #: log-likelihood gain over the training mean rate, bits/spike (Poisson counts only)
    bits_per_spike: np.ndarray

    METRICS = ("correlation", "feve", "bits_per_spike")

    @seed_alias
    def medians(self, n_bootstrap: int = 1000, random_state: int = 0) -> dict:
        """Per metric, the median over cells as an estimate in effcode's convention: ``value``
        (the median), ``lo`` and ``hi`` (its 95% percentile-bootstrap interval over cells), ``se``
        (the bootstrap standard error), and ``n_cells`` (cells with a defined value); NaN when none.

        Parameters
        ----------
        n_bootstrap : int, default 1000
            Bootstrap resamples of the cells.
        random_state : int, default 0
            Seed of the resamples.
        """
        random_state = check_int("random_state", random_state, minimum=0)
        out = {}
        for name in self.METRICS:
            values = np.asarray(getattr(self, name), dtype=float)
            values = values[np.isfinite(values)]
            estimate = median_interval(values, n_bootstrap, np.random.default_rng(random_state))
            out[name] = {**estimate, "n_cells": int(values.size)}
        return out


class EncodingModel(BaseEstimator):
    """Base class: data checks, the validation split, standardisation, ``predict`` and ``score``.

    ``random_state`` may be None, an int, a numpy ``RandomState`` or ``Generator`` (scikit-learn's
    convention); ``seed_`` is the integer seed a fit drew from it (the validation split, the network's
    initial weights and, for ``efficient``, the filter bank).

    Subclasses implement ``_fit(x_fit, y_fit, x_val, y_val)`` on standardised stimuli
    (n, 1, H, W) float tensors and trial-averaged responses (n, cells), ``_eta(x)`` (the output
    nonlinearity's input, (n, cells)), and ``parameters_per_cell(image_shape)``.
    """

    #: the name under which the class is registered
    name = ""

    def parameters_per_cell(self, image_shape: tuple[int, int]) -> tuple[int, str]:
        """The number of parameters fitted to each cell alone, and what they are.

        Parameters
        ----------
        image_shape : tuple of int
            The stimuli's (H, W).
        """
        raise NotImplementedError

    def fit(self, stimuli, responses) -> "EncodingModel":
        import torch

        stimuli, responses = check_recordings(stimuli, responses)
        self.noise_ = choose_noise(self.noise, responses)
        if self.noise_ == "poisson" and np.any(responses < 0):
            raise InputError(f"responses hold negative values (minimum {responses.min():g}), impossible for counts "
                             "under noise='poisson'; use noise='gaussian' for calcium or other continuous signals")
        mean = responses.mean(axis=0) if responses.ndim == 3 else responses
        fraction = check_float("validation_fraction", self.validation_fraction, minimum=0.0, strict_minimum=True,
                               maximum=0.5)
        self.seed_ = seed_from(self.random_state)
        order = check_random_state(self.seed_).permutation(len(stimuli))
        n_val = int(round(fraction * len(stimuli)))
        val, fit = np.sort(order[:n_val]), np.sort(order[n_val:])
        n_params, what = self.parameters_per_cell(stimuli.shape[1:])
        if n_val < MIN_VALIDATION or len(fit) < n_params:
            raise InputError(f"stimuli: {len(stimuli)} stimuli leave {len(fit)} for fitting and {n_val} for validation "
                             f"(validation_fraction {fraction:g}); model {self.name!r} needs at least {n_params} for "
                             f"fitting ({what}) and {MIN_VALIDATION} for validation: record more stimuli, or use "
                             "smaller images")
        self.output_ = self._output()
        self.train_mean_ = mean[fit].mean(axis=0)
        self.noise_variance_ = mean[fit].var(axis=0)
        if self.noise_ == "poisson" and np.any(self.train_mean_ <= 0):
            silent = np.flatnonzero(self.train_mean_ <= 0)
            raise InputError(f"responses: cell(s) {silent[:10].tolist()} never respond in the training split; drop them "
                             "before fitting a Poisson model")
        if np.any(self.noise_variance_ <= 0):
            flat = np.flatnonzero(self.noise_variance_ <= 0)
            raise InputError(f"responses: cell(s) {flat[:10].tolist()} respond the same to every training stimulus; "
                             "drop them before fitting")
        if self.output_ in ("exp", "softplus") and np.any(self.train_mean_ <= 0):
            raise InputError(f"output {self.output_!r} predicts positive responses, but some cells' mean response is "
                             "not positive; use output='linear'")
        self.stimulus_mean_ = float(stimuli[fit].mean())
        self.stimulus_scale_ = float(stimuli[fit].std())
        if self.stimulus_scale_ <= 0:
            raise InputError("stimuli are constant: there is nothing to predict responses from")
        self.image_shape_ = tuple(int(v) for v in stimuli.shape[1:])
        self.n_cells_ = int(mean.shape[1])
        self.device_ = resolve_device(self.device)
        x = self._tensor(stimuli)
        y = torch.as_tensor(mean, dtype=x.dtype, device=self.device_)
        self._fit(x[fit], y[fit], x[val], y[val])
        return self

    def _output(self) -> str:
        return canonical_output(self.noise_)

    @property
    def _dtype(self):
        import torch

        return torch.float32

    def _tensor(self, stimuli: np.ndarray):
        import torch

        x = (stimuli - self.stimulus_mean_) / self.stimulus_scale_
        return torch.as_tensor(x[:, None], dtype=self._dtype, device=self.device_)

    def _loss_scale(self, y):
        import torch

        return torch.as_tensor(self.noise_variance_, dtype=y.dtype, device=y.device)

    def predict(self, stimuli, batch_size: int = 4096) -> np.ndarray:
        """Predicted mean response of every cell, (n, cells), in the units of the training responses.

        Parameters
        ----------
        stimuli : array_like
            Images, shape (n, H, W).
        batch_size : int, default 4096
            Stimuli evaluated at a time.
        """
        import torch

        stimuli = check_array("stimuli", stimuli, ndim=3)
        if stimuli.shape[1:] != self.image_shape_:
            raise InputError(f"stimuli must be images of shape {self.image_shape_}, like the training stimuli; got "
                             f"{stimuli.shape[1:]}")
        out = []
        with torch.no_grad():
            for start in range(0, len(stimuli), batch_size):
                eta = self._eta(self._tensor(stimuli[start:start + batch_size]))
                out.append(apply_output(self.output_, eta).double().cpu().numpy())
        return np.concatenate(out)

    def score(self, stimuli, responses) -> float:
        """The mean over cells of the held-out correlation between prediction and response
        (:meth:`mean_correlation`): a float, so that scikit-learn's ``cross_val_score`` and
        ``GridSearchCV`` rank models by it without a ``scoring`` argument.  Every cell's correlation,
        FEVE and bits/spike: :meth:`score_table`.

        Parameters
        ----------
        stimuli : array_like
            Held-out images, shape (n, H, W).
        responses : array_like
            Their responses, shape (n, cells) or (repeats, n, cells).
        """
        return self.mean_correlation(stimuli, responses)

    def score_table(self, stimuli, responses) -> EncodingScores:
        """Held-out correlation, FEVE (repeats needed) and bits/spike (Poisson counts) of every cell,
        as a :class:`EncodingScores` table (one value per cell).

        Parameters
        ----------
        stimuli : array_like
            Held-out images, shape (n, H, W).
        responses : array_like
            Their responses, shape (n, cells) or (repeats, n, cells).
        """
        stimuli, responses = check_recordings(stimuli, responses)
        if responses.shape[-1] != self.n_cells_:
            raise InputError(f"responses hold {responses.shape[-1]} cells; the model was fitted to {self.n_cells_}")
        pred = self.predict(stimuli)
        nan = np.full(self.n_cells_, np.nan)
        repeated = responses.ndim == 3 and responses.shape[0] >= 2
        counts = self.noise_ == "poisson" and np.all(responses >= 0) and np.all(responses == np.round(responses))
        return EncodingScores(correlation=correlation_per_cell(pred, responses),
                                feve=feve_per_cell(pred, responses) if repeated else nan,
                                bits_per_spike=bits_per_spike_per_cell(pred, responses, self.train_mean_) if counts
                                else nan)

    def mean_correlation(self, stimuli, responses) -> float:
        """One number for model selection: the mean over cells of the held-out Pearson correlation.

        ``mean_correlation = (1 / C) sum_c r_c``, with ``r_c = corr(predict(stimuli)[:, c], m[:, c])``
        the Pearson correlation over the stimuli of cell ``c``'s prediction with its response ``m``
        (the trial average when ``responses`` holds repeats), and the mean taken over the ``C`` cells
        whose correlation is defined (NaN when none is); see :func:`correlation_per_cell`.

        Parameters
        ----------
        stimuli : array_like
            Held-out images, shape (n, H, W).
        responses : array_like
            Their responses, shape (n, cells) or (repeats, n, cells).
        """
        stimuli, responses = check_recordings(stimuli, responses)
        if responses.shape[-1] != self.n_cells_:
            raise InputError(f"responses hold {responses.shape[-1]} cells; the model was fitted to {self.n_cells_}")
        r = correlation_per_cell(self.predict(stimuli), responses)
        r = r[np.isfinite(r)]
        return float(r.mean()) if r.size else float("nan")

    # -- saving -------------------------------------------------------------------------------------

    def save(self, path):
        """Write the fitted model to an ``.npz`` of plain arrays (:meth:`to_arrays`; no pickle);
        :func:`load_encoding_model_file` (or ``type(model).load``) reads it back.  Returns the path.

        Parameters
        ----------
        path : str or os.PathLike
            Where to write the ``.npz``.
        """

        if not hasattr(self, "n_cells_"):
            raise InputError(f"cannot save {type(self).__name__} to {path}: the model is not fitted; call fit first")
        return write_npz(path, **self.to_arrays())

    @classmethod
    def load(cls, path, device: str = "cpu") -> "EncodingModel":
        """A fitted model from a file written by :meth:`save` (see :func:`load_encoding_model_file`)."""
        model = load_encoding_model_file(path, device=device)
        if cls is not EncodingModel and not isinstance(model, cls):
            raise InputError(f"{path} holds a {type(model).__name__} ({model.name!r}), not a {cls.__name__}")
        return model

    # -- caching ------------------------------------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted model as plain arrays (for :meth:`effcode.runs.Run.step`); see :func:`load_encoding_model`."""
        params = {k: v for k, v in self.get_params().items() if k not in self._unsaved_params}
        fitted = {"noise_": self.noise_, "output_": self.output_, "stimulus_mean_": self.stimulus_mean_,
                  "stimulus_scale_": self.stimulus_scale_, "image_shape_": list(self.image_shape_),
                  "n_cells_": self.n_cells_, **self._fitted_scalars()}
        return {"model": np.array(self.name), "params": np.array(json.dumps(params, default=list)),
                "fitted": np.array(json.dumps(fitted)), "train_mean_": self.train_mean_,
                "noise_variance_": self.noise_variance_, **self._state_arrays()}

    _unsaved_params: tuple = ()

    def _fitted_scalars(self) -> dict:
        return {}


def load_encoding_model(arrays: Mapping[str, np.ndarray], device: str = "cpu") -> EncodingModel:
    """A fitted model from :meth:`EncodingModel.to_arrays`.

    Parameters
    ----------
    arrays : mapping of str to ndarray
        The arrays :meth:`EncodingModel.to_arrays` returned.
    device : str, default "cpu"
        Where the model is placed ("cpu", "cuda").
    """
    cls = ENCODING_MODELS.get(str(arrays["model"]))
    model = cls(**json.loads(str(arrays["params"])))
    for key, value in json.loads(str(arrays["fitted"])).items():
        setattr(model, key, tuple(value) if key == "image_shape_" else value)
    model.train_mean_, model.noise_variance_ = np.asarray(arrays["train_mean_"]), np.asarray(arrays["noise_variance_"])
    model.device = device
    model.device_ = resolve_device(device)
    model._restore(arrays)
    return model


def load_encoding_model_file(path: str | os.PathLike[str], device: str = "cpu") -> EncodingModel:
    """A fitted model from an ``.npz`` written by :meth:`EncodingModel.save` (``allow_pickle=False``).

    A missing or unreadable file, or an archive that is not a saved encoding model, raises a one-line
    :class:`~effcode.errors.InputError` naming the file and what was expected.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file.
    device : str, default "cpu"
        Where the model is placed ("cpu", "cuda").
    """
    from pathlib import Path


    expected = "an .npz written by EncodingModel.save"
    if not Path(path).is_file():
        raise InputError(f"encoding model file {path} does not exist or is not a file; expected {expected}")
    try:
        arrays = read_npz(path)
    except InputError:
        raise InputError(f"encoding model file {path} is not a readable .npz archive; expected {expected}") from None
    missing = {"model", "params", "fitted", "train_mean_", "noise_variance_"} - set(arrays)
    if missing:
        raise InputError(f"encoding model file {path} lacks {', '.join(sorted(missing))}; expected {expected}")
    if str(arrays["model"]) not in ENCODING_MODELS:
        raise InputError(f"encoding model file {path} names an unknown model {str(arrays['model'])!r}; "
                         f"expected one of {sorted(ENCODING_MODELS)}")
    try:
        return load_encoding_model(arrays, device=device)
    except (KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise InputError(f"encoding model file {path} does not hold a consistent {str(arrays['model'])!r} model "
                         f"({type(exc).__name__}); expected {expected}") from None


def mean_correlation_scorer(estimator: Any, stimuli: ArrayLike, responses: ArrayLike) -> float:
    """A scikit-learn scorer (``scoring=mean_correlation_scorer`` in ``cross_val_score`` or
    ``GridSearchCV``): ``estimator.mean_correlation(stimuli, responses)``, the mean over cells of the
    held-out Pearson correlation of prediction and response.

    Parameters
    ----------
    estimator : EncodingModel
        A fitted encoding model.
    stimuli : array_like
        Held-out images, shape (n, H, W).
    responses : array_like
        Their responses, shape (n, cells) or (repeats, n, cells).
    """
    return estimator.mean_correlation(stimuli, responses)


# ----------------------------------------------------------------------------------------------- GLM


@ENCODING_MODELS.register("glm")
class PopulationGLM(EncodingModel):
    """A GLM per cell: ``eta_c = w_c · x + b_c``, response ``g(eta_c)`` with the canonical link.

    Minimises, per cell, the mean loss of the noise model (:mod:`.noise`) plus
    ``smoothness_c |D w_c|^2 + l2 |w_c|^2``, with ``D`` the differences between horizontally and
    vertically adjacent pixels of the filter seen as an image; L-BFGS in float64 (at most ``max_iter``
    iterations per fit; warm starts make 100 enough: predictions agree with 500 to 6 digits), all cells at once
    (the objective is a sum of independent convex terms).  ``smoothness_c`` is the value of the grid
    ``smoothness`` with the lowest validation loss of cell ``c`` (the grid is fitted in the order
    given, each fit warm-started from the last); the model is then refitted on the whole training
    set, starting from each cell's chosen solution.

    Attributes after ``fit``: ``filters_`` (cells, H, W) in response-link units per standardised
    pixel, ``intercept_`` (cells,), ``smoothness_`` (cells,) the chosen values, ``validation_loss_``
    (grid, cells).

    Parameters
    ----------
    noise : {"auto", "poisson", "gaussian"}, default "auto"
        The noise model ("auto": Poisson when every response is a non-negative integer).
    smoothness : sequence of float, default (1.0, 0.3, 0.1, 0.03, 0.01, 0.003)
        The grid of weights of ``|D w_c|^2``, fitted in this order (warm starts), one chosen per cell
        by validation loss.
    l2 : float, default 1e-4
        Weight of ``|w_c|^2``, the squared norm of each filter (standardised pixels).
    max_iter : int, default 100
        The most L-BFGS iterations per fit.
    validation_fraction : float, default 0.2
        Fraction of the training stimuli held out to choose the smoothness.
    random_state : int, default 0
        Seed of the validation split (the fit starts from zero filters and is deterministic).
    device : str, default "cpu"
        Where the model is trained ("cpu", "cuda").
    """

    name = "glm"

    def __init__(self, noise: str = "auto", smoothness=(1.0, 0.3, 0.1, 0.03, 0.01, 0.003), l2: float = 1e-4,
                 max_iter: int = 100, validation_fraction: float = 0.2, random_state: int = 0, device: str = "cpu"):
        self.noise = noise
        self.smoothness = smoothness
        self.l2 = l2
        self.max_iter = max_iter
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.device = device

    def parameters_per_cell(self, image_shape):
        return int(np.prod(image_shape)) + 1, f"{int(np.prod(image_shape))} filter weights and an offset"

    @property
    def _dtype(self):
        import torch

        return torch.float64

    def _fit(self, x_fit, y_fit, x_val, y_val):
        import torch

        grid = check_array("smoothness", self.smoothness, ndim=1)
        if np.any(grid < 0):
            raise InputError(f"smoothness values must be >= 0, got {grid}")
        check_float("l2", self.l2, minimum=0.0)
        check_int("max_iter", self.max_iter)
        scores, solutions, start = [], [], None
        for value in grid:   # each fit starts from the previous one's solution (a warm start)
            start = self._solve(x_fit, y_fit, np.full(self.n_cells_, value), start)
            solutions.append(start)
            with torch.no_grad():
                eta = x_val.flatten(1) @ start[0].T + start[1]
                scores.append(loss_per_cell(self.noise_, self.output_, eta, y_val, self._loss_scale(y_val)).cpu().numpy())
        self.validation_loss_ = np.asarray(scores)
        best = np.argmin(self.validation_loss_, axis=0)
        self.smoothness_ = grid[best]
        cells = torch.arange(self.n_cells_)
        start = tuple(torch.stack([s[k] for s in solutions])[best, cells] for k in (0, 1))
        w, b = self._solve(torch.cat([x_fit, x_val]), torch.cat([y_fit, y_val]), self.smoothness_, start)
        self.filters_ = w.detach().cpu().numpy().reshape(self.n_cells_, *self.image_shape_)
        self.intercept_ = b.detach().cpu().numpy()

    def _solve(self, x, y, smoothness: np.ndarray, start=None):
        """Filters and offsets minimising the objective with per-cell ``smoothness``, from ``start``
        (filters, offsets) or from zero filters and the mean response."""
        import torch

        X = x.flatten(1)
        lam = torch.as_tensor(smoothness, dtype=X.dtype, device=X.device)
        scale = self._loss_scale(y)
        if start is None:
            offset = initial_offset(self.noise_, self.output_, self.train_mean_)
            start = (torch.zeros((self.n_cells_, X.shape[1]), dtype=X.dtype, device=X.device),
                     torch.as_tensor(offset, dtype=X.dtype, device=X.device))
        w, b = (t.detach().clone().requires_grad_(True) for t in start)
        optimizer = torch.optim.LBFGS([w, b], max_iter=int(self.max_iter), tolerance_grad=1e-7, tolerance_change=1e-12,
                                      history_size=20, line_search_fn="strong_wolfe")

        def objective():
            loss = loss_per_cell(self.noise_, self.output_, X @ w.T + b, y, scale)
            image = w.view(self.n_cells_, *self.image_shape_)
            rough = torch.sum(torch.diff(image, dim=1) ** 2, dim=(1, 2)) + torch.sum(torch.diff(image, dim=2) ** 2,
                                                                                      dim=(1, 2))
            return torch.sum(loss + lam * rough + self.l2 * torch.sum(w ** 2, dim=1))

        def closure():
            optimizer.zero_grad()
            value = objective()
            value.backward()
            return value

        optimizer.step(closure)
        if not torch.isfinite(objective()):
            raise DivergenceError("glm: the objective became non-finite; raise l2 or use noise='gaussian'")
        return w.detach(), b.detach()

    def _eta(self, x):
        import torch

        w = torch.as_tensor(self.filters_.reshape(self.n_cells_, -1), dtype=x.dtype, device=x.device)
        return x.flatten(1) @ w.T + torch.as_tensor(self.intercept_, dtype=x.dtype, device=x.device)

    def _state_arrays(self):
        return {"filters_": self.filters_, "intercept_": self.intercept_, "smoothness_": self.smoothness_,
                "validation_loss_": self.validation_loss_}

    def _restore(self, arrays):
        for key in ("filters_", "intercept_", "smoothness_", "validation_loss_"):
            setattr(self, key, np.asarray(arrays[key]))


# ------------------------------------------------------------------------------- readout models


class ReadoutModel(EncodingModel):
    """Shared by ``cnn`` and ``efficient``: a network ending in a :class:`~.readouts.FactorisedReadout`,
    trained by Adam on minibatches with early stopping, the readout L1 weight chosen from the grid
    ``readout_l1`` by the lowest validation loss (the mean loss over cells, without penalties).

    Attributes after ``fit``: ``network_``, ``readout_l1_`` (the chosen value), ``validation_loss_``
    (best per grid value), ``best_epoch_``, ``history_`` (``train_loss``, ``val_loss`` per epoch of
    the chosen fit), ``spatial_masks_`` (cells, h, w).
    """

    def _output(self) -> str:
        if self.output is None:
            return "softplus" if self.noise_ == "poisson" else "linear"
        return check_choice("output", self.output, OUTPUTS)

    def _build(self, generator):
        raise NotImplementedError

    def _penalty(self, network):
        return 0.0

    def _fit(self, x_fit, y_fit, x_val, y_val):
        import torch

        grid = check_array("readout_l1", self.readout_l1, ndim=1)
        if np.any(grid < 0):
            raise InputError(f"readout_l1 values must be >= 0, got {grid}")
        for name in ("n_epochs", "batch_size", "patience"):
            check_int(name, getattr(self, name))
        check_float("learning_rate", self.learning_rate, minimum=0.0, strict_minimum=True)
        best: dict[str, Any] | None = None
        losses = []
        for value in grid:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed_)
                generator = torch.Generator().manual_seed(self.seed_)
                network = self._build(generator).to(self.device_)
            fitted = self._train(network, float(value), x_fit, y_fit, x_val, y_val, generator)
            losses.append(fitted["val_loss"])
            if best is None or fitted["val_loss"] < best["val_loss"]:
                best = {**fitted, "readout_l1": float(value)}
        assert best is not None   # the grid holds at least one value (check_array)
        self.network_ = best["network"].eval()
        self.readout_l1_ = best["readout_l1"]
        self.validation_loss_ = np.asarray(losses)
        self.best_epoch_ = best["epoch"]
        self.history_ = best["history"]

    def _train(self, network, l1, x_fit, y_fit, x_val, y_val, generator) -> dict:
        import torch

        fixed = getattr(network, "fixed_features", False)
        readout = network.readout
        with torch.no_grad():   # a fixed front end's features are computed (and laid out for the readout) once
            f_fit, f_val = ((self._batched(lambda x: readout.layout(network.features(x)), x) for x in (x_fit, x_val))
                            if fixed else (x_fit, x_val))
        forward = readout.read if fixed else network
        params = [p for p in network.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=self.learning_rate)
        scale = self._loss_scale(y_fit)
        history: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
        best: dict[str, Any] = {"val_loss": np.inf, "epoch": 0, "state": None}
        for epoch in range(self.n_epochs):
            network.train()
            order = torch.randperm(len(f_fit), generator=generator).to(self.device_)
            total = 0.0
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                optimizer.zero_grad()
                fit_loss = loss_per_cell(self.noise_, self.output_, forward(f_fit[idx]), y_fit[idx], scale).mean()
                loss = fit_loss + l1 * network.readout.l1_penalty() + self._penalty(network)
                loss.backward()
                optimizer.step()
                total += float(fit_loss.detach()) * len(idx)
            network.eval()
            with torch.no_grad():
                val_loss = float(loss_per_cell(self.noise_, self.output_, self._batched(forward, f_val), y_val,
                                               scale).mean())
            if not (np.isfinite(total) and np.isfinite(val_loss)):
                raise DivergenceError(f"{self.name}: non-finite loss at epoch {epoch + 1}; lower learning_rate")
            history["train_loss"].append(total / len(order))
            history["val_loss"].append(val_loss)
            if val_loss < best["val_loss"]:
                best = {"val_loss": val_loss, "epoch": epoch + 1, "state": copy.deepcopy(network.state_dict())}
            elif epoch + 1 - best["epoch"] >= self.patience:
                break
        network.load_state_dict(best["state"])
        return {"network": network, "val_loss": best["val_loss"], "epoch": best["epoch"],
                "history": {k: np.asarray(v) for k, v in history.items()}}

    @staticmethod
    def _batched(function, x, batch: int = 4096):
        import torch

        return torch.cat([function(x[s:s + batch]) for s in range(0, len(x), batch)])

    def _eta(self, x):
        return self.network_(x)

    @property
    def spatial_masks_(self) -> np.ndarray:
        return self.network_.readout.spatial_masks(*self.readout_shape_)

    def _fitted_scalars(self):
        return {"readout_l1_": self.readout_l1_, "best_epoch_": self.best_epoch_,
                "readout_shape_": list(self.readout_shape_)}

    def _state_arrays(self):
        state = {f"state.{k}": v.detach().cpu().numpy() for k, v in self.network_.state_dict().items()}
        return {**state, "validation_loss_": self.validation_loss_,
                **{f"history_{k}": v for k, v in self.history_.items()}}

    def _restore(self, arrays):
        import torch

        self.readout_shape_: tuple[int, int] = (int(self.readout_shape_[0]), int(self.readout_shape_[1]))
        state = {k[len("state."):]: torch.as_tensor(np.asarray(v)) for k, v in arrays.items() if k.startswith("state.")}
        self.network_ = self._build_from_state(state, torch.Generator().manual_seed(0))
        self.network_.load_state_dict(state)
        self.network_.to(self.device_).eval()
        self.validation_loss_ = np.asarray(arrays["validation_loss_"])
        self.history_ = {k[len("history_"):]: np.asarray(v) for k, v in arrays.items() if k.startswith("history_")}

    def _build_from_state(self, state, generator):
        return self._build(generator)


@ENCODING_MODELS.register("cnn")
class PopulationCNN(ReadoutModel):
    """Shared convolutional core and factorised per-cell readout (Klindt et al. 2017); see
    :class:`~.readouts.ConvNetwork` and :class:`ReadoutModel`.

    Penalties: ``readout_l1`` (grid, chosen on validation) times the mean ``|mask|_1 |features|_1``
    over cells, and ``smoothness`` times the first layer's relative squared pixel differences.

    Parameters
    ----------
    noise : {"auto", "poisson", "gaussian"}, default "auto"
        The noise model ("auto": Poisson when every response is a non-negative integer).
    n_channels : int, default 16
        Feature maps of the convolutional core.
    kernel_size : int, default 9
        Side of the first layer's kernels, pixels.
    hidden_channels : int, default 16
        Feature maps of the hidden layer.
    output : {"exp", "softplus", "linear"} or None, default None
        The output nonlinearity (None: softplus for Poisson noise, else linear).
    readout_l1 : sequence of float, default (0.01,)
        The grid of weights of the readout penalty (mean over cells of ``|mask|_1 |features|_1``),
        one chosen by validation loss.
    smoothness : float, default 0.01
        Weight of the first layer's relative squared differences of adjacent kernel pixels.
    n_epochs : int, default 100
        The most passes over the training split per readout weight.
    patience : int, default 5
        Epochs without a lower validation loss before training stops.
    batch_size : int, default 128
        Stimuli per minibatch.
    learning_rate : float, default 3e-3
        Adam's step size.
    validation_fraction : float, default 0.2
        Fraction of the training data held out for model selection.
    random_state : int, default 0
        Seed of the split, the initial weights and the minibatches.
    device : str, default "cpu"
        Where the model is trained ("cpu", "cuda").
    """

    name = "cnn"

    def __init__(self, noise: str = "auto", n_channels: int = 16, kernel_size: int = 9, hidden_channels: int = 16,
                 output: str | None = None, readout_l1=(0.01,), smoothness: float = 0.01, n_epochs: int = 100,
                 patience: int = 5, batch_size: int = 128, learning_rate: float = 3e-3,
                 validation_fraction: float = 0.2, random_state: int = 0, device: str = "cpu"):
        self.noise = noise
        self.n_channels = n_channels
        self.kernel_size = kernel_size
        self.hidden_channels = hidden_channels
        self.output = output
        self.readout_l1 = readout_l1
        self.smoothness = smoothness
        self.n_epochs = n_epochs
        self.patience = patience
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.device = device

    def parameters_per_cell(self, image_shape):
        k = check_int("kernel_size", self.kernel_size, maximum=min(image_shape))
        hidden = check_int("hidden_channels", self.hidden_channels)
        h, w = (s - k + 1 for s in image_shape)
        return h * w + hidden + 1, f"a {h} x {w} spatial mask, {hidden} feature weights and an offset"

    def _build(self, generator):
        from .readouts import ConvNetwork

        check_int("n_channels", self.n_channels)
        check_float("smoothness", self.smoothness, minimum=0.0)
        height, width = self.image_shape_
        self.readout_shape_ = (height - self.kernel_size + 1, width - self.kernel_size + 1)
        return ConvNetwork(self.n_channels, self.kernel_size, self.hidden_channels, self.readout_shape_,
                           self.n_cells_, initial_offset(self.noise_, self.output_, self.train_mean_), generator)

    def _penalty(self, network):
        return self.smoothness * network.smoothness_penalty()

    @property
    def conv_filters_(self) -> np.ndarray:
        """First-layer kernels, (n_channels, k, k)."""
        return self.network_.conv.weight.detach().cpu().numpy()[:, 0]


@ENCODING_MODELS.register("efficient")
class EfficientModel(ReadoutModel):
    """A fixed front end made of a learned effcode filter bank, and a trained per-cell readout.

    ``bank``: a :class:`effcode.learners.FilterBank`, the path of one saved with
    ``FilterBank.save``, an array of filters (K, k, k), or the name of an effcode learner
    (``"ica"``, ``"sparse_coding"``, ...), learned on the fly from the images ``bank_source``
    with ``bank_n_filters`` filters of ``bank_patch_size`` pixels (seeded by ``random_state``).
    ``front_end``: ``rectified``, ``energy``, ``subunit`` or ``rectified_energy`` (both polarities of
    each filter and of its quadrature partner beside the pair's energy; :mod:`.frontends`).  The bank's filters
    are applied to the standardised stimuli; a bank learned from whitened images suits stimuli
    whitened the same way.

    Parameters
    ----------
    noise : {"auto", "poisson", "gaussian"}, default "auto"
        The noise model ("auto": Poisson when every response is a non-negative integer).
    bank : FilterBank, str, path or ndarray, default "ica"
        The filter bank, or the name of a learner that learns it.
    front_end : {"rectified", "energy", "subunit", "rectified_energy"}, default "energy"
        How the filter outputs are combined into features.
    bank_source : str, default "default"
        The images a named learner learns the bank from.
    bank_n_filters : int, default 64
        Filters a named learner learns (ignored for a given bank).
    bank_patch_size : int, default 10
        Side of those filters, pixels (ignored for a given bank).
    output : {"exp", "softplus", "linear"} or None, default None
        The output nonlinearity (None: softplus for Poisson noise, else linear).
    readout_l1 : sequence of float, default (0.001, 0.01)
        The grid of readout L1 weights, chosen by validation loss.
    n_epochs : int, default 100
        The most passes over the training split per readout weight.
    patience : int, default 5
        Epochs without a lower validation loss before training stops.
    batch_size : int, default 128
        Stimuli per minibatch.
    learning_rate : float, default 1e-2
        Adam's step size.
    validation_fraction : float, default 0.2
        Fraction of the training data held out for model selection.
    random_state : int, default 0
        Seed of the split, of a named learner's bank, of the readout's initial weights and of
        the minibatches.
    device : str, default "cpu"
        Where the model is trained ("cpu", "cuda").
    """

    name = "efficient"
    _unsaved_params = ("bank",)

    def __init__(self, noise: str = "auto", bank="ica", front_end: str = "energy", bank_source="default",
                 bank_n_filters: int = 64, bank_patch_size: int = 10, output: str | None = None,
                 readout_l1=(0.001, 0.01), n_epochs: int = 100, patience: int = 5, batch_size: int = 128,
                 learning_rate: float = 1e-2, validation_fraction: float = 0.2, random_state: int = 0,
                 device: str = "cpu"):
        self.noise = noise
        self.bank = bank
        self.front_end = front_end
        self.bank_source = bank_source
        self.bank_n_filters = bank_n_filters
        self.bank_patch_size = bank_patch_size
        self.output = output
        self.readout_l1 = readout_l1
        self.n_epochs = n_epochs
        self.patience = patience
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.device = device

    def fit(self, stimuli, responses) -> "EfficientModel":
        self._loaded_bank: np.ndarray | None = None   # load (or learn) the bank afresh: ``bank`` may have changed
        return super().fit(stimuli, responses)

    def _filters(self) -> np.ndarray:
        """The bank's filters (K, k, k), loaded or learned once per fit."""
        loaded = getattr(self, "_loaded_bank", None)
        if loaded is not None:
            return loaded
        from pathlib import Path

        from ..learners import FilterBank, learn_filters

        bank = self.bank
        if isinstance(bank, (str, Path)) and Path(bank).suffix == ".npz":
            if not Path(bank).is_file():
                raise InputError(f"bank: FilterBank file {bank} does not exist")
            bank = FilterBank.load(bank)
        elif isinstance(bank, str):
            bank = learn_filters(bank, self.bank_source, n_filters=self.bank_n_filters,
                                 patch_size=self.bank_patch_size, random_state=self.seed_, device=self.device)
        filters = bank.filters if isinstance(bank, FilterBank) else bank
        filters = check_array("bank filters", filters, ndim=3)
        self._loaded_bank = filters
        return filters

    def parameters_per_cell(self, image_shape):
        from .frontends import FRONT_ENDS, MAPS_PER_FILTER

        check_choice("front_end", self.front_end, FRONT_ENDS)
        filters = self._filters()
        k = filters.shape[-1]
        if k > min(image_shape):
            raise InputError(f"bank: filters of {k} x {k} pixels do not fit in stimuli of shape {image_shape}")
        channels = len(filters) * MAPS_PER_FILTER[self.front_end]
        h, w = (s - k + 1 for s in image_shape)
        return h * w + channels + 1, f"a {h} x {w} spatial mask, {channels} feature weights and an offset"

    def _build(self, generator, filters=None):
        from .frontends import FilterBankFrontEnd, FrontEndNetwork

        front = FilterBankFrontEnd(self._filters() if filters is None else filters, self.front_end)
        height, width = self.image_shape_
        self.readout_shape_ = (height - front.kernel_size + 1, width - front.kernel_size + 1)
        return FrontEndNetwork(front, self.readout_shape_, self.n_cells_,
                               initial_offset(self.noise_, self.output_, self.train_mean_), generator)

    def _build_from_state(self, state, generator):
        return self._build(generator, filters=state["front_end.filters"].numpy()[:, 0])

    @property
    def bank_filters_(self) -> np.ndarray:
        """The front end's (unit-norm) filters, (K, k, k)."""
        return self.network_.front_end.filters.cpu().numpy()[:, 0]


@seed_alias
def fit_encoding_model(stimuli: ArrayLike, responses: ArrayLike, *, model: str = "glm", noise: str = "auto",
                       random_state: int = 0, device: str = "cpu", **params: Any) -> EncodingModel:
    """Fit an encoding model of every recorded cell.

    ``stimuli`` (n, H, W); ``responses`` (n, cells) or (repeats, n, cells); ``model`` one of
    :data:`ENCODING_MODELS` (``glm``, ``cnn``, ``efficient``); ``noise`` ``"poisson"`` (counts),
    ``"gaussian"`` (calcium or trial-averaged signals) or ``"auto"`` (Poisson when every response
    is a non-negative integer); ``params`` go to the model's class (see its docstring).  Returns
    the fitted model: ``predict(stimuli)`` -> (n, cells), ``score(stimuli, responses)`` -> the mean
    held-out correlation (a float), ``score_table(stimuli, responses)`` -> :class:`EncodingScores`.

    Parameters
    ----------
    stimuli : array_like
        Training images, shape (n, H, W).
    responses : array_like
        Their responses, shape (n, cells) or (repeats, n, cells).
    model : {"glm", "cnn", "efficient"}, default "glm"
        The registered model to fit.
    noise : {"auto", "poisson", "gaussian"}, default "auto"
        The noise model ("auto": Poisson when every response is a non-negative integer).
    random_state : int, default 0
        Seed of every random step of the fit.
    device : str, default "cpu"
        Where the model is trained ("cpu", "cuda").
    **params
        Further keyword arguments of the model's class.
    """
    cls = ENCODING_MODELS.get(model)
    try:
        estimator = cls(noise=noise, random_state=random_state, device=device, **params)
    except TypeError as exc:
        raise InputError(f"model {model!r}: {exc}") from None
    return estimator.fit(stimuli, responses)
