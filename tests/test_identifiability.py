"""Permutation and rescaling symmetries of networks, and filter matching up to order and sign."""

import numpy as np
import pytest
import torch

from effcode.encoding import match_filters, permute_hidden, rescale_hidden
from effcode.errors import InputError


def dense_net(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(10, 7), torch.nn.Linear(7, 3)


def conv_net(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Conv2d(1, 6, 3), torch.nn.Conv2d(6, 2, 3)


def run(first, second, x, nonlinearity=torch.relu, pool=False):
    h = nonlinearity(first(x))
    if pool:
        h = torch.nn.functional.avg_pool2d(h, 2)
    return second(h)


@pytest.mark.parametrize("make,shape,pool", [(dense_net, (50, 10), False), (conv_net, (5, 1, 12, 12), True)])
def test_permutation_and_rescaling_leave_function_unchanged(make, shape, pool):
    first, second = make()
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    n = first.weight.shape[0]
    rng = np.random.default_rng(2)
    with torch.no_grad():
        ref = run(first, second, x, pool=pool)
        a, b = permute_hidden(first, second, rng.permutation(n))
        assert not torch.equal(a.weight, first.weight)
        assert torch.max(torch.abs(run(a, b, x, pool=pool) - ref)) < 1e-5
        c, d = rescale_hidden(first, second, rng.uniform(0.1, 10, n))
        assert not torch.allclose(c.weight, first.weight)
        assert torch.max(torch.abs(run(c, d, x, pool=pool) - ref)) < 1e-4
        # the rescaling symmetry needs a positively homogeneous nonlinearity: not tanh
        ref_tanh = run(first, second, x, torch.tanh, pool)
        assert torch.max(torch.abs(run(c, d, x, torch.tanh, pool) - ref_tanh)) > 0.05
        # the permutation symmetry holds for any elementwise nonlinearity
        assert torch.max(torch.abs(run(a, b, x, torch.tanh, pool) - ref_tanh)) < 1e-5


def test_symmetry_bad_inputs():
    first, second = dense_net()
    with pytest.raises(InputError, match="permutation"):
        permute_hidden(first, second, [0] * 7)
    with pytest.raises(InputError, match="positive"):
        rescale_hidden(first, second, -np.ones(7))
    with pytest.raises(InputError, match="outputs"):
        permute_hidden(first, torch.nn.Linear(5, 2), np.arange(7))


def test_match_filters_recovers_permutation_and_sign():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((20, 8, 8))
    perm = rng.permutation(20)
    sign = rng.choice([-1.0, 1.0], 20)
    # b[perm[j]] = sign[j] * a[j] (+ a little noise and a rescaling)
    b = np.empty_like(a)
    b[perm] = sign[:, None, None] * a * rng.uniform(0.5, 2, (20, 1, 1))
    b += 0.05 * rng.standard_normal(b.shape)
    m = match_filters(a, b)
    assert np.array_equal(m["perm"], perm)
    assert np.array_equal(m["sign"], sign)
    assert m["matched"].min() > 0.95
    assert m["identity"].mean() < 0.5
    with pytest.raises(InputError, match="same number"):
        match_filters(a, b[:5])
    with pytest.raises(InputError, match="all-zero"):
        match_filters(np.zeros((2, 4)), np.ones((2, 4)))


@pytest.mark.slow
def test_experiment_11_quick(tmp_path):
    from effcode.cli import main
    from effcode.runs import read_json

    assert main(["run", "11", "--quick", "--quiet", "--results", str(tmp_path)]) == 0
    m = read_json(tmp_path / "11_identifiability" / "metrics.json")
    assert m["function"]["permuted_max_abs_output_difference"] < 1e-10
    assert m["function"]["rescaled_max_abs_output_difference"] < 1e-10
    assert m["function"]["permuted_max_abs_weight_difference"] > 0.01
    for v in m["matching"].values():
        assert v["matched_median_abs_cos"] > v["chance_matched_median_abs_cos"] + 0.2 > v["identity_median_abs_cos"]
