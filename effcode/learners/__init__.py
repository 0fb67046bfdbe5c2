"""Learners: one estimator class per method, behind the ``LEARNERS`` registry.

Every module of this package that defines a learner registers it when imported;
:func:`learn_filters` goes from an image source to a :class:`FilterBank`.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
from typing import Any, Sequence

from ..data import Image
from ..errors import InputError
from ..storage.provenance import provenance
from ..validation import check_int, seed_alias
from .base import LEARNERS, FilterBank, FilterLearner, StreamedPatchLearner
from .ica import ICA
from .isa import ISA
from .sailnet import SAILnet
from .sparse_cnn import SparseCNN
from .sparse_coding import SparseCoding

_KERNEL_MODULES = ("base", "inference", "coordinate_descent")   # no learner to register in these
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _KERNEL_MODULES):
    importlib.import_module(f"{__name__}.{_module}")


def make_learner(method: str, **params: Any) -> FilterLearner:
    """An unfitted estimator of the registered ``method``; unknown parameters raise :class:`InputError`.

    Parameters
    ----------
    method : str
        The registered learner, e.g. ``"ica"``.
    **params
        Keyword arguments of its estimator.
    """
    cls = LEARNERS.get(method)
    valid = set(cls().get_params())
    unknown = set(params) - valid
    if unknown:
        raise InputError(f"unknown parameter(s) {', '.join(sorted(unknown))} for learner {method!r}; "
                         f"valid: {', '.join(sorted(valid))}")
    return cls(**params)


def resumable(method: str) -> bool:
    """Whether ``method``'s ``fit_images`` saves checkpoints and resumes from them.

    Parameters
    ----------
    method : str
        The registered learner.
    """
    return "checkpoint" in inspect.signature(LEARNERS.get(method).fit_images).parameters


@seed_alias
def learn_filters(method: str, source: str | os.PathLike[str] | Sequence[Image] = "default", *, patch_size: int = 16,
                  n_filters: int | None = None, random_state: int = 0, device: str = "cpu",
                  n_patches: int | None = None, progress: bool = False,
                  checkpoint: str | os.PathLike[str] | None = None, **params: Any) -> FilterBank:
    """Learn a bank of filters from an image source with ``method``'s default preprocessing.

    ``source`` is anything :func:`effcode.data.load_images` takes (``"default"``, a folder, ...)
    or a list of already-loaded images.  ``params`` go to the estimator (see its docstring).
    ``checkpoint`` (a file path; learners for which :func:`resumable` is true) saves the training
    state as it goes and continues an interrupted run from it.
    Returns a :class:`FilterBank` whose config and provenance record how it was made.

    Parameters
    ----------
    method : str
        The registered learner, e.g. ``"sparse_coding"``.
    source : str, os.PathLike or sequence of Image, default "default"
        An image source :func:`effcode.data.load_images` takes, or loaded images.
    patch_size : int, default 16
        Side of the square filters, pixels.
    n_filters : int or None, default None
        Filters to learn (None: the learner's default).
    random_state : int, default 0
        Seed of every random step.
    device : str, default "cpu"
        Where the learner trains ("cpu", "cuda").
    n_patches : int or None, default None
        How many patches to train on (None: the learner's default).
    progress : bool, default False
        Whether to draw a progress bar.
    checkpoint : str or os.PathLike or None, default None
        File the training state is saved to and resumed from (None: no checkpoint).
    **params
        Further keyword arguments of the learner's estimator.
    """
    from ..data import load_images

    patch_size = check_int("patch_size", patch_size, minimum=2)
    params = dict(params, random_state=check_int("random_state", random_state, minimum=0), device=device)
    if n_filters is not None:
        params["n_components"] = check_int("n_filters", n_filters)
    learner = make_learner(method, **params)
    fit_options = {}
    if checkpoint is not None:
        if not resumable(method):
            raise InputError(f"checkpoint: learner {method!r} cannot resume from checkpoints; those that can: "
                             f"{', '.join(m for m in LEARNERS.names() if resumable(m))}")
        fit_options["checkpoint"] = checkpoint
    images = load_images(source) if isinstance(source, (str, os.PathLike)) else list(source)
    learner.fit_images(images, patch_size=patch_size, n_patches=n_patches, progress=progress, **fit_options)
    config = {"method": method, "source": str(source) if isinstance(source, (str, os.PathLike)) else "in-memory",
              "patch_size": patch_size, "n_patches": n_patches, **learner.get_params()}
    record = provenance(seed=random_state, device=device,
                        images=[im for im in images if hasattr(im, "sha256")] or None)
    return learner.filter_bank((patch_size, patch_size), method=method, config=config, provenance=record)


__all__ = ["ICA", "ISA", "LEARNERS", "FilterBank", "FilterLearner", "SAILnet", "SparseCNN", "SparseCoding",
           "StreamedPatchLearner", "learn_filters", "make_learner", "resumable"]
