"""Every iterative learner resumes from its checkpoint with the result of an uninterrupted run
(issue 14 item 3), and warns when its training loss does not decrease (item 7).

The resume tests stop a training by raising from the learners' per-step hook ``_after_step``
after step 7, with a checkpoint every 5 steps, then fit a fresh estimator on the same checkpoint.
The last test kills ``effcode run 03`` with SIGKILL mid-training and reruns it.
"""

import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from effcode.errors import DivergenceError, InputError
from effcode.learners import LEARNERS, FilterLearner, learn_filters, make_learner, resumable
from effcode.storage.checkpoint import Checkpointer

STOP_AT, EVERY = 7, 5

#: tiny fits that run past step 7 (the ICA family with a tolerance it cannot reach: no early stop)
ITERATIVE = {
    "sparse_coding": ("sparse_coding", {"n_components": 12, "n_steps": 12, "batch_size": 64}, {}),
    "sparse_coding-cd": ("sparse_coding", {"n_components": 12, "n_steps": 12, "batch_size": 64, "inference": "cd"},
                         {}),
    "sailnet": ("sailnet", {"n_components": 12, "n_steps": 12, "batch_size": 64}, {}),
    "sparse_cnn": ("sparse_cnn", {"n_components": 4, "n_steps": 12, "crop_size": 32, "batch_size": 2,
                                  "kernel_size": 8}, {}),
    "isa": ("isa", {"n_components": 8, "subspace_size": 2, "max_iter": 12, "tol": 0.0}, {"n_patches": 2000}),
    "infomax": ("ica", {"algorithm": "infomax", "n_components": 8, "max_iter": 12, "tol": 1e-12,
                        "batch_size": 256}, {"n_patches": 2000}),
    "fastica": ("ica", {"n_components": 8, "max_iter": 12, "tol": 1e-12}, {"n_patches": 2000}),
}


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def images(small_image_folder):
    from effcode.data import load_images

    return load_images(str(small_image_folder))


