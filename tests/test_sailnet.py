"""SAILnet: LIF dynamics and plasticity against hand computations, recovery of planted components,
firing-rate homeostasis, checkpoints, determinism, registry and errors."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone

from effcode.errors import DivergenceError, InputError
from effcode.learners import LEARNERS, FilterBank, learn_filters, make_learner, resumable
from effcode.learners.sailnet import SAILnet
from effcode.storage.checkpoint import Checkpointer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def planted_data(d=64, k=16, n=20000, *, active=2, noise=0.05, seed=0):
    """X (n, d) = S @ components + noise: ``active`` of the k orthonormal components per row, with
    non-negative amplitudes in [1, 2] (spike counts are non-negative, so each unit codes one sign)."""
    rng = np.random.default_rng(seed)
    components = np.linalg.qr(rng.standard_normal((d, k)))[0].T
    S = np.zeros((n, k))
    for row in S:
        row[rng.choice(k, active, replace=False)] = rng.uniform(1.0, 2.0, active)
    return S @ components + noise * rng.standard_normal((n, d)), components


def best_cosines(weights, components):
    """For each true component, the largest |cosine| with any row of ``weights``."""
    cos = np.abs(weights @ components.T) / np.outer(np.linalg.norm(weights, axis=1),
                                                    np.linalg.norm(components, axis=1))
    return cos.max(axis=0)


def natural_images():
    from skimage import data

    return [data.camera()[200:296, 200:296].astype(float), data.grass()[100:196, 100:196].astype(float)]


def reference_counts(X, Q, W, theta, eta, n_timesteps):
    """The module docstring's discrete LIF dynamics, one patch and one unit at a time, in float64."""
    X, Q, W, theta = (np.asarray(a, dtype=np.float64) for a in (X, Q, W, theta))
    counts = np.zeros((len(X), len(Q)))
    for b, x in enumerate(X):
        drive = Q @ x
        u = np.zeros(len(Q))
        spikes = np.zeros(len(Q))
        for _ in range(n_timesteps):
            u = (1 - eta) * u + eta * (drive - W @ spikes)
            spikes = (u >= theta).astype(float)
            counts[b] += spikes
            u[spikes == 1] = 0.0
    return counts


# ------------------------------------------------------------------ dynamics and plasticity


def test_a_lone_unit_fires_at_the_lif_rate():
    """Constant drive b > θ, no inhibition: u climbs as b (1 - (1-η)^t) and resets at θ, so the unit spikes
    every ceil(log(1 - θ/b) / log(1 - η)) steps; below threshold it never spikes."""
    model = SAILnet(2, n_timesteps=50, normalize="global").partial_fit(np.ones((4, 1)))
    net = model._network
    net.Q = torch.tensor([[3.0], [1.5]])
    net.theta = torch.tensor([2.0, 2.0])
    counts = net.spike_counts(torch.ones(1, 1)).numpy()[0]
    period = int(np.ceil(np.log(1 - 2.0 / 3.0) / np.log(1 - 0.1)))
    assert counts[0] == 50 // period and counts[1] == 0


def test_spike_counts_match_a_reference_simulation():
    rng = np.random.default_rng(0)
    model = SAILnet(12, normalize="global").partial_fit(rng.standard_normal((20, 9)))
    net = model._network
    net.Q = torch.tensor(rng.standard_normal((12, 9)) * 2, dtype=torch.float32)
    W = rng.uniform(0, 1.5, (12, 12))
    np.fill_diagonal(W, 0)
    net.W = torch.tensor(W, dtype=torch.float32)
    net.theta = torch.tensor(rng.uniform(0.5, 2.0, 12), dtype=torch.float32)
    X = rng.standard_normal((30, 9)).astype(np.float32)
    expected = reference_counts(X / model.scale_, net.Q, net.W, net.theta, eta=0.1, n_timesteps=50)
    counts = model.transform(X)
    assert counts.dtype == np.float32 and counts.shape == (30, 12)
    assert np.mean(counts == expected) > 0.99  # float32 vs float64 may flip a spike exactly at threshold
    assert counts.sum() > 0 and (counts == 0).any()
    # inhibition only removes spikes
    net.W.zero_()
    assert (model.transform(X) >= counts).all()


