"""Contract tests run over every registered sparsity objective, plus known prox values."""

import itertools

import numpy as np
import pytest
import torch

from effcode.errors import InputError
from effcode.learners.sparse_coding import SparseCoding
from effcode.objectives import OBJECTIVES, Objective, make_objective

ALL = OBJECTIVES.names()
ELEMENTWISE = [name for name in ALL if OBJECTIVES.get(name).elementwise]


def test_registry_holds_the_documented_objectives():
    assert {"l1", "cauchy", "l0", "topk", "nonneg_l1"} <= set(ALL)


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("lam,step", [(0.3, 1.0), (1.0, 0.5), (2.0, 2.0)])
def test_prox_minimises_its_energy_against_a_grid(name, lam, step):
    """prox(v) attains min_x 0.5 (x - v)^2 + step*lam*S(x), checked by brute force on a fine grid."""
    objective = make_objective(name, lam)
    v = torch.linspace(-4.0, 4.0, 81, dtype=torch.float64)
    x = objective.prox(v, step)
    grid = torch.linspace(-5.0, 5.0, 20001, dtype=torch.float64)

    def energy(points, centre):
        return 0.5 * (points - centre) ** 2 + step * lam * objective.penalty(points)

    for vi, xi in zip(v, x):
        best_on_grid = energy(grid, vi).min()
        assert energy(xi.reshape(1), vi)[0] <= best_on_grid + 1e-9, (name, float(vi), float(xi))


def test_topk_prox_is_the_projection_on_k_sparse_vectors():
    """Brute force over supports: the nearest vector with <= k non-zeros keeps the k largest |v|."""
    rng = np.random.default_rng(0)
    objective = make_objective("topk", 0.0, k=2)
    v = torch.tensor(rng.standard_normal((20, 5)))
    x = objective.prox(v, 1.0, dim=1)
    for vi, xi in zip(v, x):
        best = min(float((vi ** 2).sum() - (vi[list(s)] ** 2).sum()) for s in itertools.combinations(range(5), 2))
        assert float(((xi - vi) ** 2).sum()) == pytest.approx(best, abs=1e-12)
        assert int((xi != 0).sum()) == 2
    along_rows = objective.prox(v.T, 1.0, dim=0)
    assert torch.equal(along_rows, x.T)
    assert float(objective.value(x)) == 0.0 and float(objective.value(v)) == float("inf")


def test_known_threshold_values():
    v = torch.tensor([-3.0, -1.0, -0.2, 0.0, 0.5, 2.0])
    assert torch.allclose(make_objective("l1", 0.5).prox(v, 2.0), torch.tensor([-2.0, 0, 0, 0, 0, 1.0]))
    assert torch.allclose(make_objective("nonneg_l1", 0.5).prox(v, 1.0), torch.tensor([0, 0, 0, 0, 0, 1.5]))
    # hard threshold at sqrt(2 * step * lam) = sqrt(2 * 1 * 0.5) = 1: |v| = 1 is not above it
    assert torch.equal(make_objective("l0", 0.5).prox(v, 1.0), torch.tensor([-3.0, 0, 0, 0, 0, 2.0]))
    # cauchy: the prox satisfies x - v + 2 t x / (sigma^2 + x^2) = 0 at a non-zero solution
    cauchy = make_objective("cauchy", 0.4, sigma=0.5)
    x = cauchy.prox(torch.tensor([3.0], dtype=torch.float64), 1.0)
    assert float(x - 3.0 + 2 * 0.4 * x / (0.25 + x ** 2)) == pytest.approx(0.0, abs=1e-12)


def test_values_are_lam_times_summed_penalty():
    a = torch.tensor([[1.0, -2.0, 0.0], [0.0, 0.5, 0.0]])
    assert float(make_objective("l1", 2.0).value(a)) == pytest.approx(7.0)
    assert float(make_objective("l0", 2.0).value(a)) == pytest.approx(6.0)
    assert float(make_objective("cauchy", 1.0, sigma=1.0).value(a)) == pytest.approx(
        np.log(2) + np.log(5) + np.log(1.25))
    assert float(make_objective("nonneg_l1", 1.0).value(a.abs())) == pytest.approx(3.5)
    assert float(make_objective("nonneg_l1", 1.0).value(a)) == float("inf")


