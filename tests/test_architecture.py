"""Architecture principles (equivariance, pooling, weight sharing, receptive fields, gradients)
and the Bayes decoder."""

import numpy as np
import pytest
import torch

from effcode.encoding import (LocallyConnected2d, circular_mean_orientation, conv_stack, conv_weight_gradient,
                              equivariance_error, input_gradient_map, invariance_error, log_likelihood,
                              orientation_error, orientation_population, parameter_count, population_rates,
                              posterior, receptive_field_widths, theoretical_receptive_field, von_mises_prior)
from effcode.errors import InputError


@pytest.fixture(scope="module")
def x():
    return torch.randn(4, 2, 16, 16, generator=torch.Generator().manual_seed(0))


def conv(padding_mode="zeros", seed=0):
    torch.manual_seed(seed)
    return torch.nn.Conv2d(2, 3, 5, padding=2, padding_mode=padding_mode)


@pytest.mark.parametrize("shift", [(0, 1), (3, -2), (-2, 4)])
def test_conv_equivariance(x, shift):
    assert equivariance_error(conv("circular"), x, *shift) < 1e-6
    zero = conv("zeros")
    assert equivariance_error(zero, x, *shift) > 0.05  # circular shift, zero padding: boundary effects
    assert equivariance_error(zero, x, *shift, mode="zeros") > 0.01
    margin = 2 + max(map(abs, shift))  # kernel radius + shift
    assert equivariance_error(zero, x, *shift, mode="zeros", margin=margin) < 1e-6  # none away from the edges
    with pytest.raises(InputError, match="margin"):
        equivariance_error(zero, x, *shift, margin=8)


def test_pooling_equivariant_only_for_multiples_of_stride(x):
    c = conv("circular")

    def pooled(v):
        return torch.nn.functional.max_pool2d(torch.relu(c(v)), 2)

    errors = [equivariance_error(pooled, x, s, 0, stride=2) for s in range(6)]
    assert max(errors[0::2]) < 1e-6
    assert min(errors[1::2]) > 0.05


def test_global_pooling_invariance(x):
    c = conv("circular")

    def global_pool(v):
        return torch.relu(c(v)).mean(dim=(-2, -1))

    assert max(invariance_error(global_pool, x, s, 2 * s) for s in range(1, 5)) < 1e-5
    assert invariance_error(c, x, 1, 0) > 0.5  # the feature map itself moves


def test_locally_connected_parameter_ratio(x):
    c = conv()
    lc = LocallyConnected2d.from_conv(c, (16, 16))
    assert torch.allclose(lc(x), c(x), atol=1e-5)
    assert parameter_count(c) == 3 * 2 * 25 + 3
    assert parameter_count(lc) == 16 * 16 * parameter_count(c)
    with pytest.raises(InputError, match="kernel_size"):
        LocallyConnected2d(1, 1, 9, (4, 4))


def test_receptive_field_grows_with_depth_and_dilation():
    widths = {}
    for dilation in ("1", "2", "exponential"):
        for depth in (1, 2, 3, 4):
            net = conv_stack(depth, dilation=dilation, random_state=1)
            w = receptive_field_widths(input_gradient_map(net, 65, n_samples=8, random_state=2))
            assert w["support"] == theoretical_receptive_field(net)
            widths[dilation, depth] = w
    assert theoretical_receptive_field(conv_stack(4, dilation="exponential")) == 31
    for dilation in ("1", "2", "exponential"):
        eff = [widths[dilation, d]["effective"] for d in (1, 2, 3, 4)]
        assert np.all(np.diff(eff) > 0)
    assert widths["2", 4]["effective"] > 1.5 * widths["1", 4]["effective"]
    assert widths["exponential", 4]["effective"] > widths["2", 4]["effective"]