def test_compiled_simulation_equals_the_dense_one():
    """The CPU's compiled simulation (inhibition summed over the units that fired) gives the dense
    torch simulation's counts exactly, with many units firing per step and strong inhibition."""
    rng = np.random.default_rng(3)
    model = SAILnet(48, normalize="patch").partial_fit(rng.standard_normal((20, 25)))
    net = model._network
    W = rng.uniform(0, 0.8, (48, 48))
    np.fill_diagonal(W, 0)
    net.W = torch.tensor(W, dtype=torch.float32)
    net.theta = torch.tensor(rng.uniform(0.3, 2.0, 48), dtype=torch.float32)
    X = model._prepare(torch.tensor(rng.standard_normal((200, 25)), dtype=torch.float32))
    compiled, dense = net.spike_counts(X), net.dense_spike_counts(X)
    assert compiled.sum() > 2000 and (compiled == 0).any()   # busy: several spikes per patch and step
    assert torch.equal(compiled, dense)


def test_training_with_the_compiled_simulation_equals_dense_training(monkeypatch):
    X, _ = planted_data(d=36, k=12, n=3000, seed=4)
    compiled = SAILnet(24, p=0.1, batch_size=50, n_steps=40, random_state=1).fit(X)
    monkeypatch.setattr("effcode.learners.sailnet._Network.spike_counts",
                        lambda net, batch: net.dense_spike_counts(batch))
    dense = SAILnet(24, p=0.1, batch_size=50, n_steps=40, random_state=1).fit(X)
    assert np.array_equal(compiled.components_, dense.components_)
    assert np.array_equal(compiled.lateral_, dense.lateral_)
    assert compiled.history_["sparsity"] == dense.history_["sparsity"]


def test_one_step_applies_the_three_local_rules():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((64, 16))
    model = SAILnet(10, p=0.1, alpha=0.7, beta=0.02, gamma=0.3, normalize="patch").partial_fit(X[:32])
    net = model._network
    W0 = rng.uniform(0, 0.2, (10, 10))
    np.fill_diagonal(W0, 0)
    net.W = torch.tensor(W0, dtype=torch.float32)
    Q0, theta0 = model.components_.astype(np.float64), model.thresholds_.astype(np.float64)
    batch = X[32:]
    n = model.transform(batch).astype(np.float64)  # counts of the network before the update
    assert n.sum() > 0
    x = batch - batch.mean(1, keepdims=True)
    x /= x.std(1, keepdims=True)
    model.partial_fit(batch)
    W = np.clip(W0 + 0.7 * (n.T @ n / 32 - 0.1 ** 2), 0, None)
    np.fill_diagonal(W, 0)
    Q = Q0 + 0.02 * (n.T @ x / 32 - np.mean(n ** 2, 0)[:, None] * Q0)
    theta = theta0 + 0.3 * (n.mean(0) - 0.1)
    np.testing.assert_allclose(model.lateral_, W, atol=1e-5)
    np.testing.assert_allclose(model.components_, Q, atol=1e-5)
    np.testing.assert_allclose(model.thresholds_, theta, atol=1e-5)
    assert (model.lateral_ >= 0).all() and np.all(np.diag(model.lateral_) == 0)
    assert model.history_["firing_rate"][-1] == pytest.approx(n.mean(), rel=1e-5)
    assert model.history_["sparsity"][-1] == pytest.approx(np.mean(n > 0), rel=1e-5)


# ------------------------------------------------------------------ learning


@pytest.mark.parametrize("normalize", ["patch", "global"])
def test_recovers_planted_sparse_components(normalize):
    """Known answer: 16 orthonormal components in 64 dimensions, 2 active per sample; a 32-unit network
    ends with a unit within |cos| >= 0.9 of at least 12 of them, which a random dictionary never has."""
    X, components = planted_data()
    model = SAILnet(32, n_steps=600, batch_size=100, normalize=normalize).fit(X)
    found = best_cosines(model.components_, components)
    assert np.sum(found >= 0.9) >= 12
    assert np.median(found) >= 0.9
    random_rows = np.random.default_rng(3).standard_normal((32, 64))
    assert np.sum(best_cosines(random_rows, components) >= 0.9) == 0
    # the linear generative model: counts decoded through Q explain most of the planted signal
    history = model.history_
    assert np.mean(history["reconstruction_error"][-20:]) < 0.5 < history["reconstruction_error"][0]