def fit(method, params, fit_options, images, **checkpointing):
    learner = make_learner(method, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged at 12 iterations, by design
        return learner.fit_images(images, patch_size=8, **fit_options, **checkpointing)


@pytest.mark.parametrize("name", sorted(ITERATIVE))
def test_a_resumed_training_equals_an_uninterrupted_one(name, images, tmp_path, caplog):
    method, params, fit_options = ITERATIVE[name]
    reference = fit(method, params, fit_options, images)

    path = tmp_path / f"{name}.checkpoint.pt"
    interrupted = make_learner(method, **params)

    def stop(step):
        if step == STOP_AT:
            raise Interrupt
    interrupted._after_step = stop
    with pytest.raises(Interrupt), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interrupted.fit_images(images, patch_size=8, **fit_options, checkpoint=path, checkpoint_every=EVERY)
    assert Checkpointer(path).load()["step"] == EVERY

    resumed = make_learner(method, **params)
    steps = []
    resumed._after_step = steps.append
    with caplog.at_level("INFO", logger="effcode"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resumed.fit_images(images, patch_size=8, **fit_options, checkpoint=path, checkpoint_every=EVERY)
    assert steps[0] == EVERY + 1 and steps[-1] == 12     # steps 1-5 were not redone
    assert f"resuming from step {EVERY}" in caplog.text
    np.testing.assert_array_equal(resumed.components_, reference.components_)
    np.testing.assert_array_equal(resumed.basis_, reference.basis_)
    assert sorted(resumed.history_) == sorted(reference.history_)
    for key, values in reference.history_.items():
        np.testing.assert_array_equal(np.asarray(resumed.history_[key]), np.asarray(values), err_msg=key)


def test_a_checkpoint_of_another_configuration_or_data_is_refused(images, tmp_path):
    method, params, fit_options = ITERATIVE["sparse_cnn"]
    path = tmp_path / "cnn.checkpoint.pt"
    fit(method, params, fit_options, images, checkpoint=path, checkpoint_every=EVERY)
    with pytest.raises(InputError, match=f"checkpoint {path} was written by a different configuration"):
        fit(method, {**params, "lam": 1.0}, fit_options, images, checkpoint=path)
    with pytest.raises(InputError, match="different configuration or image set"):
        fit(method, params, fit_options, images[:1], checkpoint=path)
    # fit(X) of the ICA family: the data are part of the fingerprint
    X = np.random.default_rng(0).laplace(size=(500, 16))
    ica_path = tmp_path / "ica.checkpoint.pt"
    model = make_learner("ica", n_components=4, max_iter=12, tol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, checkpoint=ica_path, checkpoint_every=EVERY)
        with pytest.raises(InputError, match="different configuration"):
            make_learner("ica", n_components=4, max_iter=12, tol=1e-12).fit(X[::-1], checkpoint=ica_path)


#: the learners whose schedule depends on the step alone: a training of N steps is the first part of a longer one
LENGTH_FREE = ("sparse_coding", "sparse_cnn")


@pytest.mark.parametrize("name", LENGTH_FREE)
def test_a_shorter_trainings_final_checkpoint_continues_a_longer_one_to_the_same_result(name, images, tmp_path):
    """12 steps from the final checkpoint of a 9-step training equal 12 steps from the start, and only
    steps 10-12 are computed; a checkpoint beyond the training's length is refused."""
    method, params, fit_options = ITERATIVE[name]
    assert LEARNERS.get(method).length_free_schedule
    reference = fit(method, params, fit_options, images)
    path = tmp_path / f"{name}.checkpoint.pt"
    fit(method, {**params, "n_steps": 9}, fit_options, images, checkpoint=path, checkpoint_every=EVERY)
    assert Checkpointer(path).load()["step"] == 9     # the last step is saved, due or not

    longer = make_learner(method, **params)
    steps = []
    longer._after_step = steps.append
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        longer.fit_images(images, patch_size=8, **fit_options, checkpoint=path, checkpoint_every=EVERY)
    assert steps == [10, 11, 12]
    np.testing.assert_array_equal(longer.components_, reference.components_)
    for key, values in reference.history_.items():
        np.testing.assert_array_equal(np.asarray(longer.history_[key]), np.asarray(values), err_msg=key)
    with pytest.raises(InputError, match="holds step 12 of a longer training; expected at most the 5 steps"):
        fit(method, {**params, "n_steps": 5}, fit_options, images, checkpoint=path)


def test_a_learner_whose_schedule_depends_on_the_length_refuses_a_shorter_trainings_checkpoint(images, tmp_path):
    """SAILnet keeps the length in its checkpoints' fingerprint."""
    method, params, fit_options = ITERATIVE["sailnet"]
    path = tmp_path / "sailnet.checkpoint.pt"
    fit(method, {**params, "n_steps": 10}, fit_options, images, checkpoint=path, checkpoint_every=EVERY)
    with pytest.raises(InputError, match="different configuration"):
        fit(method, params, fit_options, images, checkpoint=path)


def test_experiment_12_continues_each_length_from_the_shorter_ones_final_state(images, tmp_path, monkeypatch):
    """learned_bank(continues=...) gives the bank of a training from the start, bit for bit, computing only
    the steps beyond the shorter length (whose final state another experiment of the folder kept)."""
    from effcode.experiments.common import BankSpec, learned_bank
    from effcode.learners.sparse_cnn import SparseCNN
    from effcode.runs import Run

    spec = BankSpec("sparse_cnn", patch_size=8, n_filters=4, seed=0,
                    params={"n_steps": 130, "crop_size": 32, "batch_size": 1})
    shorter = spec.with_params(n_steps=70)

    def bank_in(folder, spec, **options):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return learned_bank(Run(folder, {"seed": 0}), spec, images, **options)

    reference = bank_in(tmp_path / "reference" / "12", spec)
    bank_in(tmp_path / "results" / "01", shorter)     # another experiment of the folder trained the shorter one
    steps = []
    monkeypatch.setattr(SparseCNN, "_after_step", lambda self, step: steps.append(step))
    chained = bank_in(tmp_path / "results" / "12", spec, continues=shorter)
    assert steps[0] == 71 and steps[-1] == 130
    for key, value in reference.to_arrays().items():
        np.testing.assert_array_equal(chained.to_arrays()[key], value, err_msg=key)


def test_every_registered_learner_resumes_and_every_experiment_trains_resumably():
    """A new learner must checkpoint too; the experiments' banks (learned_bank) and experiment 09's ISA
    go through Run.step with resumable=True."""
    import inspect

    from effcode.experiments import e09_phase_scrambling
    from effcode.experiments.base import get_experiment

    assert all(resumable(method) for method in LEARNERS.names())
    for number in ("01", "02", "03"):
        exp = get_experiment(number)
        assert resumable(exp.bank(exp.config(quick=True), 0).method)
    assert "resumable=True" in inspect.getsource(e09_phase_scrambling.isa_model)


def test_a_learner_that_cannot_resume_is_refused_a_checkpoint(small_image_folder, tmp_path):
    class Frozen(FilterLearner):
        def __init__(self, n_components=2, random_state=0, device="cpu"):
            self.n_components, self.random_state, self.device = n_components, random_state, device

    LEARNERS.register("frozen_for_test", Frozen)
    try:
        with pytest.raises(InputError, match="checkpoint: learner 'frozen_for_test' cannot resume.*sparse_coding"):
            learn_filters("frozen_for_test", str(small_image_folder), patch_size=8, checkpoint=tmp_path / "x.pt")
    finally:
        LEARNERS.unregister("frozen_for_test")


def test_experiment_09_isa_resumes_from_its_checkpoint_in_the_run_cache(tmp_path, monkeypatch):
    from effcode.experiments.e09_phase_scrambling import isa_model
    from effcode.learners.isa import ISA
    from effcode.runs import Run

    X = np.random.default_rng(1).laplace(size=(1500, 16))
    cfg = {"isa_components": 8, "isa_subspace_size": 2, "isa_max_iter": 30, "isa_tol": 0.0, "isa_n_train": 1500}

    def model_in(folder):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return isa_model(Run(folder, {"seed": 0}), cfg, X)[0]

    reference = model_in(tmp_path / "reference" / "09")

    def stop_at_25(self, step):
        if step == 25:
            raise Interrupt
    monkeypatch.setattr(ISA, "_after_step", stop_at_25)
    with pytest.raises(Interrupt):
        model_in(tmp_path / "results" / "09")
    assert len(list((tmp_path / "results" / "09" / "cache").glob("isa-*checkpoint*"))) == 1

    steps = []
    monkeypatch.setattr(ISA, "_after_step", lambda self, step: steps.append(step))
    resumed = model_in(tmp_path / "results" / "09")
    assert steps and steps[0] == 21          # ISA checkpoints every 20 iterations
    np.testing.assert_array_equal(resumed.components_, reference.components_)
    assert not list((tmp_path / "results" / "09" / "cache").glob("isa-*checkpoint*"))


# ----------------------------------------------------------------- item 7: the loss must decrease


@pytest.fixture(scope="module")
def whitened_patches(images):
    """256 whitened 8x8 patches: one full batch, so every step sees the same data and a model
    that does not move has exactly the same loss at every step."""
    from effcode.data import sample_patches, whiten_images

    return sample_patches(whiten_images(images), 8, 256, random_state=0).astype(np.float32)


@pytest.fixture(scope="module")
def one_whitened_image(images):
    """A 48 x 48 whitened crop, the sparse CNN's one crop per step (the same at every step)."""
    from effcode.data import whiten_images

    return whiten_images(images)[0][None, :48, :48].astype(np.float32)


def loss_warnings(fit_model) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_model()
    return [str(w.message) for w in caught if "loss did not decrease" in str(w.message)]


#: (method, fixed parameters, the step-size parameter, a working value, data fixture)
STEP_SIZES = [
    ("sparse_coding", {"n_components": 16, "n_steps": 60, "batch_size": 256, "resample_after": None},
     "learning_rate", 0.5, "whitened_patches"),
    ("sailnet", {"n_components": 16, "n_steps": 60, "batch_size": 256}, "beta", 0.1, "whitened_patches"),
    ("sparse_cnn", {"n_components": 4, "n_steps": 60, "crop_size": 48, "batch_size": 1, "kernel_size": 8},
     "learning_rate", 0.01, "one_whitened_image"),
    ("ica", {"algorithm": "infomax", "n_components": 16, "max_iter": 60, "tol": 1e-30, "batch_size": 256},
     "learning_rate", 0.1, "whitened_patches"),
]


@pytest.mark.parametrize("method, params, parameter, working, data", STEP_SIZES,
                         ids=[case[0] + ("-infomax" if case[0] == "ica" else "") for case in STEP_SIZES])
def test_a_loss_that_does_not_decrease_warns_naming_the_step_size(method, params, parameter, working, data,
                                                                  request):
    """Known answer: with a step size of 1e-9 the weights stay where they started, so on a fixed batch the
    loss is the same at every step; the warning names the parameter.  A working step size: no warning."""
    X = request.getfixturevalue(data)
    frozen = loss_warnings(lambda: make_learner(method, **params, **{parameter: 1e-9}).fit(X))
    assert len(frozen) == 1 and f"{parameter}=1e-09" in frozen[0]
    assert loss_warnings(lambda: make_learner(method, **params, **{parameter: working}).fit(X)) == []


@pytest.mark.parametrize("method, params, parameter", [
    ("sailnet", {"n_components": 16, "n_steps": 60, "batch_size": 256}, "beta"),
    ("ica", {"algorithm": "infomax", "n_components": 16, "max_iter": 60, "tol": 1e-30, "batch_size": 256},
     "learning_rate"),
])
def test_an_absurdly_large_step_size_is_named_in_the_divergence_error(method, params, parameter, whitened_patches):
    """Where the weights are not renormalised, a step size far too large makes them blow up: the
    one-line error names the parameter to lower."""
    with pytest.raises(DivergenceError, match=parameter):
        make_learner(method, **params, **{parameter: 50.0}).fit(whitened_patches)


@pytest.mark.parametrize("method, params", [
    ("sparse_coding", {"n_components": 16, "n_steps": 60, "batch_size": 256, "resample_after": None}),
    ("sparse_cnn", {"n_components": 4, "n_steps": 60, "crop_size": 48, "batch_size": 1, "kernel_size": 8}),
])
def test_an_absurdly_large_step_size_still_lowers_a_renormalised_learners_loss(method, params, request):
    """Sparse coding and the sparse CNN renormalise every atom after each step, so even a step size of 1e6
    cannot make the loss grow: it falls (less far) and no loss warning is due."""
    data = "one_whitened_image" if method == "sparse_cnn" else "whitened_patches"
    X = request.getfixturevalue(data)
    model = make_learner(method, **params, learning_rate=1e6)
    assert loss_warnings(lambda: model.fit(X)) == []
    loss = np.asarray(model.history_["loss"])
    assert loss[-6:].mean() < loss[:6].mean()


def test_all_zero_codes_of_the_sparse_cnn_warn_naming_lam(one_whitened_image):
    with pytest.warns(RuntimeWarning, match=r"every code was zero.*lam=1000"):
        make_learner("sparse_cnn", n_components=4, n_steps=3, crop_size=48, batch_size=1, kernel_size=8,
                     lam=1000.0).fit(one_whitened_image)


# ----------------------------------------------------------------- a real kill of `effcode run 03`

#: experiment 03 at a size that trains for several seconds on one thread, checkpointing every 100 steps
RUN_03_SETTINGS = ["n_filters=4", "patch_size=8", "n_steps=120", "n_seeds=1", "example_size=64"]


def run_03(results, source, **popen):
    command = [sys.executable, "-m", "effcode", "run", "03", "--quick", "--no-figures", "--results", str(results),
               "--set", f"source={source}", *[arg for setting in RUN_03_SETTINGS for arg in ("--set", setting)]]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


@pytest.fixture(scope="module")
def e03_images(tmp_path_factory):
    """Two 128x128 photographs (the CNN's 64-pixel crops need at least 64 pixels a side)."""
    from skimage import data, io

    folder = tmp_path_factory.mktemp("e03_images")
    io.imsave(folder / "camera.png", data.camera()[100:228, 100:228], check_contrast=False)
    io.imsave(folder / "coins.png", data.coins()[50:178, 50:178], check_contrast=False)
    return folder


def final_checkpoints(cache):
    """Checkpoints under their final names: an atomic write's temporary (``.NAME.XXXX.tmp``) also contains
    "checkpoint" and exists before the rename, so a test that waited for it could kill the run first."""
    return [p for p in cache.glob("*checkpoint*") if not p.name.startswith(".")]


def test_effcode_run_03_killed_mid_training_resumes_to_the_uninterrupted_result(e03_images, tmp_path):
    from effcode.learners import FilterBank

    results = tmp_path / "killed"
    cache = results / "03_sparse_cnn" / "cache"
    first = run_03(results, e03_images)
    deadline = time.monotonic() + 300
    while not final_checkpoints(cache):
        assert first.poll() is None, f"run 03 ended before its first checkpoint: {first.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL
    checkpoints = final_checkpoints(cache)
    step = Checkpointer(checkpoints[0]).load()["step"]   # 100, or a later one if the kill came late: no race
    assert len(checkpoints) == 1 and step > 0 and step % 100 == 0

    rerun = run_03(results, e03_images)
    _, log = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, log[-2000:]
    assert f"SparseCNN: resuming from step {step}" in log
    assert not final_checkpoints(cache)   # removed once the bank was written

    uninterrupted = run_03(tmp_path / "uninterrupted", e03_images)
    _, log = uninterrupted.communicate(timeout=600)
    assert uninterrupted.returncode == 0, log[-2000:]
    assert "resuming" not in log
    resumed_bank = FilterBank.load(results / "03_sparse_cnn" / "filter_bank.npz")
    reference_bank = FilterBank.load(tmp_path / "uninterrupted" / "03_sparse_cnn" / "filter_bank.npz")
    np.testing.assert_array_equal(resumed_bank.filters, reference_bank.filters)
    np.testing.assert_array_equal(resumed_bank.basis, reference_bank.basis)
    np.testing.assert_array_equal(resumed_bank.history["loss"], reference_bank.history["loss"])
