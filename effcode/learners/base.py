"""The result type shared by every learner, and the estimator base class.

A :class:`FilterBank` holds what a learner produced:

* ``filters`` (K, h, w), float32, *analysis* weights: unit k's response to a patch
  x is ``sum(filters[k] * x)``;
* ``basis`` (K, h, w), float32, *synthesis* functions: the patch is approximated by
  ``sum_k a_k * basis[k]``.

For an orthogonal code the two coincide up to scale; for ICA on whitened data and
for an overcomplete sparse code they differ.  Both are stored in the pixel space of
the patches the learner was trained on: Olshausen–Field-whitened patches for sparse
coding and the sparse CNN, DC-removed luminance patches for ICA and ISA (whose own
PCA whitening is folded into the filters).

A learner whose inference needs more than its weights lists those fitted attributes in
``FilterLearner.bank_state`` (SAILnet: its thresholds, lateral weights and data scale); the
bank keeps them in ``state`` (name -> array), so that the learner can be rebuilt from the
bank and run again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..errors import InputError
from ..progress import progress_bar
from ..registry import Registry
from ..storage.atomic import read_npz, write_npz
from ..validation import check_array, check_int, check_n_features, check_tensor
from .selection import budget, description_length_score, largest_codes_approximation
from .training import IterativeLearner, data_fingerprint

#: name -> estimator class; every class accepts ``n_components``, ``random_state`` and ``device``.
LEARNERS: Registry = Registry("learner")


@dataclass
class FilterBank:
    """Filters and basis functions learned by one method, with how they were made.

    Parameters
    ----------
    filters : ndarray
        The filters (analysis weights), shape (K, h, w).
    basis : ndarray
        The basis functions (generative weights), shape (K, h, w).
    method : str
        The registered name of the learner that made them.
    config : dict, default {}
        The settings they were learned with.
    provenance : dict, default {}
        Where the data and code came from.
    history : dict, default {}
        Per-step training record, name to 1-D array.
    state : dict, default {}
        Fitted arrays the learner's inference needs besides its weights.
    """

    filters: np.ndarray
    basis: np.ndarray
    method: str
    config: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    #: per-step training record (e.g. loss, sparsity), name -> 1-D array
    history: dict = field(default_factory=dict)
    #: fitted attributes the learner's inference needs besides its weights, name -> array
    #: (:attr:`FilterLearner.bank_state`; empty for most learners)
    state: dict = field(default_factory=dict)

    def __post_init__(self):
        self.filters = np.asarray(self.filters, dtype=np.float32)
        self.basis = np.asarray(self.basis, dtype=np.float32)
        for name in ("filters", "basis"):
            arr = getattr(self, name)
            if arr.ndim != 3:
                raise InputError(f"FilterBank.{name} must have shape (K, h, w), got {arr.shape}")
        if self.filters.shape != self.basis.shape:
            raise InputError(f"FilterBank filters {self.filters.shape} and basis {self.basis.shape} differ in shape")
        self.state = {name: np.asarray(value) for name, value in self.state.items()}

    @property
    def n_filters(self) -> int:
        return self.filters.shape[0]

    @property
    def patch_shape(self) -> tuple[int, int]:
        return self.filters.shape[1:]

    def save(self, path) -> Path:
        """Write to ``.npz`` (atomically, no pickle): arrays plus JSON-encoded metadata.

        Parameters
        ----------
        path : str or os.PathLike
            The ``.npz`` file to write.
        """
        return write_npz(path, **self.to_arrays())

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The bank as plain arrays (metadata JSON-encoded in 0-d string arrays; ``history`` and ``state``
        entries prefixed ``history_`` and ``state_``)."""
        return {"filters": self.filters, "basis": self.basis, "method": np.array(self.method),
                "config": np.array(json.dumps(self.config, default=str)),
                "provenance": np.array(json.dumps(self.provenance, default=str)),
                **{f"history_{k}": np.asarray(v, dtype=np.float64) for k, v in self.history.items()},
                **{f"state_{k}": v for k, v in self.state.items()}}

    @classmethod
    def from_arrays(cls, data) -> "FilterBank":
        """The inverse of :meth:`to_arrays`; a bank saved without ``state_`` entries gets an empty state."""
        missing = {"filters", "basis", "method"} - set(data)
        if missing:
            raise InputError(f"not a FilterBank: missing {sorted(missing)}")
        return cls(filters=data["filters"], basis=data["basis"], method=str(data["method"]),
                   config=json.loads(str(data.get("config", "{}"))),
                   provenance=json.loads(str(data.get("provenance", "{}"))),
                   history={k[len("history_"):]: np.asarray(v) for k, v in data.items() if k.startswith("history_")},
                   state={k[len("state_"):]: np.asarray(v) for k, v in data.items() if k.startswith("state_")})

    @classmethod
    def load(cls, path) -> "FilterBank":
        return cls.from_arrays(read_npz(path))