@pytest.mark.parametrize("padding", [0, 1])
def test_conv_weight_gradient_is_cross_correlation(padding):
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 2, 9, 10, generator=gen, dtype=torch.float64)
    layer = torch.nn.Conv2d(2, 3, 3, padding=padding).double()
    y = layer(x)
    target = torch.randn(y.shape, generator=gen, dtype=torch.float64)
    loss = 0.5 * ((y - target) ** 2).sum()
    loss.backward()
    delta = (y - target).detach()  # dL/dy, the back-propagated error
    ours = conv_weight_gradient(x.numpy(), delta.numpy(), kernel_size=3, padding=padding)
    assert np.allclose(ours, layer.weight.grad.numpy(), atol=1e-10)
    with pytest.raises(InputError, match="grad_output"):
        conv_weight_gradient(x.numpy(), delta.numpy()[..., 1:], kernel_size=3, padding=padding)


# -- Bayes decoding -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def encoder():
    cells = orientation_population(8, 15, freq=0.15, sigma=2.5, peak_rate=4.0)
    thetas = np.linspace(0, np.pi, 60, endpoint=False)
    phases = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    return cells, thetas, phases


def test_population_is_orientation_tuned(encoder):
    cells, thetas, phases = encoder
    rates = population_rates(cells, thetas, phases, freq=0.15, contrast=1.0)
    assert rates.shape == (60, 8, 8)
    preferred = thetas[np.argmax(rates.mean(axis=1), axis=0)]
    assert np.all(orientation_error(preferred, [c.params["theta"] for c in cells]) <= np.pi / 60)
    assert np.allclose(rates.max(axis=(0, 1)), 4.1, rtol=0.05)


def test_decoder_needs_the_prior(encoder):
    cells, thetas, phases = encoder
    rng = np.random.default_rng(4)
    rates = population_rates(cells, thetas, phases, freq=0.15, contrast=0.25)
    prior = von_mises_prior(thetas, mean=np.pi / 4, kappa=3.0)
    which = rng.choice(thetas.size, size=3000, p=prior)
    counts = rng.poisson(rates[which, rng.integers(0, phases.size, which.size)]).astype(float)
    loglik = log_likelihood(counts, rates)
    errors = {}
    for name, p in {"true": prior, "flat": von_mises_prior(thetas, 0.0, 0.0),
                    "wrong": von_mises_prior(thetas, 3 * np.pi / 4, 3.0)}.items():
        post = posterior(loglik, p)
        assert np.allclose(post.sum(axis=1), 1.0)
        errors[name] = orientation_error(circular_mean_orientation(post, thetas), thetas[which]).mean()
    assert errors["true"] < 0.9 * errors["flat"] < 0.9 * errors["wrong"]
    # with no spikes the posterior is the prior
    assert np.allclose(posterior(log_likelihood(np.zeros((1, 8)), rates * 0 + 1.0), prior)[0], prior)


def test_decoder_bad_inputs(encoder):
    cells, thetas, phases = encoder
    rates = population_rates(cells, thetas, phases, freq=0.15, contrast=1.0)
    with pytest.raises(InputError, match="cells"):
        log_likelihood(np.zeros((2, 5)), rates)
    with pytest.raises(InputError, match="prior"):
        posterior(np.zeros((2, 60)), np.ones(10))


def test_experiment_10_runs_end_to_end(tmp_path, small_image_folder):
    from effcode.cli import main
    from effcode.runs import read_json

    argv = ["run", "10", "--quick", "--quiet", "--results", str(tmp_path), "--set", f"source={small_image_folder}",
            "--set", "image_size=16", "--set", "n_images=2", "--set", "max_shift=4", "--set", "param_sizes=[8]",
            "--set", "max_depth=3", "--set", "erf_size=33", "--set", "n_trials=200", "--set", "n_thetas=30",
            "--set", "contrasts=[0.5,1.0]"]
    assert main(argv) == 0
    m = read_json(tmp_path / "10_architecture" / "metrics.json")
    assert m["conv_circular_max_error"] < 1e-12 and m["global_pool_max_invariance_error"] < 1e-12
    assert m["parameter_ratio"] == [64.0] and m["parameter_ratio_equals_hw"]
    assert m["erf"]["1"]["support"] == m["erf"]["1"]["theory"] == [3, 5, 7]
    assert m["weight_gradient_relative_difference"] < 1e-10
    assert (tmp_path / "10_architecture" / "figures" / "decoding.png").exists()
    assert "Architecture principles" in (tmp_path / "REPORT.md").read_text()
