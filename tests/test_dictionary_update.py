"""The block-coordinate dictionary update of sparse coding (Mairal et al. 2010) against known answers."""

import numpy as np
import pytest
import torch

from effcode.errors import InputError
from effcode.learners.sparse_coding import SparseCoding, block_coordinate_sweep
from test_sparse_coding import RECOVERY_SEEDS, matched_cosines, sparse_data


def surrogate(dictionary, code_gram, code_data):
    """The averaged reconstruction loss of the remembered batches, less its constant term:
    0.5 tr(D^T G D) - tr(D^T H) for atoms D (K, d), G = avg A^T A (K, K), H = avg A^T X (K, d)."""
    return float(0.5 * (dictionary * (code_gram @ dictionary)).sum() - (dictionary * code_data).sum())


def unit_rows(matrix):
    return matrix / matrix.norm(dim=1, keepdim=True)


def sparse_statistics(k=24, d=32, n=2000, active=3, seed=0):
    """True unit atoms (K, d), and the statistics G = A^T A / n, H = A^T X / n of noise-free data X = A D."""
    generator = torch.Generator().manual_seed(seed)
    atoms = unit_rows(torch.randn(k, d, generator=generator, dtype=torch.float64))
    codes = torch.zeros(n, k, dtype=torch.float64)
    for row in codes:
        support = torch.randperm(k, generator=generator)[:active]
        row[support] = 1.0 + torch.rand(active, generator=generator, dtype=torch.float64)
    data = codes @ atoms
    return atoms, codes.T @ codes / n, codes.T @ data / n


def test_the_true_dictionary_is_a_fixed_point_and_sweeps_return_to_it():
    """Known answer: statistics of noise-free data X = A D* make D* the minimiser of the surrogate, so a
    sweep leaves D* where it is, and repeated sweeps from a perturbed D* converge back to it."""
    atoms, code_gram, code_data = sparse_statistics()
    torch.testing.assert_close(block_coordinate_sweep(atoms, code_gram, code_data), atoms, atol=1e-12, rtol=0)
    generator = torch.Generator().manual_seed(1)
    dictionary = unit_rows(atoms + 0.3 * torch.randn(atoms.shape, generator=generator, dtype=torch.float64))
    assert (dictionary * atoms).sum(dim=1).min() < 0.95
    for _ in range(30):
        dictionary = block_coordinate_sweep(dictionary, code_gram, code_data)
    torch.testing.assert_close(dictionary, atoms, atol=1e-6, rtol=0)


@pytest.mark.parametrize("seed", range(5))
def test_a_sweep_never_increases_the_surrogate_and_keeps_atoms_unit_norm(seed):
    """From random unit atoms and random statistics (G positive semi-definite), every sweep lowers the
    surrogate or leaves it; the atoms stay on the unit sphere."""
    generator = torch.Generator().manual_seed(seed)
    codes = torch.randn(300, 16, generator=generator, dtype=torch.float64).relu()
    data = torch.randn(300, 20, generator=generator, dtype=torch.float64)
    code_gram, code_data = codes.T @ codes / 300, codes.T @ data / 300
    dictionary = unit_rows(torch.randn(16, 20, generator=generator, dtype=torch.float64))
    values = [surrogate(dictionary, code_gram, code_data)]
    for _ in range(5):
        dictionary = block_coordinate_sweep(dictionary, code_gram, code_data)
        values.append(surrogate(dictionary, code_gram, code_data))
        torch.testing.assert_close(dictionary.norm(dim=1), torch.ones(16, dtype=torch.float64))
    assert all(later <= earlier + 1e-12 for earlier, later in zip(values, values[1:]))
    assert values[-1] < values[0]


def test_each_atom_is_the_exact_minimiser_given_the_others():
    """The first atom updated solves its block exactly: no unit vector gives a lower surrogate with the
    other atoms held at their old values (checked against 20,000 random unit vectors and the closed form
    r / ||r||, r = H_0 - sum_{j != 0} G_0j d_j)."""
    atoms, code_gram, code_data = sparse_statistics(seed=2)
    generator = torch.Generator().manual_seed(3)
    dictionary = unit_rows(torch.randn(atoms.shape, generator=generator, dtype=torch.float64))
    swept = block_coordinate_sweep(dictionary, code_gram, code_data)
    others = code_gram[0, 1:] @ dictionary[1:]
    closed_form = code_data[0] - others
    torch.testing.assert_close(swept[0], closed_form / closed_form.norm())

    def atom_zero_loss(candidates):          # the surrogate's terms that involve atom 0, for unit candidates
        return 0.5 * code_gram[0, 0] - candidates @ (code_data[0] - others)

    trials = unit_rows(torch.randn(20_000, atoms.shape[1], generator=generator, dtype=torch.float64))
    assert atom_zero_loss(swept[0][None])[0] <= atom_zero_loss(trials).min()


