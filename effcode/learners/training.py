"""What every iterative learner shares: checkpoint/resume of its training loop and the end-of-fit checks.

A training loop is a sequence of numbered steps (a dictionary update, a plasticity step, an
optimiser step, an ICA iteration or epoch).  :class:`TrainingCheckpoints` saves the learner's state
every ``checkpoint_every`` steps and, when the file already holds the state of the same configuration
and data, hands it back so the loop continues from there.  The learner's numpy ``_rng`` travels in
the checkpoint, so a resumed training draws the same random numbers as an uninterrupted one and ends
with the same result, bit for bit.

A learner whose schedule depends on the step alone, not on the training length (``length_free_schedule``:
sparse coding and the sparse CNN), passes through the same states in a training of N steps and in the
first N steps of a longer one.  Its checkpoints leave the length out of their fingerprint, so the final
state of a shorter training continues a longer one (experiment 12 trains its lengths as one chain that
way); a checkpoint holding more steps than the training is refused.

:class:`IterativeLearner` is the mixin the learners inherit: it opens the checkpoints of a fit
(fingerprint of the parameters and data), holds the per-step test hook ``_after_step``, and, at the
end of a fit, warns when every code was zero or when the training loss did not decrease, naming the
parameter to change.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from typing import Any, Callable

import numpy as np

from ..errors import InputError
from ..storage.checkpoint import Checkpointer
from ..validation import is_integer

log = logging.getLogger(__name__)

#: the loss check compares the mean loss of the first and of the last tenth of the training
LOSS_WINDOW_FRACTION = 0.1
#: ... and counts it as decreasing when the last tenth is lower by at least this fraction of the first
#: (a frozen model's loss, equal up to rounding, is flat)
MIN_RELATIVE_DECREASE = 1e-3
#: fewer recorded steps than this are too few to call a loss flat
MIN_STEPS_FOR_LOSS_CHECK = 50


def data_fingerprint(images) -> list[str]:
    """The SHA-256 of each image (an :class:`~effcode.data.Image`'s own hash, or the bytes of an array)."""
    digests = []
    for image in images:
        digest = getattr(image, "sha256", None)
        if digest is None:
            array = np.ascontiguousarray(np.asarray(image))
            digest = hashlib.sha256(array.tobytes() + str((array.dtype.str, array.shape)).encode()).hexdigest()
        digests.append(digest)
    return digests


class TrainingCheckpoints:
    """The checkpoints of one training run: saved every ``every`` steps to ``path``, resumed from there.

    ``fingerprint`` names what the result depends on (parameters, data); a checkpoint written under
    another fingerprint is refused with a one-line error.  ``path=None`` disables checkpointing:
    :meth:`resume` then returns None and :meth:`completed` only calls the learner's test hook.
    """

    def __init__(self, learner, path, every: int, fingerprint: str, length: int | None = None):
        self.learner = learner
        self.checkpointer = Checkpointer(path, every)
        self.fingerprint = fingerprint
        self.length = length

    @property
    def path(self):
        return self.checkpointer.path

    def resume(self) -> dict | None:
        """The saved state to continue from (the learner's ``_rng`` restored with it), or None to start afresh.

        Read once: later calls return the same state, so a learner and the loop it runs may both ask."""
        if not hasattr(self, "_resumed"):
            self._resumed = self._load()
        return self._resumed

    def _load(self) -> dict | None:
        state = self.checkpointer.load()
        if state is None:
            return None
        if state.get("fingerprint") != self.fingerprint:
            raise InputError(f"checkpoint {self.path} was written by a different configuration or image set; "
                             "delete it or give another checkpoint path")
        if self.length is not None and state["step"] > self.length:
            raise InputError(f"checkpoint {self.path} holds step {state['step']} of a longer training; expected at "
                             f"most the {self.length} steps of this one: delete it or give another checkpoint path")
        if state.get("rng") is not None:
            self.learner._rng = np.random.default_rng()
            self.learner._rng.bit_generator.state = state["rng"]
        log.info("%s: resuming from step %d of checkpoint %s", type(self.learner).__name__, state["step"], self.path)
        return state

    def completed(self, step: int, training_state: Callable[[], dict]) -> None:
        """Step ``step`` (counted from 1) is done: save ``training_state()`` when a checkpoint is due or the
        step is the training's last (of a length-free schedule: that final state continues a longer training),
        then call the learner's ``_after_step`` hook."""
        last = self.learner.length_free_schedule and step == self.length
        if self.checkpointer.due(step) or (last and self.checkpointer.path is not None):
            rng = getattr(self.learner, "_rng", None)
            self.checkpointer.save({"step": step, "fingerprint": self.fingerprint,
                                    "rng": None if rng is None else rng.bit_generator.state, **training_state()})
        self.learner._after_step(step)


class IterativeLearner:
    """Mixin of the learners trained step by step: checkpoints, the per-step hook and the end-of-fit checks.

    Subclasses may override :meth:`_silencing_parameter` (the parameter to lower when every code is
    zero), :meth:`_step_size_parameter` (the one to lower when the loss does not decrease; None when
    the learner picks its own steps) and :meth:`_loss_history` (the per-step loss, lower is better).
    """

    #: whether the training schedule depends on the step alone, so that a training of N steps is the first
    #: part of any longer one and its checkpoints continue a longer training (module docstring)
    length_free_schedule = False
    #: the parameters that set the training length alone (left out of a length-free fingerprint)
    length_params: tuple[str, ...] = ("n_steps",)

    #: set by the estimator classes the mixin is combined with (scikit-learn's BaseEstimator)
    random_state: object
    learning_rate: Any
    get_params: Callable[..., dict]

    def _checkpoints(self, checkpoint, checkpoint_every: int, *, length: int | None = None,
                     **data) -> TrainingCheckpoints:
        """The checkpoints of a fit of ``length`` steps on ``data`` (named descriptions of the training data,
        e.g. image hashes).  With :attr:`length_free_schedule` the length (``length`` and the parameters of
        :attr:`length_params`) is left out of the fingerprint and a checkpoint beyond ``length`` is refused.

        Resuming replays the random draws from the parameters, so a checkpointed fit needs an integer
        ``random_state`` (None or a generator object could not be replayed): one-line error otherwise."""
        if checkpoint is not None and not is_integer(self.random_state):
            raise InputError(f"checkpoint: resuming a {type(self).__name__} fit needs an integer random_state, got "
                             f"{type(self.random_state).__name__}; give random_state=<int> or no checkpoint")
        left_out = {"progress", *self.length_params} if self.length_free_schedule else {"progress"}
        params = {key: value for key, value in self.get_params().items() if key not in left_out}
        if length is not None and not self.length_free_schedule:
            data = {**data, "length": length}
        fingerprint = repr(sorted({**params, **data}.items()))
        return TrainingCheckpoints(self, checkpoint, checkpoint_every, fingerprint, length=length)

    def _after_step(self, step: int) -> None:
        """Called after each training step (tests use it to simulate an interruption)."""

    def _check_fit(self) -> None:
        """Warn about a fit that learned nothing: codes all zero in the last step (history ``sparsity`` or
        ``active_fraction``), or a loss whose mean over the last tenth of the steps is not below its
        mean over the first tenth by at least :data:`MIN_RELATIVE_DECREASE` of it (checked from
        :data:`MIN_STEPS_FOR_LOSS_CHECK` steps on)."""
        history = getattr(self, "history_", {})
        active = history.get("sparsity", history.get("active_fraction", []))
        if len(active) and active[-1] == 0:
            warnings.warn(f"{type(self).__name__}: every code was zero in the last training step, so the "
                          f"filters learned nothing from it; {self._silencing_parameter()} is too large for this "
                          "data: lower it", RuntimeWarning, stacklevel=3)
        loss = np.asarray(self._loss_history(), dtype=np.float64)
        parameter = self._step_size_parameter()
        if parameter is None or loss.size < MIN_STEPS_FOR_LOSS_CHECK:
            return
        window = max(1, int(loss.size * LOSS_WINDOW_FRACTION))
        first, last = loss[:window].mean(), loss[-window:].mean()
        if not last < first - MIN_RELATIVE_DECREASE * abs(first):
            warnings.warn(f"{type(self).__name__}: the training loss did not decrease (mean {first:.4g} over the "
                          f"first {window} steps, {last:.4g} over the last {window}); change {parameter}: too "
                          "large a step overshoots (lower it), too small a step leaves the weights where they "
                          "started (raise it)", RuntimeWarning, stacklevel=3)

    def _silencing_parameter(self) -> str:
        """The parameter to lower when every code is zero (named in :meth:`_check_fit`'s warning)."""
        return "the sparsity weight"

    def _step_size_parameter(self) -> str | None:
        """The step-size parameter to lower when the loss does not decrease (None: no such check)."""
        return f"learning_rate={self.learning_rate}"

    def _loss_history(self):
        """The per-step training loss (lower is better) that :meth:`_check_fit` checks."""
        return getattr(self, "history_", {}).get("loss", [])