def test_l1_value_is_differentiable():
    a = torch.tensor([1.0, -2.0], requires_grad=True)
    make_objective("l1", 3.0).value(a).backward()
    assert torch.equal(a.grad, torch.tensor([3.0, -3.0]))


@pytest.mark.parametrize("name", ALL)
def test_every_objective_lowers_the_sparse_coding_loss(name):
    """Contract: a short SparseCoding fit on synthetic sparse data lowers the loss."""
    rng = np.random.default_rng(1)
    atoms = rng.standard_normal((24, 16))
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    codes = np.zeros((1024, 24))
    for row in codes:
        row[rng.choice(24, 2, replace=False)] = rng.laplace(size=2) * 3
    X = codes @ atoms + 0.05 * rng.standard_normal((1024, 16))
    model = SparseCoding(24, lam=0.2, objective=name, n_steps=20, batch_size=128, n_iter=30).fit(X)
    loss = model.history_["loss"]
    assert np.all(np.isfinite(loss))
    assert np.mean(loss[-5:]) < 0.8 * np.mean(loss[:2]), (name, loss[:2], loss[-5:])


def test_bad_objective_inputs():
    with pytest.raises(InputError, match="objective"):
        make_objective("l7", 1.0)
    with pytest.raises(InputError, match="lam"):
        make_objective("l1", -1.0)
    with pytest.raises(InputError, match="sigma"):
        make_objective("cauchy", 1.0, sigma=0.0)
    with pytest.raises(InputError, match="k"):
        make_objective("topk", 1.0, k=0)
    with pytest.raises(InputError, match="parameters"):
        make_objective("l1", 1.0, sigma=2.0)


def test_a_new_objective_is_one_class_and_a_registry_entry():
    """The elastic net, added as in docs/objectives.md, works through make_objective."""

    class ElasticNet(Objective):
        name = "elastic_net_test"

        def penalty(self, a):
            return a.abs() + 0.5 * a ** 2

        def prox(self, v, step, dim=-1):
            t = step * self.lam
            return (v - torch.clamp(v, -t, t)) / (1 + t)

    OBJECTIVES.register("elastic_net_test", ElasticNet)
    try:
        objective = make_objective("elastic_net_test", 0.5)
        v = torch.tensor([3.0])
        x = objective.prox(v, 2.0)  # minimises 0.5 (x - 3)^2 + |x| + 0.5 x^2 -> x = 1
        assert torch.allclose(x, torch.tensor([1.0]))
    finally:
        OBJECTIVES.unregister("elastic_net_test")


# --- the compiled CPU path of the Cauchy prox (effcode.prox_kernels) against its torch path ---

def _cauchy_energy(x, v, t, sigma):
    x, v = x.double(), v.double()
    return 0.5 * (x - v) ** 2 + t * torch.log1p((x / sigma) ** 2)