def test_an_unused_atom_is_left_unchanged():
    """An atom with no code energy (G_kk = 0) has no block problem: the sweep leaves it as it was."""
    atoms, code_gram, code_data = sparse_statistics(seed=4)
    code_gram[5, :], code_gram[:, 5], code_data[5] = 0, 0, 0
    generator = torch.Generator().manual_seed(5)
    dictionary = unit_rows(torch.randn(atoms.shape, generator=generator, dtype=torch.float64))
    swept = block_coordinate_sweep(dictionary, code_gram, code_data)
    assert torch.equal(swept[5], dictionary[5])
    assert torch.isfinite(swept).all()


def test_relaxation_interpolates_towards_the_block_minimiser():
    """learning_rate below 1 under-relaxes each block step: for the first atom the update is
    normalise(d + eta (u - d)), u the exact block solution before normalisation."""
    atoms, code_gram, code_data = sparse_statistics(seed=6)
    generator = torch.Generator().manual_seed(7)
    dictionary = unit_rows(torch.randn(atoms.shape, generator=generator, dtype=torch.float64))
    exact = (code_data[0] - code_gram[0, 1:] @ dictionary[1:]) / code_gram[0, 0]
    relaxed = block_coordinate_sweep(dictionary, code_gram, code_data, relaxation=0.25)
    expected = dictionary[0] + 0.25 * (exact - dictionary[0])
    torch.testing.assert_close(relaxed[0], expected / expected.norm())


@pytest.mark.parametrize("seed", RECOVERY_SEEDS)
@pytest.mark.parametrize("update", ["bcd", "gradient"])
def test_both_updates_recover_a_known_dictionary(update, seed):
    """Known answer: atoms that generated sparse data are found again from a random start (median |cos|
    after Hungarian matching), by either dictionary update.  Measured over data seeds 1-6 at 100 updates:
    median 0.9999 (BCD) and 0.9993-0.9998 (gradient); 40 updates, the old setting, left the gradient step at
    0.951-0.990.  Data seed 0 would start the learner (random_state 0) at the generating atoms."""
    X, atoms = sparse_data(48, 64, 8192, seed=seed)
    model = SparseCoding(64, lam=0.5, n_steps=100, batch_size=256, dictionary_update=update).fit(X)
    assert np.median(matched_cosines(model.components_, atoms)) >= 0.99


def test_bcd_needs_fewer_steps_than_the_gradient_step_on_a_known_dictionary():
    """The exact block update moves each atom to its minimiser, the gradient step (learning rate 0.5)
    halfway: after 12 updates the atoms found by BCD match the true ones more closely."""
    from scipy.optimize import linear_sum_assignment

    X, atoms = sparse_data(48, 64, 4096, seed=1)

    def matched(update):
        model = SparseCoding(64, lam=0.5, n_steps=12, batch_size=256, dictionary_update=update).fit(X)
        cosines = np.abs(model.components_ @ atoms.T)
        rows, cols = linear_sum_assignment(-cosines)
        return np.mean(cosines[rows, cols])

    assert matched("bcd") > matched("gradient")


def test_an_unknown_update_is_refused_in_one_line():
    X, _ = sparse_data(16, 8, 64)
    with pytest.raises(InputError, match="dictionary_update must be one of gradient, bcd; got 'newton'") as caught:
        SparseCoding(8, dictionary_update="newton").fit(X)
    assert "\n" not in str(caught.value)


def test_a_bcd_training_resumed_from_its_checkpoint_equals_an_uninterrupted_one(small_image_folder, tmp_path):
    """The sweep reads only the dictionary and the running statistics, which the checkpoint holds: a
    training stopped after step 7 (checkpoint at step 5) and resumed ends with the same atoms, bit for bit."""
    import warnings

    from effcode.data import load_images

    images = load_images(str(small_image_folder))
    params = {"n_components": 12, "n_steps": 12, "batch_size": 64, "dictionary_update": "bcd"}

    class Interrupt(Exception):
        pass

    def stop(step):
        if step == 7:
            raise Interrupt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = SparseCoding(**params).fit_images(images, patch_size=8)
        path = tmp_path / "bcd.checkpoint.pt"
        interrupted = SparseCoding(**params)
        interrupted._after_step = stop
        with pytest.raises(Interrupt):
            interrupted.fit_images(images, patch_size=8, checkpoint=path, checkpoint_every=5)
        resumed = SparseCoding(**params)
        steps = []
        resumed._after_step = steps.append
        resumed.fit_images(images, patch_size=8, checkpoint=path, checkpoint_every=5)
    assert steps[0] == 6
    np.testing.assert_array_equal(resumed.components_, reference.components_)
    np.testing.assert_array_equal(np.asarray(resumed.history_["loss"]), np.asarray(reference.history_["loss"]))
