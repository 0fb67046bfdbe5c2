"""The phase-manipulation test of the energy-model mechanism, for any population model.

A model is anything that maps images (n, H, W) to responses (n, cells): a fitted
:class:`~.population.EncodingModel` (its ``predict``), or a function.  For every cell,
:func:`phase_invariance` measures the preferred orientation with gratings
(:func:`~.stimuli.preferred_grating`), shifts the local phase of every stimulus along it by a
random angle (:func:`~.stimuli.local_phase_shift`; amplitude spectrum and local envelopes kept),
scrambles all phases (:func:`~.stimuli.phase_scramble`), and reports the invariance index, the
Pearson correlation between the cell's responses to the original and to the manipulated
stimuli.  An energy model's index under the local shift is 1 (see docs/mechanisms.md).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ..validation import check_array, check_int, check_random_state, seed_alias
from .stimuli import local_phase_shift, phase_scramble, preferred_grating

MANIPULATIONS = ("local phase shift", "global phase scramble")

DEFAULT_FREQS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)


def _responder(model):
    respond = model.predict if hasattr(model, "predict") else model
    if not callable(respond):
        raise InputError(f"model must be a fitted encoding model or a function of images, got {type(model).__name__}")

    def checked(images):
        out = np.asarray(respond(images), dtype=np.float64)
        return out[:, None] if out.ndim == 1 else out
    return checked


def invariance_index(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Per column: the Pearson correlation of ``before`` and ``after`` (n, cells); NaN where either is constant.

    Parameters
    ----------
    before : ndarray
        Responses to the original stimuli, shape (n, cells).
    after : ndarray
        Responses to the manipulated stimuli, shape (n, cells).
    """
    a, b = before - before.mean(axis=0), after - after.mean(axis=0)
    denominator = np.sqrt(np.sum(a ** 2, axis=0) * np.sum(b ** 2, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, np.sum(a * b, axis=0) / denominator, np.nan)


@seed_alias
def phase_invariance(model: Any, stimuli: ArrayLike, *, random_state: int | np.random.Generator = 0,
                     freqs: Sequence[float] = DEFAULT_FREQS, n_orientations: int = 36, contrast: float | None = None,
                     angle: float | None = None, keep_responses: bool = False) -> dict[str, np.ndarray]:
    """Invariance indices of every cell of ``model`` under both phase manipulations of ``stimuli``.

    ``stimuli`` (n, p, p) square images; gratings have ``contrast`` (default: the stimuli's RMS
    contrast times sqrt 2, so their variance matches) and frequencies ``freqs`` (cycles/pixel).
    ``angle`` (radians) fixes the local shift for every stimulus; by default each stimulus gets
    its own uniform random angle.  Returns ``theta`` (cells,) the preferred orientation (radians),
    and per manipulation an index array (cells,); with ``keep_responses`` also the responses
    ``original``, ``local`` and ``scrambled`` (n, cells).

    Parameters
    ----------
    model : object or callable
        A fitted encoding model (its ``predict`` is used) or a function of images.
    stimuli : array_like
        Square images, shape (n, p, p).
    random_state : int or numpy.random.Generator, default 0
        Seed of the random local-shift angles and of the phase scramble.
    freqs : sequence of float, default DEFAULT_FREQS
        Grating frequencies searched for each cell's preferred orientation, cycles per pixel.
    n_orientations : int, default 36
        How many equally spaced grating orientations in [0, pi), at least 2.
    contrast : float or None, default None
        Grating amplitude (None: sqrt(2) times the stimuli's RMS, so the gratings' variance
        matches the stimuli's).
    angle : float or None, default None
        The local phase shift for every stimulus, radians (None: a random angle each).
    keep_responses : bool, default False
        Whether to return the responses as well.
    """
    stimuli = check_array("stimuli", stimuli, ndim=3)
    if stimuli.shape[1] != stimuli.shape[2]:
        raise InputError(f"stimuli must be square images for the grating test, got shape {stimuli.shape}")
    check_int("n_orientations", n_orientations, minimum=2)
    respond = _responder(model)
    p = stimuli.shape[1]
    contrast = float(np.sqrt(2.0) * stimuli.std()) if contrast is None else contrast
    theta = preferred_grating(lambda g: respond(g.reshape(-1, p, p)), p, freqs=freqs, n_orientations=n_orientations,
                              contrast=contrast)["theta"]
    rng = check_random_state(random_state)
    angles = rng.uniform(0, 2 * np.pi, len(stimuli)) if angle is None else np.full(len(stimuli), float(angle))
    before = respond(stimuli)
    local = np.empty_like(before)
    for t in np.unique(theta):   # one manipulation per distinct preferred orientation
        cells = theta == t
        local[:, cells] = respond(local_phase_shift(stimuli, angles, float(t)))[:, cells]
    scrambled = respond(phase_scramble(stimuli, random_state=rng))
    out = {"theta": theta, "local phase shift": invariance_index(before, local),
           "global phase scramble": invariance_index(before, scrambled)}
    if keep_responses:
        out.update(original=before, local=local, scrambled=scrambled)
    return out