def _cauchy_inputs(dtype):
    rng = np.random.default_rng(3)
    normal = rng.standard_normal(4000)
    parts = [normal * scale for scale in (1e-30, 1e-6, 0.05, 0.5, 2.0, 10.0, 1e3, 1e6)]
    parts.append(np.array([0.0, -0.0, 1e-38, -1e-38, 3.0, -3.0, 1e10, -1e10]))
    return torch.tensor(np.concatenate(parts), dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("lam,sigma,step", [(0.3, 1.0, 0.2), (1.0, 0.5, 1.0), (2.0, 2.0, 0.5), (0.05, 0.1, 3.0)])
def test_compiled_cauchy_prox_matches_the_torch_path(dtype, lam, sigma, step):
    """Same values as the torch path to float tolerance; where they differ (near a tie of the two roots, or
    where the torch path's 12 fixed Newton steps have not converged) the compiled energy is not higher."""
    objective = make_objective("cauchy", lam, sigma=sigma)
    v = _cauchy_inputs(dtype)
    compiled = objective.prox(v, step)
    reference = objective._prox_torch(v, step)
    assert compiled.dtype == dtype and compiled.shape == v.shape
    rtol, atol = (1e-5, 1e-6) if dtype == torch.float32 else (1e-10, 1e-12)
    close = torch.isclose(compiled, reference, rtol=rtol, atol=atol)
    assert float(close.double().mean()) > 0.99
    t = step * lam
    e_compiled = _cauchy_energy(compiled[~close], v[~close], t, sigma)
    e_reference = _cauchy_energy(reference[~close], v[~close], t, sigma)
    slack = (1e-6 if dtype == torch.float32 else 1e-12) * (1 + e_reference.abs())
    assert torch.all(e_compiled <= e_reference + slack)
    assert torch.all(torch.sign(compiled) * torch.sign(v) >= 0) and torch.all(compiled.abs() <= v.abs())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_cauchy_prox_minimises_against_a_grid(dtype):
    lam, sigma, step = 1.0, 0.5, 1.0
    objective = make_objective("cauchy", lam, sigma=sigma)
    v = torch.linspace(-4.0, 4.0, 161, dtype=dtype)
    x = objective.prox(v, step)
    grid = torch.linspace(-5.0, 5.0, 20001, dtype=torch.float64)
    tol = 1e-5 if dtype == torch.float32 else 1e-9
    for vi, xi in zip(v.double(), x):
        best_on_grid = _cauchy_energy(grid, vi, step * lam, sigma).min()
        assert _cauchy_energy(xi.reshape(1), vi, step * lam, sigma)[0] <= best_on_grid + tol, (float(vi), float(xi))


def test_compiled_cauchy_prox_special_values_shapes_and_steps():
    objective = make_objective("cauchy", 0.3, sigma=1.0)
    v = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1.0])
    x = objective.prox(v, 0.5)
    reference = objective._prox_torch(v, 0.5)
    assert torch.equal(x[:4], torch.zeros(4)) and torch.isnan(x[4]) and torch.isnan(reference[4])
    assert torch.allclose(x[[0, 1, 2, 3, 5]], reference[[0, 1, 2, 3, 5]], rtol=1e-6, atol=0)
    # exact zeros stay zero in a realistic matrix
    rng = np.random.default_rng(0)
    codes = torch.tensor(rng.standard_normal((64, 32)) * (rng.random((64, 32)) < 0.3), dtype=torch.float32)
    assert torch.all(objective.prox(codes, 0.2)[codes == 0] == 0)
    # non-contiguous input, other shapes, a 0-dim tensor
    wide = torch.tensor(rng.standard_normal((32, 64)), dtype=torch.float32)
    assert torch.equal(objective.prox(wide.T, 0.2), objective.prox(wide.T.contiguous(), 0.2))
    assert torch.allclose(objective.prox(wide[:, ::3], 0.2), objective._prox_torch(wide[:, ::3], 0.2), rtol=1e-5,
                          atol=1e-6)
    cube = torch.tensor(rng.standard_normal((3, 4, 5)))
    assert objective.prox(cube, 0.2).shape == (3, 4, 5)
    assert objective.prox(torch.tensor(2.0), 0.2).shape == ()
    # step as a tensor: one per row (active-set solvers), a 0-dim tensor
    steps = torch.tensor(rng.random((32, 1)) + 0.1, dtype=torch.float32)
    assert torch.allclose(objective.prox(wide, steps), objective._prox_torch(wide, steps), rtol=1e-5, atol=1e-6)
    assert torch.allclose(objective.prox(wide, torch.tensor(0.2)), objective.prox(wide, 0.2), rtol=1e-6, atol=0)
    # the torch path still runs for tensors that require grad, and is differentiable
    leaf = wide.clone().requires_grad_(True)
    out = objective.prox(leaf, 0.2)
    assert out.requires_grad and torch.allclose(out.detach(), objective.prox(wide, 0.2), rtol=1e-5, atol=1e-6)
