"""Determinism, checkpoint/resume and divergence guards of the long trainings (every learner's resume
from a checkpoint, equal to an uninterrupted run, is in tests/test_resume.py)."""

import numpy as np
import pytest

from effcode import learn_filters
from effcode.errors import DivergenceError
from effcode.learners import make_learner
from effcode.storage.checkpoint import Checkpointer

SMALL = {"sparse_coding": {"n_filters": 12, "n_steps": 8, "batch_size": 64},
         "ica": {"n_filters": 8, "n_patches": 3000},
         "sailnet": {"n_filters": 12, "n_steps": 8, "batch_size": 64},
         "sparse_cnn": {"n_filters": 4, "n_steps": 4, "crop_size": 32, "batch_size": 2}}


@pytest.mark.parametrize("method", sorted(SMALL))
def test_same_seed_gives_bitwise_identical_filters(method, small_image_folder):
    params = dict(SMALL[method])
    n_patches = params.pop("n_patches", None)
    first, second = (learn_filters(method, str(small_image_folder), patch_size=8, random_state=3, n_patches=n_patches,
                                   **params) for _ in range(2))
    assert np.array_equal(first.filters, second.filters) and np.array_equal(first.basis, second.basis)
    other = learn_filters(method, str(small_image_folder), patch_size=8, random_state=4, n_patches=n_patches, **params)
    assert not np.array_equal(first.basis, other.basis)


class Interrupt(Exception):
    pass


def test_divergence_names_step_and_cause_and_keeps_the_checkpoint(small_image_folder, tmp_path):
    from effcode.data import load_images

    images = load_images(str(small_image_folder))
    path = tmp_path / "state.pt"
    model = make_learner("sparse_coding", n_components=12, n_steps=20, batch_size=64)

    def poison(step):
        if step == 6:
            model._poison = True
    model._after_step = poison
    original_update = model._update

    def update(batch):
        if getattr(model, "_poison", False):
            batch = batch * float("nan")
        return original_update(batch)
    model._update = update
    with pytest.raises(DivergenceError, match=r"update \d+.*(learning_rate|lam)"):
        model.fit_images(images, patch_size=8, checkpoint=path, checkpoint_every=5)
    assert Checkpointer(path).load()["step"] == 5


def test_an_experiment_killed_mid_training_resumes_from_its_checkpoint(small_image_folder, tmp_path, monkeypatch):
    """learned_bank (the cached learning step of every experiment) checkpoints resumable learners every
    100 steps in the run's cache: after an interruption at step 120 the re-run starts at step 101,
    ends with the uninterrupted result, and removes the checkpoint."""
    from effcode.data import load_images
    from effcode.experiments.common import BankSpec, learned_bank
    from effcode.learners.sparse_coding import SparseCoding
    from effcode.runs import Run

    images = load_images(str(small_image_folder))
    params = {"n_steps": 130, "batch_size": 16}

    def bank_in(folder):
        return learned_bank(Run(folder, {"seed": 0}),
                            BankSpec("sparse_coding", patch_size=8, n_filters=4, params=params), images)

    reference = bank_in(tmp_path / "reference" / "exp")   # its own results folder: no sharing of cached steps

    def stop_at_120(self, step):
        if step == 120:
            raise Interrupt
    monkeypatch.setattr(SparseCoding, "_after_step", stop_at_120)
    with pytest.raises(Interrupt):
        bank_in(tmp_path / "results" / "exp")
    assert len(list((tmp_path / "results" / "exp" / "cache").glob("*.checkpoint.pt"))) == 1

    steps = []
    monkeypatch.setattr(SparseCoding, "_after_step", lambda self, step: steps.append(step))
    resumed = bank_in(tmp_path / "results" / "exp")
    assert steps[0] == 101 and steps[-1] == 130
    assert np.array_equal(resumed.filters, reference.filters)
    assert not list((tmp_path / "results" / "exp" / "cache").glob("*.checkpoint.pt"))