class FilterLearner(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Base class of the learners: scikit-learn estimator plus the image-level entry point.

    Subclasses set, in ``fit``, ``filters_`` and ``basis_`` of shape (K, n_features)
    and ``components_`` (scikit-learn's name for the learner's main weights).
    They may record a per-step ``history_`` (name -> list of floats), which the
    :class:`FilterBank` keeps, and list in ``bank_state`` the fitted attributes that their
    inference needs besides the weights, which the bank keeps in its ``state``.

    Every learner follows scikit-learn's conventions: ``random_state`` may be None, an int, a
    ``np.random.RandomState`` or a ``np.random.Generator``; ``score(X)`` ranks models fitted with any
    hyperparameters on one footing (the description length of held-out patches at a shared sparsity
    budget, :meth:`score`),
    so model selection such as ``GridSearchCV`` needs no scorer, and ``objective_score(X)`` is the
    learner's own objective; ``get_feature_names_out()`` names the columns of ``transform``'s output
    (``"<classname><k>"``); sparse, complex and non-numeric input is refused with a one-line error.
    """

    #: fitted attributes, besides ``filters_`` and ``basis_``, that :meth:`filter_bank` stores in the bank's
    #: ``state`` so that the learner's inference can be rebuilt from the bank
    bank_state: tuple[str, ...] = ()

    @property
    def _n_features_out(self) -> int:
        """Columns of :meth:`transform`'s output: one per unit (AttributeError before ``fit``)."""
        return self.components_.shape[0]

    def _check_fitted_table(self, X, *, dtype=np.float64) -> np.ndarray:
        """X (n, d) validated for a fitted model: real, finite, with the ``n_features_in_`` columns of fit."""
        check_is_fitted(self, "components_")
        X = check_array("X", X, ndim=2, dtype=dtype)
        check_n_features("X", X, self.n_features_in_, self)
        return X

    def _score_codes(self, X) -> np.ndarray:
        """The codes (n, K) that :meth:`score` truncates: ``transform(X)`` (ISA: its linear unit outputs)."""
        return self.transform(X)

    def score(self, X, y=None, *, n_nonzero: int | None = None) -> float:
        r"""Bits per pixel saved on held-out patches by k of the K basis functions each: higher is better.

        For each patch x of X (n, d), the k = ``n_nonzero`` non-zero codes of largest contribution
        :math:`\lvert a_j \rvert \lVert b_j \rVert` (codes a from :meth:`transform`, basis functions b
        from ``basis_``, K of them) are kept and refitted by least squares, giving :math:`\hat x_k`, and

        .. math::  \mathrm{score}(X) = \tfrac12 \log_2 \frac{\sum_x \lVert x \rVert^2}
                   {\sum_x \lVert x - \hat x_k \rVert^2} - \frac1d \log_2 \binom{K}{k},

        the description length that the model "k of K basis functions plus white Gaussian noise" saves,
        per pixel, against sending X as noise of its own power; the binomial term is the cost of naming
        each patch's k basis functions (:mod:`effcode.learners.selection` gives the model and the
        derivation).  Every model gets the same k, so models fitted with different ``lam``,
        ``objective`` or ``n_components`` compare on one footing: at one size the score ranks them as
        their unexplained energy does, and a larger dictionary must explain enough more to pay for its
        longer indices.  ``n_nonzero`` None: one tenth of the patch dimension, rounded up; to choose it in
        ``GridSearchCV``, pass ``scoring=effcode.learners.selection.budget_scorer(k)``.  ICA and ISA
        approximate ``X - mean_`` with their unit outputs.  The learner's own objective is
        ``objective_score``.  ``y`` is ignored.

        Parameters
        ----------
        X : array_like
            Held-out patches, shape (n, d).
        y : None
            Ignored.
        n_nonzero : int or None, default None
            The sparsity budget k (None: one tenth of d, rounded up).
        """
        patches = self._check_fitted_table(X) - getattr(self, "mean_", 0.0)
        k = budget(patches.shape[1], n_nonzero)
        approximation = largest_codes_approximation(patches, self._score_codes(X), self.basis_, k)
        return description_length_score(patches, approximation, self.basis_.shape[0], k)

    def fit_images(self, images, *, patch_size: int = 16, n_patches: int | None = None, progress: bool = False):
        """Fit from a list of 2-D luminance images using the method's default preprocessing.

        Parameters
        ----------
        images : sequence of Image or ndarray
            The 2-D luminance images.
        patch_size : int, default 16
            Side of the square patches, pixels.
        n_patches : int or None, default None
            How many patches to train on (None: the method's default).
        progress : bool, default False
            Whether to draw a progress bar.
        """
        raise NotImplementedError

    def filter_bank(self, patch_shape, *, method: str, config: dict | None = None,
                    provenance: dict | None = None) -> FilterBank:
        """The fitted filters and basis as (K, h, w) arrays of ``patch_shape``, with the ``history_`` and
        (copies of) the ``bank_state`` attributes.

        Parameters
        ----------
        patch_shape : tuple of int
            The (h, w) of one filter.
        method : str
            The learner's registered name.
        config : dict or None, default None
            The settings to record (None: none).
        provenance : dict or None, default None
            The provenance to record (None: none).
        """
        h, w = patch_shape
        k = self.filters_.shape[0]
        history = {name: np.asarray(values, dtype=np.float64)
                   for name, values in getattr(self, "history_", {}).items()}
        return FilterBank(filters=np.asarray(self.filters_).reshape(k, h, w),
                          basis=np.asarray(self.basis_).reshape(k, h, w), method=method,
                          config=config or {}, provenance=provenance or {}, history=history,
                          state={name: np.array(getattr(self, name)) for name in self.bank_state})


class StreamedPatchLearner(IterativeLearner, FilterLearner):
    """Base of the learners trained by one :meth:`partial_fit` step per batch of whitened patches.

    :meth:`fit_images` is the template shared by :class:`~effcode.learners.sparse_coding.SparseCoding` and
    :class:`~effcode.learners.sailnet.SAILnet`: preprocessing, the seeded patch stream, and
    checkpoint/resume.  Subclasses provide ``_settings()`` (validated parameters, raising on bad
    ones before any work), ``partial_fit``, ``_training_state()`` (the tensors and numbers that
    continue training, for :class:`~effcode.storage.checkpoint.Checkpointer`) and
    ``_load_state(state, settings)`` (its inverse), ``_start(X, settings)`` (a fresh training state,
    stored in the attribute named by ``state_attribute``, whose ``settings.device`` is the device) and
    ``_update(batch)`` (one step on a tensor batch); they declare ``progress_label`` (the progress
    bar's name) and ``state_attribute``.  Parameters ``n_steps``, ``batch_size``, ``random_state``,
    ``device`` and ``progress`` are expected.
    """

    progress_label = ""
    #: the attribute that holds the training state (an object with ``settings``)
    state_attribute = "_state"

    def _check_stream_sizes(self) -> None:
        """The sizes every streamed learner has: ``n_components``, ``batch_size`` and ``n_steps``, positive
        integers (call first in ``_settings``)."""
        for name in ("n_components", "batch_size", "n_steps"):
            check_int(name, getattr(self, name))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]   # see :func:`output_dtype`
        return tags

    @property
    def fit_attributes(self) -> tuple[str, ...]:
        """What a fit sets, removed before a new :meth:`fit_images`."""
        return (self.state_attribute, "components_")

    def fit(self, X, y=None):
        """Learn from X (n, d): ``n_steps`` steps on random batches of ``batch_size`` rows (epochs of X).

        Parameters
        ----------
        X : array_like
            Patches, shape (n, d).
        y : None
            Ignored.
        """
        import torch

        settings = self._settings()
        data = check_tensor("X", X, settings.device)
        self._start(data, settings)
        n = data.shape[0]
        batch = min(self.batch_size, n)
        order = np.empty(0, dtype=np.int64)
        for _ in progress_bar(range(self.n_steps), progress=bool(self.progress), desc=self.progress_label):
            if order.size < batch:
                order = np.concatenate([order, self._rng.permutation(n)])
            index, order = order[:batch], order[batch:]
            self._update(data[torch.from_numpy(index).to(settings.device)])
        self._check_fit()
        return self

    def partial_fit(self, X, y=None):
        """One step on the batch X (n, d); the first call initialises the model.

        Parameters
        ----------
        X : array_like
            One batch of patches, shape (n, d).
        y : None
            Ignored.
        """
        state = getattr(self, self.state_attribute, None)
        if state is None:
            settings = self._settings()
            data = check_tensor("X", X, settings.device)
            self._start(data, settings)
        else:
            data = check_tensor("X", X, state.settings.device)
            check_n_features("X", data, self.n_features_in_, self)
        self._update(data)
        return self

    def fit_images(self, images, *, patch_size: int = 16, n_patches: int | None = None, progress: bool = False,
                   checkpoint=None, checkpoint_every: int = 100):
        """Fit on whitened patches streamed from ``images``.

        Olshausen-Field whitening and unit variance per image
        (:func:`effcode.data.whiten_images`), then ``n_patches`` random
        ``patch_size`` x ``patch_size`` patches (default ``n_steps * batch_size``)
        streamed by :class:`effcode.data.PatchSampler` in batches of ``batch_size``,
        one :meth:`partial_fit` step each.  Only one batch is held in memory at a time.

        With ``checkpoint`` (a file path) the state is saved there every ``checkpoint_every``
        steps (torch format, loadable with ``weights_only=True``); if the file already holds a
        checkpoint of the same configuration, training continues from it and ends with the
        result of an uninterrupted run (:class:`~effcode.learners.training.TrainingCheckpoints`).

        Parameters
        ----------
        images : sequence of Image or ndarray
            The 2-D luminance images.
        patch_size : int, default 16
            Side of the square patches, pixels.
        n_patches : int or None, default None
            How many patches to stream (None: ``n_steps * batch_size``).
        progress : bool, default False
            Whether to draw a progress bar.
        checkpoint : str or os.PathLike or None, default None
            File the state is saved to and resumed from (None: no checkpoint).
        checkpoint_every : int, default 100
            Steps between saves.
        """
        from ..data import PatchSampler, whiten_images

        settings = self._settings()
        patch_size = check_int("patch_size", patch_size, minimum=2)
        n_total = self.n_steps * self.batch_size if n_patches is None else check_int("n_patches", n_patches)
        sampler = PatchSampler(whiten_images(images), patch_size, batch_size=self.batch_size,
                               random_state=self.random_state)
        for attr in self.fit_attributes:
            if hasattr(self, attr):
                delattr(self, attr)
        n_batches = -(-n_total // self.batch_size)
        # the size of the last batch is part of the state's history: a shorter training ending in a partial
        # batch is not the first part of a longer one
        checkpoints = self._checkpoints(checkpoint, checkpoint_every, length=n_batches, patch_size=patch_size,
                                        last_batch=n_total - (n_batches - 1) * self.batch_size,
                                        images=data_fingerprint(images))
        state = checkpoints.resume()
        done = 0
        if state is not None:
            self._load_state(state, settings)
            done = state["step"]
        for step, batch in enumerate(progress_bar(sampler.batches(n_total), progress=bool(progress or self.progress),
                                                  total=n_batches, desc=self.progress_label), start=1):
            if step <= done:
                continue  # drawn and discarded, so the sampler continues exactly where it stopped
            self.partial_fit(batch)
            checkpoints.completed(step, self._training_state)
        self._check_fit()
        return self


def output_dtype(X) -> type:
    """The float dtype a learner computing in float32 returns for the input X: float64 for float64 input
    (scikit-learn's convention that a transformer preserves it), float32 otherwise."""
    return np.float64 if getattr(X, "dtype", None) == np.float64 else np.float32


def data_scale(X, learner: str) -> float:
    """Root-mean-square entry of the tensor X, computed in float64 (the unit of the learner's
    normalised patches); a one-line error naming ``learner`` when X is all zeros."""
    import torch

    scale = float(X.to(torch.float64).pow(2).mean().sqrt())
    if not scale > 0:
        raise InputError(f"X is all zeros; {learner} needs patches with non-zero variance")
    return scale