@pytest.mark.parametrize("p", [0.05, 0.1])
def test_firing_rates_converge_to_the_target(p):
    """Homeostatic thresholds: after training on natural patches, held-out patches make the units fire
    p spikes per patch on average (within 20%), and at least 80% of units individually within 40% of p."""
    from effcode.data import PatchSampler, whiten_images

    images = natural_images()
    model = SAILnet(32, p=p, gamma=0.5, n_steps=1500).fit_images(images, patch_size=8)
    held_out = PatchSampler(whiten_images(images), 8, random_state=123).sample(5000)
    rates = model.transform(held_out).mean(axis=0)
    assert rates.mean() == pytest.approx(p, rel=0.2)
    assert np.mean(np.abs(rates / p - 1) < 0.4) >= 0.8
    assert np.mean(model.history_["firing_rate"][-100:]) == pytest.approx(p, rel=0.2)
    # lateral weights stay inhibitory, thresholds positive
    assert (model.lateral_ >= 0).all() and np.all(np.diag(model.lateral_) == 0) and model.lateral_.max() > 0
    assert (model.thresholds_ > 0).all()


def test_fit_images_gives_a_filter_bank_with_history():
    model = SAILnet(20, n_steps=5, batch_size=64).fit_images(natural_images(), patch_size=8)
    bank = model.filter_bank((8, 8), method="sailnet")
    assert bank.filters.shape == (20, 8, 8) and bank.filters.dtype == np.float32
    np.testing.assert_array_equal(bank.basis.reshape(20, 64), model.basis_)
    assert set(bank.history) == {"firing_rate", "sparsity", "reconstruction_error", "decoder_gain", "threshold",
                                 "lateral", "weight_change"}
    assert all(len(v) == 5 for v in bank.history.values())
    assert model.n_steps_ == 5 and model.lateral_.shape == (20, 20) and model.thresholds_.shape == (20,)


class Interrupt(Exception):
    pass


def test_resume_from_checkpoint_equals_an_uninterrupted_run(tmp_path):
    images = natural_images()
    params = dict(n_components=16, n_steps=12, batch_size=64)
    reference = SAILnet(**params).fit_images(images, patch_size=8)

    path = tmp_path / "sail.pt"
    interrupted = SAILnet(**params)

    def stop_after_seven(step):
        if step == 7:
            raise Interrupt
    interrupted._after_step = stop_after_seven
    with pytest.raises(Interrupt):
        interrupted.fit_images(images, patch_size=8, checkpoint=path, checkpoint_every=5)
    assert Checkpointer(path).load()["step"] == 5
    steps = []
    resumed = SAILnet(**params)
    resumed._after_step = steps.append
    resumed.fit_images(images, patch_size=8, checkpoint=path, checkpoint_every=5)
    assert steps[0] == 6 and steps[-1] == 12
    for name in ("components_", "lateral_", "thresholds_"):
        assert np.array_equal(getattr(resumed, name), getattr(reference, name)), name
    for key, values in reference.history_.items():
        assert resumed.history_[key] == values, key
    with pytest.raises(InputError, match="different configuration"):
        SAILnet(**{**params, "p": 0.1}).fit_images(images, patch_size=8, checkpoint=path)


def test_same_seed_same_result_bitwise():
    X, _ = planted_data(16, 6, 2000, seed=4)
    first, again, other = (SAILnet(12, n_steps=20, batch_size=100, random_state=seed).fit(X) for seed in (7, 7, 8))
    for name in ("components_", "lateral_", "thresholds_"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.components_, other.components_)


