"""Compiled LCA for l0 and topk (effcode.learners.lca_kernel) against the torch kernel and known answers."""

import numpy as np
import pytest
import torch

from effcode.learners import inference
from effcode.learners.lca_kernel import lca_hard_threshold
from effcode.learners.sparse_coding import SparseCoding, sparse_encode
from effcode.objectives import make_objective

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: (name, lam, params): lam gives a handful of active atoms per row on unit-RMS random data
PENALTIES = [("l0", 0.5, {}), ("topk", 0.0, {"k": 8}), ("topk", 0.0, {"k": 12})]


def problem(n_atoms, n_features, n_rows, dtype, seed=0):
    generator = torch.Generator().manual_seed(seed)
    atoms = torch.randn(n_atoms, n_features, generator=generator, dtype=torch.float64)
    atoms /= atoms.norm(dim=1, keepdim=True)
    X = torch.randn(n_rows, n_features, generator=generator, dtype=torch.float64)
    return X.to(dtype), atoms.to(dtype)


def both_kernels(X, atoms, objective, n_iter, tol, init=None, check_every=5):
    step = 1.0 / inference.lipschitz_constant(atoms)
    correlations, gram = X @ atoms.T, atoms @ atoms.T
    dense = inference._lca(correlations, gram, objective, step, n_iter, tol, init, check_every)
    compiled = inference._lca_compiled(correlations, gram, objective, step, n_iter, tol, init, check_every)
    return dense, compiled


def energy(codes, X, atoms, objective):
    residual = (X - codes @ atoms).double()
    penalty = objective.lam * (codes != 0).sum(dim=1) if objective.name == "l0" else 0.0
    return (0.5 * residual.pow(2).sum(dim=1) + penalty).mean().item()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name, lam, params", PENALTIES)
