"""Determinism, checkpoint/resume and divergence guards of the long trainings."""

import numpy as np
import pytest
import torch

from effcode import learn_filters
from effcode.errors import DivergenceError
from effcode.learners import make_learner

SMALL = {"sparse_coding": {"n_filters": 12, "n_steps": 8, "batch_size": 64},
         "ica": {"n_filters": 8, "n_patches": 3000},
         "sailnet": {"n_filters": 12, "n_steps": 8, "batch_size": 64},
         "sparse_cnn": {"n_filters": 4, "n_steps": 4, "crop_size": 32, "batch_size": 2}}


@pytest.mark.parametrize("method", sorted(SMALL))
def test_same_seed_gives_bitwise_identical_filters(method, small_image_folder):
    params = dict(SMALL[method])
    n_patches = params.pop("n_patches", None)
    first, second = (learn_filters(method, str(small_image_folder), patch_size=8, seed=3, n_patches=n_patches,
                                   **params) for _ in range(2))
    assert np.array_equal(first.filters, second.filters) and np.array_equal(first.basis, second.basis)
    other = learn_filters(method, str(small_image_folder), patch_size=8, seed=4, n_patches=n_patches, **params)
    assert not np.array_equal(first.basis, other.basis)


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("method, params", [
    ("sparse_coding", {"n_components": 12, "n_steps": 12, "batch_size": 64}),
    ("sailnet", {"n_components": 12, "n_steps": 12, "batch_size": 64}),
    ("sparse_cnn", {"n_components": 4, "n_steps": 12, "crop_size": 32, "batch_size": 2, "kernel_size": 8}),
])
def test_resume_from_checkpoint_matches_an_uninterrupted_run(method, params, small_image_folder, tmp_path):
    """Training stops at step 7 (``_after_step`` is the learners' per-step test hook); the checkpoint of
    step 5 is reloaded with weights_only=True and training continues to the uninterrupted result."""
    from effcode.data import load_images

    images = load_images(str(small_image_folder))
    reference = make_learner(method, **params).fit_images(images, patch_size=8)

    path = tmp_path / "state.pt"
    interrupted = make_learner(method, **params)

    def stop_after_seven(step):
        if step == 7:
            raise Interrupt
    interrupted._after_step = stop_after_seven
    with pytest.raises(Interrupt):
        interrupted.fit_images(images, patch_size=8, checkpoint=path, checkpoint_every=5)
    state = torch.load(path, weights_only=True)
    assert state["step"] == 5
    resumed = make_learner(method, **params).fit_images(images, patch_size=8, checkpoint=path, checkpoint_every=5)
    assert np.array_equal(resumed.components_, reference.components_)
    for key, values in reference.history_.items():
        assert np.array_equal(np.asarray(resumed.history_[key]), np.asarray(values)), key


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
    assert torch.load(path, weights_only=True)["step"] == 5


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


def test_checkpoint_refused_for_a_learner_that_cannot_resume(small_image_folder, tmp_path):
    from effcode.errors import InputError

    with pytest.raises(InputError, match="checkpoint: learner 'ica' cannot resume.*sparse_coding"):
        learn_filters("ica", str(small_image_folder), patch_size=8, n_filters=4, checkpoint=tmp_path / "x.pt")