def test_partial_fit_accepts_tensors_like_arrays():
    X, _ = planted_data(16, 6, 512, seed=5)
    from_array = SAILnet(12).partial_fit(X[:256]).partial_fit(X[256:])
    from_tensor = SAILnet(12).partial_fit(torch.from_numpy(X[:256])).partial_fit(torch.from_numpy(X[256:]).float())
    assert np.array_equal(from_array.components_, from_tensor.components_)
    assert from_array.n_steps_ == 2


# ------------------------------------------------------------------ registry


def test_registered_resumable_and_sklearn_compatible(small_image_folder):
    assert LEARNERS.get("sailnet") is SAILnet
    assert "sailnet" in LEARNERS.names() and resumable("sailnet")
    model = make_learner("sailnet", n_components=8, p=0.1)
    assert isinstance(model, SAILnet) and model.p == 0.1
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(InputError, match="rho"):
        make_learner("sailnet", rho=1)
    bank = learn_filters("sailnet", str(small_image_folder), patch_size=8, n_filters=6, n_steps=3, batch_size=32)
    assert isinstance(bank, FilterBank) and bank.method == "sailnet" and bank.basis.shape == (6, 8, 8)
    assert bank.config["p"] == 0.05 and len(bank.history["firing_rate"]) == 3


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("params, words", [
    ({"n_components": 0}, ["n_components", ">= 1"]),
    ({"p": 0.0}, ["p must be > 0"]),
    ({"alpha": -1.0}, ["alpha", ">= 0"]),
    ({"beta": 0.0}, ["beta", "> 0"]),
    ({"gamma": float("nan")}, ["gamma", "finite"]),
    ({"tau": 0.0}, ["tau", "> 0"]),
    ({"dt": 2.0}, ["dt", "tau"]),
    ({"n_timesteps": 0}, ["n_timesteps"]),
    ({"initial_threshold": -1.0}, ["initial_threshold"]),
    ({"normalize": "zca"}, ["normalize", "patch", "global"]),
    ({"batch_size": 1.5}, ["batch_size", "integer"]),
    ({"n_steps": -3}, ["n_steps"]),
    ({"device": "tpu"}, ["device"]),
])
def test_bad_parameters_raise_one_line_input_errors(params, words):
    X, _ = planted_data(16, 4, 200)
    with pytest.raises(InputError) as info:
        SAILnet(**{"n_steps": 1, **params}).fit(X)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)


def test_bad_data_raise_clear_errors():
    X, _ = planted_data(16, 4, 200)
    with pytest.raises(InputError, match="X must be a 2-D"):
        SAILnet(4).fit(X[0])
    with pytest.raises(InputError, match="NaN"):
        SAILnet(4).fit(np.full((10, 16), np.nan))
    with pytest.raises(InputError, match="zeros"):
        SAILnet(4).fit(np.zeros((10, 16)))
    with pytest.raises(Exception, match="not fitted"):
        SAILnet(4).transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # two steps: no unit has spiked yet
        model = SAILnet(4, n_steps=2, batch_size=64).fit(X)
    with pytest.raises(InputError, match="expecting 16 features"):
        model.transform(X[:, :10])
    with pytest.raises(InputError, match="expecting 16 features"):
        model.partial_fit(X[:, :10])
    with pytest.raises(InputError, match="counts must have 4 columns"):
        model.inverse_transform(np.ones((2, 3)))


def test_nan_weights_raise_divergence_error_naming_the_step():
    X, _ = planted_data(16, 4, 400)
    model = SAILnet(8, batch_size=100).partial_fit(X[:100]).partial_fit(X[100:200])
    model._network.Q[0, 0] = float("inf")
    with pytest.raises(DivergenceError, match="update 3.*alpha.*beta.*gamma"):
        model.partial_fit(X[200:300])


# ------------------------------------------------------------------ quality on natural images


@pytest.mark.slow
def test_default_parameters_learn_gabor_like_filters_from_natural_images():
    from effcode.v1 import score_population

    bank = learn_filters("sailnet", "default", patch_size=16, random_state=0)
    r2 = score_population(bank, population="basis").metrics()["r2"]
    assert r2["median_r2"] >= 0.9
    assert np.mean(bank.history["firing_rate"][-100:]) == pytest.approx(0.05, rel=0.2)