@pytest.mark.parametrize("n_atoms, n_features, with_init", [(64, 64, False), (300, 144, True), (160, 100, False)])
def test_compiled_equals_torch_lca_with_tol_zero(dtype, name, lam, params, n_atoms, n_features, with_init):
    X, atoms = problem(n_atoms, n_features, 77, dtype, seed=n_atoms)
    objective = make_objective(name, lam, **params)
    init = None
    if with_init:
        init = 0.3 * torch.randn(77, n_atoms, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(dtype)
    (dense, n_dense), (compiled, n_compiled) = both_kernels(X, atoms, objective, 30, 0.0, init)
    assert n_dense == n_compiled == 30
    assert compiled.dtype == dtype and compiled.shape == dense.shape
    mismatched_support = ((dense != 0) != (compiled != 0)).sum().item()
    assert mismatched_support <= 2          # an entry at the threshold may flip by rounding
    atol = 1e-4 if dtype == torch.float32 else 1e-10
    same_rows = ((dense != 0) == (compiled != 0)).all(dim=1)
    assert same_rows.float().mean() > 0.97
    torch.testing.assert_close(compiled[same_rows], dense[same_rows], atol=atol, rtol=atol)
    if name == "topk":
        assert ((compiled != 0).sum(dim=1) <= params["k"]).all()


@pytest.mark.parametrize("name, lam, params", PENALTIES[:2])
def test_solve_uses_the_compiled_kernel_on_the_cpu_and_matches_torch_across_chunks(monkeypatch, name, lam, params):
    X, atoms = problem(120, 81, 150, torch.float32, seed=3)
    objective = make_objective(name, lam, **params)
    monkeypatch.setattr(inference, "CPU_CHUNK_ROWS", 64)      # 150 rows: chunks of 64, 64, 22
    compiled, n_compiled = inference.solve(X, atoms, objective, method="lca", n_iter=25, tol=0.0)
    with monkeypatch.context() as patched:
        patched.setattr(inference, "COMPILED_LCA_OBJECTIVES", ())
        dense, n_dense = inference.solve(X, atoms, objective, method="lca", n_iter=25, tol=0.0)
    assert n_compiled == n_dense == 25
    torch.testing.assert_close(compiled, dense, atol=1e-4, rtol=1e-4)

    def forbidden(*args):
        raise AssertionError("the torch LCA kernel ran on the CPU for a hard-threshold penalty")

    monkeypatch.setattr(inference, "_lca", forbidden)
    again, _ = inference.solve(X, atoms, objective, method="lca", n_iter=25, tol=0.0)
    torch.testing.assert_close(again, compiled, atol=0, rtol=0)
    empty, n_empty = inference.solve(X[:0], atoms, objective, method="lca", n_iter=25, tol=0.0)
    assert empty.shape == (0, 120) and n_empty == 0


def test_empty_batch_and_zero_iterations_in_the_kernel():
    drive = np.zeros((0, 5), np.float32)
    codes, iterations = lca_hard_threshold(drive, np.zeros((5, 5), np.float32), 0.5, k=2, n_iter=10)
    assert codes.shape == (0, 5) and iterations == 0
    init = np.array([[3.0, -1.0, 0.5, 2.0, 0.0]], np.float32)
    codes, iterations = lca_hard_threshold(np.ones((1, 5), np.float32), np.zeros((5, 5), np.float32), 0.5,
                                           k=2, n_iter=0, init=init)
    assert iterations == 0
    np.testing.assert_array_equal(codes, [[3.0, 0.0, 0.0, 2.0, 0.0]])     # a = prox(init)


@pytest.mark.parametrize("k", [40, 41, 100])
def test_topk_with_k_at_least_the_number_of_atoms_keeps_every_potential(k):
    X, atoms = problem(40, 64, 33, torch.float64, seed=5)
    objective = make_objective("topk", 0.0, k=k)
    (dense, _), (compiled, _) = both_kernels(X, atoms, objective, 20, 0.0)
    torch.testing.assert_close(compiled, dense, atol=1e-10, rtol=1e-10)
    assert (compiled != 0).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name, lam, params", PENALTIES[:2])
def test_with_a_tolerance_the_energy_is_that_of_torch_lca(dtype, name, lam, params):
    X, atoms = problem(256, 144, 500, dtype, seed=7)
    objective = make_objective(name, lam, **params)
    (dense, n_dense), (compiled, n_compiled) = both_kernels(X, atoms, objective, 80, 1e-3)
    assert 0 < n_compiled <= 80 and 0 < n_dense <= 80
    assert energy(compiled, X, atoms, objective) <= 1.01 * energy(dense, X, atoms, objective)
    # and close to the energy after all 80 iterations
    full, _ = inference._lca_compiled(X @ atoms.T, atoms @ atoms.T, objective,
                                      1.0 / inference.lipschitz_constant(atoms), 80, 0.0, None, 5)
    assert energy(compiled, X, atoms, objective) <= 1.01 * energy(full, X, atoms, objective)


@pytest.mark.parametrize("name, lam, params", PENALTIES[:2])
def test_orthonormal_dictionary_fixed_point_is_the_threshold_of_the_correlations(name, lam, params):
    generator = torch.Generator().manual_seed(11)
    atoms = torch.linalg.qr(torch.randn(64, 64, generator=generator, dtype=torch.float64))[0].T   # G = I
    X = 1.5 * torch.randn(90, 64, generator=generator, dtype=torch.float64)
    correlations = X @ atoms.T
    objective = make_objective(name, lam, **params)
    codes, _ = inference.solve(X, atoms, objective, method="lca", n_iter=60, tol=0.0)
    if name == "l0":
        expected = torch.where(correlations.abs() > (2 * lam) ** 0.5, correlations, torch.zeros_like(correlations))
    else:
        keep = correlations.abs().topk(params["k"], dim=1).indices
        expected = torch.zeros_like(correlations).scatter(1, keep, correlations.gather(1, keep))
    torch.testing.assert_close(codes, expected, atol=1e-9, rtol=1e-9)


def test_the_learner_trains_and_transforms_through_the_compiled_kernel(monkeypatch):
    def forbidden(*args):
        raise AssertionError("the torch LCA kernel ran on the CPU for topk")

    monkeypatch.setattr(inference, "_lca", forbidden)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 36)).astype(np.float32)
    model = SparseCoding(n_components=48, objective="topk", objective_params={"k": 4}, n_steps=3,
                         batch_size=128, random_state=0).fit(X)
    codes = model.transform(X[:50])
    assert codes.shape == (50, 48) and ((codes != 0).sum(axis=1) <= 4).all()
    encoded = sparse_encode(X[:20], model.components_, lam=0.3, objective="l0", inference_method="lca", n_iter=20)
    assert encoded.shape == (20, 48)
