"""Known-answer tests of in-silico physiology (:func:`effcode.v1.measure_receptive_fields`).

Linear units must come back as their stimulus-space filter within the stated standard error (ICA's
unmixing composed with its whitening; the Olshausen-Field whitening kernel applied to a whitened-space
filter, computed here independently on a large canvas); a rectified Poisson neuron with a known Gabor
must give back its Gabor parameters; a learned sparse code must give finite, precise, reproducible
receptive fields whose standard error matches the spread between seeds.
"""

import warnings

import numpy as np
import pytest
import torch

from effcode.data import load_images, whiten_olshausen_field
from effcode.errors import InputError
from effcode.gabor import fit_gabors
from effcode.gabor.model import gabor_from_table
from effcode.learners import FilterBank
from effcode.learners.ica import ICA
from effcode.learners.sailnet import SAILnet
from effcode.learners.sparse_cnn import SparseCNN, encode, interior_mask
from effcode.learners.sparse_coding import SparseCoding
from effcode.objectives import make_objective
from effcode.v1 import ReceptiveFields, measure_receptive_fields

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STIMULI = ("hartley", "white_noise")


def whitening_kernel_applied(filters, canvas=160):
    """K * w on the infinite plane, by whitening each filter embedded in a large zero canvas (periodic
    FFT, far from its edges) and cropping it back: the explicit stimulus-space RF of a whitened filter."""
    p = filters.shape[-1]
    start = (canvas - p) // 2
    out = []
    for w in filters:
        image = np.zeros((canvas, canvas))
        image[start:start + p, start:start + p] = w
        out.append(whiten_olshausen_field(image, pad="periodic")[start:start + p, start:start + p])
    return np.array(out)


def z_scores(measured: ReceptiveFields, truth):
    return (measured.rfs - truth) / measured.se


def gabor_bank(table, p):
    """Clean Gabors (K, p, p) of a parameter table (the columns of fit_gabors)."""
    table = {k: np.asarray(v, dtype=np.float64) for k, v in table.items()}
    table["sigma_x"] = table["nx"] / table["freq"]
    table["sigma_y"] = table["ny"] / table["freq"]
    table["amplitude"] = np.ones_like(table["freq"])
    return gabor_from_table(table, (p, p))


#: four Gabors covering even, odd and mixed phases, four orientations and a range of shapes (8 x 8 patch)
SMALL_GABORS = {"x0": [3.5, 3.2, 3.8, 3.5], "y0": [3.5, 3.8, 3.3, 3.6], "theta": [0.3, 1.2, 2.0, 2.8],
                "freq": [0.2, 0.25, 0.18, 0.3], "phase": [0.0, np.pi / 2, np.pi, -np.pi / 4],
                "nx": [0.3, 0.45, 0.25, 0.5], "ny": [0.4, 0.6, 0.35, 0.7]}


def orthonormal_gabors(p=8):
    """The SMALL_GABORS made exactly orthonormal (rows), so that an unpenalised code is linear."""
    flat = gabor_bank(SMALL_GABORS, p).reshape(4, -1)
    q, _ = np.linalg.qr(flat.T)
    return (q.T * np.sign(np.sum(q.T * flat, axis=1))[:, None]).reshape(4, p, p).astype(np.float32)


def linear_sparse_coding_bank(atoms):
    """A sparse-coding bank with lam = 0 over orthonormal atoms: its code is the linear a = D x."""
    return FilterBank(filters=atoms, basis=atoms, method="sparse_coding",
                      config={"method": "sparse_coding", "patch_size": atoms.shape[-1], "lam": 0.0, "objective": "l1"})


# ----------------------------------------------------------------- linear units: exact answers


@pytest.mark.parametrize("stimulus", STIMULI)
def test_whitened_linear_filter_measures_the_whitening_kernel_applied_to_it(stimulus):
    atoms = orthonormal_gabors()
    truth = whitening_kernel_applied(atoms)
    measured = measure_receptive_fields(linear_sparse_coding_bank(atoms), 8, stimulus=stimulus, n_stimuli=16384)
    z = z_scores(measured, truth)
    assert measured.front_end == "olshausen_field" and measured.window == 22
    assert 0.7 < np.mean(z ** 2) < 1.4          # the stated error is the actual error
    assert np.abs(z).max() < 5.5
    assert np.linalg.norm(measured.rfs - truth) / np.linalg.norm(truth) < 0.1
    # the whitened-space atoms themselves are not the stimulus-space RFs: even rescaled, far outside the error
    alpha = np.sum(atoms * measured.rfs, axis=(1, 2), keepdims=True) / np.sum(atoms ** 2, axis=(1, 2), keepdims=True)
    assert np.mean(((measured.rfs - alpha * atoms) / measured.se) ** 2) > 3


def test_linear_rf_does_not_depend_on_contrast_or_the_ensemble():
    atoms = orthonormal_gabors()
    bank = linear_sparse_coding_bank(atoms)
    low = measure_receptive_fields(bank, 8, n_stimuli=16384, contrast=0.25, random_state=3)
    noise = measure_receptive_fields(bank, 8, stimulus="white_noise", n_stimuli=16384, contrast=4.0, random_state=4)
    z = (low.rfs - noise.rfs) / np.hypot(low.se, noise.se)
    assert 0.7 < np.mean(z ** 2) < 1.4


@pytest.fixture(scope="module")
def small_ica():
    images = load_images("default")[:4]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ICA(n_components=12, max_iter=100, random_state=0).fit_images(images, patch_size=8, n_patches=4000)


@pytest.mark.parametrize("stimulus", STIMULI)
def test_ica_measures_its_filters_not_its_basis(small_ica, stimulus):
    filters = small_ica.filters_.reshape(-1, 8, 8)
    truth = filters - filters.mean(axis=(1, 2), keepdims=True)     # ICA removes each patch's mean first
    measured = measure_receptive_fields(small_ica, 8, stimulus=stimulus, n_stimuli=8192, random_state=1)
    z = z_scores(measured, truth)
    assert measured.front_end == "dc_removed"
    assert 0.7 < np.mean(z ** 2) < 1.4 and np.abs(z).max() < 5.5
    basis = small_ica.basis_.reshape(-1, 8, 8)
    for k in range(len(basis)):
        b = basis[k].ravel() - basis[k].mean()
        alpha = b @ measured.rfs[k].ravel() / (b @ b)
        assert np.mean(((measured.rfs[k] - alpha * basis[k]) / measured.se[k]) ** 2) > 3


def test_ica_bank_measures_as_the_fitted_learner(small_ica):
    bank = small_ica.filter_bank((8, 8), method="ica", config={"method": "ica"})
    from_bank = measure_receptive_fields(bank, 8, n_stimuli=1024, random_state=2)
    from_learner = measure_receptive_fields(small_ica, 8, n_stimuli=1024, random_state=2)
    np.testing.assert_allclose(from_bank.rfs, from_learner.rfs, rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------------- an LN neuron with a known Gabor


GABORS_16 = {"x0": [7.5, 7.0, 8.2], "y0": [7.5, 8.0, 7.2], "theta": [0.4, 1.6, 2.6], "freq": [0.12, 0.16, 0.2],
             "phase": [0.0, np.pi / 2, -2.2], "nx": [0.35, 0.5, 0.7], "ny": [0.5, 0.9, 0.6]}


def poisson_neurons(gabors, gain, seed):
    """Rectified linear Gabor neurons with Poisson spike counts (fresh noise on every call)."""
    weights = gabors.reshape(len(gabors), -1)
    rng = np.random.default_rng(seed)

    def respond(patches):
        rate = gain * np.maximum(patches.reshape(len(patches), -1) @ weights.T, 0.0)
        return rng.poisson(rate).astype(np.float64)

    return respond


@pytest.mark.parametrize("stimulus", STIMULI)
def test_poisson_gabor_neuron_gives_back_its_gabor_parameters(stimulus):
    gabors = gabor_bank(GABORS_16, 16)
    measured = measure_receptive_fields(poisson_neurons(gabors, gain=2.0, seed=5), 16, stimulus=stimulus,
                                        n_stimuli=32768, random_state=6)
    assert measured.front_end == "raw" and measured.responsive.all()
    # relu(a) - relu(-a) = a: the pair's half difference is linear, so the kernel is gain / 2 times the
    # Gabor (less its mean over the window for Hartley, the one direction no grating probes)
    # Gabor (less its mean over the window for Hartley, the one direction no grating probes).  A Hartley
    # estimate's error is a sum of the few gratings the unit answers, smooth across pixels, so the mean z²
    # of 768 pixels has few degrees of freedom (about 100: SD 0.14)
    window_mean = gabors.sum(axis=(1, 2), keepdims=True) / measured.window ** 2 if stimulus == "hartley" else 0.0
    z = z_scores(measured, 2.0 * 0.5 * (gabors - window_mean))
    assert 0.55 < np.mean(z ** 2) < 1.5
    fit = fit_gabors(measured.rfs)
    truth = GABORS_16
    angle = np.angle(np.exp(2j * (fit["theta"] - np.array(truth["theta"])))) / 2
    assert np.all(np.abs(angle) < np.deg2rad(5))
    np.testing.assert_allclose(fit["freq"], truth["freq"], rtol=0.06)
    np.testing.assert_allclose(fit["nx"], truth["nx"], rtol=0.12)
    np.testing.assert_allclose(fit["ny"], truth["ny"], rtol=0.12)
    assert np.all(fit["r2"] > 0.9)


# ----------------------------------------------------------------- nonlinear codes


@pytest.fixture(scope="module")
def small_sparse_code():
    images = load_images("default")[:4]
    return SparseCoding(n_components=48, inference="cd", n_steps=60, batch_size=256,
                        random_state=0).fit_images(images, patch_size=8)


def test_sparse_code_rfs_are_precise_reproducible_and_their_se_is_the_spread_between_seeds(small_sparse_code):
    first = measure_receptive_fields(small_sparse_code, 8, n_stimuli=8192, random_state=0)
    again = measure_receptive_fields(small_sparse_code, 8, n_stimuli=8192, random_state=0)
    other = measure_receptive_fields(small_sparse_code, 8, n_stimuli=8192, random_state=1)
    np.testing.assert_array_equal(first.rfs, again.rfs)
    assert first.responsive.all() and np.isfinite(first.rfs).all()
    assert np.median(first.peak_to_se()) > 10
    assert 0 < first.response_fraction.min() and first.response_fraction.max() < 0.5   # a sparse code
    z = (first.rfs - other.rfs) / np.hypot(first.se, other.se)
    assert 0.75 < np.mean(z ** 2) < 1.3
    # lateral competition changes the RF, but it stays close to the atom's stimulus-space image
    expected = whitening_kernel_applied(small_sparse_code.components_.reshape(-1, 8, 8))
    cosine = np.sum(first.rfs * expected, axis=(1, 2)) / np.linalg.norm(first.rfs.reshape(48, -1), axis=1) \
        / np.linalg.norm(expected.reshape(48, -1), axis=1)
    assert np.median(cosine) > 0.8


def test_sparse_code_bank_measures_as_the_fitted_learner(small_sparse_code):
    config = {"method": "sparse_coding", **small_sparse_code.get_params()}
    bank = small_sparse_code.filter_bank((8, 8), method="sparse_coding", config=config)
    from_bank = measure_receptive_fields(bank, 8, n_stimuli=2048, random_state=3)
    from_learner = measure_receptive_fields(small_sparse_code, 8, n_stimuli=2048, random_state=3)
    np.testing.assert_array_equal(from_bank.rfs, from_learner.rfs)


def test_linear_sparse_cnn_measures_the_whitening_kernel_applied_to_its_centre_kernel():
    """With lam = 0 the unrolled encoder is linear; its kernel at the canvas centre, found by feeding it
    every pixel alone, whitened, is the known stimulus-space RF."""
    p = 6
    rng = np.random.default_rng(0)
    atoms = rng.standard_normal((3, p, p)).astype(np.float32)
    atoms /= np.linalg.norm(atoms.reshape(3, -1), axis=1)[:, None, None]
    cnn = SparseCNN(n_components=3, lam=0.0, n_iter=2).set_atoms(atoms)
    canvas = 3 * p - 2
    deltas = torch.zeros(p * p, 1, canvas, canvas)
    deltas[torch.arange(p * p), 0, p - 1 + torch.arange(p * p) // p, p - 1 + torch.arange(p * p) % p] = 1.0
    with torch.no_grad():
        codes = encode(deltas, torch.as_tensor(atoms[:, None]), make_objective("l1", 0.0), cnn.step_size_, 2,
                       interior_mask(canvas, canvas, p, "cpu"))
    kernels = codes[:, :, p - 1, p - 1].numpy().T.reshape(3, p, p)
    truth = whitening_kernel_applied(kernels)
    bank = cnn.filter_bank((p, p), method="sparse_cnn", config={"method": "sparse_cnn", **cnn.get_params()})
    measured = measure_receptive_fields(bank, p, n_stimuli=8192)
    assert 0.7 < np.mean(z_scores(measured, truth) ** 2) < 1.4


def test_single_sailnet_unit_under_white_noise_measures_its_filter_up_to_gain():
    """One unit has no lateral inhibition; its spike count is a monotone function of its Gaussian drive
    under whitened white noise, so its first-order kernel is proportional to K * Q (Bussgang)."""
    data = np.random.default_rng(1).standard_normal((200, 64)).astype(np.float32)
    net = SAILnet(n_components=1, normalize="global", n_steps=3, batch_size=50, initial_threshold=1.0).fit(data)
    truth = whitening_kernel_applied(net.components_.reshape(1, 8, 8))[0]
    measured = measure_receptive_fields(net, 8, stimulus="white_noise", n_stimuli=16384, random_state=2)
    rf, se = measured.rfs[0], measured.se[0]
    gain = np.sum(rf * truth / se ** 2) / np.sum(truth ** 2 / se ** 2)
    assert gain > 0 and 0.05 < measured.response_fraction[0] < 0.95
    assert 0.7 < np.mean(((rf - gain * truth) / se) ** 2) < 1.5


@pytest.fixture(scope="module")
def small_sailnet():
    images = load_images("default")[:4]
    return SAILnet(n_components=16, n_steps=20, batch_size=100, random_state=0).fit_images(images, patch_size=8)


def sailnet_bank_of(learner):
    return learner.filter_bank((8, 8), method="sailnet", config={"method": "sailnet", **learner.get_params()})


def test_sailnet_bank_measures_as_the_fitted_learner(small_sailnet):
    bank = sailnet_bank_of(small_sailnet)
    from_bank = measure_receptive_fields(bank, 8, n_stimuli=1024, random_state=3)
    from_learner = measure_receptive_fields(small_sailnet, 8, n_stimuli=1024, random_state=3)
    assert from_learner.responsive.any()
    np.testing.assert_array_equal(from_bank.rfs, from_learner.rfs)
    np.testing.assert_array_equal(from_bank.se, from_learner.se)
    np.testing.assert_array_equal(from_bank.response_fraction, from_learner.response_fraction)
    # the state is what the spikes depend on: other thresholds, other receptive fields
    bank.state["thresholds_"] = bank.state["thresholds_"] + 1.0
    raised = measure_receptive_fields(bank, 8, n_stimuli=1024, random_state=3)
    assert raised.response_fraction.sum() < from_learner.response_fraction.sum()


def test_sailnet_bank_keeps_its_state_through_npz(small_sailnet, tmp_path):
    bank = sailnet_bank_of(small_sailnet)
    assert sorted(bank.state) == ["lateral_", "n_steps_", "scale_", "thresholds_"]
    np.testing.assert_array_equal(bank.state["lateral_"], small_sailnet.lateral_)
    np.testing.assert_array_equal(bank.state["thresholds_"], small_sailnet.thresholds_)
    assert float(bank.state["scale_"]) == small_sailnet.scale_ and int(bank.state["n_steps_"]) == 20
    loaded = FilterBank.load(bank.save(tmp_path / "bank.npz"))
    assert sorted(loaded.state) == sorted(bank.state)
    for name, value in bank.state.items():
        assert loaded.state[name].dtype == value.dtype
        np.testing.assert_array_equal(loaded.state[name], value)
    np.testing.assert_array_equal(measure_receptive_fields(loaded, 8, n_stimuli=512, random_state=4).rfs,
                                  measure_receptive_fields(small_sailnet, 8, n_stimuli=512, random_state=4).rfs)


def test_bank_without_state_loads_with_an_empty_state(small_sparse_code, small_sailnet):
    assert small_sparse_code.filter_bank((8, 8), method="sparse_coding").state == {}
    arrays = sailnet_bank_of(small_sailnet).to_arrays()
    old = FilterBank.from_arrays({k: v for k, v in arrays.items() if not k.startswith("state_")})
    assert old.state == {}
    with pytest.raises(InputError, match="lacks thresholds_, lateral_, scale_, n_steps_ in its state"):
        measure_receptive_fields(old, 8)


# ----------------------------------------------------------------- flags, records and bad input


def test_silent_unit_has_nan_rf_and_is_flagged():
    weights = orthonormal_gabors().reshape(4, -1).astype(np.float64)

    def respond(patches):
        drive = patches.reshape(len(patches), -1) @ weights.T
        drive[:, 2] = 0.0
        return drive

    measured = measure_receptive_fields(respond, 8, n_stimuli=512)
    assert measured.responsive.tolist() == [True, True, False, True]
    assert np.isnan(measured.rfs[2]).all() and np.isnan(measured.se[2]).all() and measured.response_fraction[2] == 0
    assert np.isnan(measured.peak_to_se()[2]) and np.isfinite(measured.rfs[[0, 1, 3]]).all()


def test_record_round_trips_through_arrays():
    measured = measure_receptive_fields(linear_sparse_coding_bank(orthonormal_gabors()), 8, n_stimuli=512, random_state=7)
    back = ReceptiveFields.from_arrays(measured.to_arrays())
    np.testing.assert_array_equal(back.rfs, measured.rfs)
    assert (back.stimulus, back.n_stimuli, back.seed, back.window) == ("hartley", 512, 7, 22)


def test_bad_input_raises_one_line_input_error():
    bank = linear_sparse_coding_bank(orthonormal_gabors())
    sailnet_bank = FilterBank(filters=bank.filters, basis=bank.basis, method="sailnet")
    cases = [
        (lambda: measure_receptive_fields(bank, 8, stimulus="pink_noise"), "stimulus"),
        (lambda: measure_receptive_fields(bank, 8, n_stimuli=513), "n_stimuli"),
        (lambda: measure_receptive_fields(bank, 12), "patch_size"),
        (lambda: measure_receptive_fields(bank, 8, contrast=0.0), "contrast"),
        (lambda: measure_receptive_fields(SparseCoding(), 8), "not fitted"),
        (lambda: measure_receptive_fields(sailnet_bank, 8), "SAILnet"),
        (lambda: measure_receptive_fields(42, 8), "model"),
        (lambda: measure_receptive_fields(lambda x: x.sum(axis=(1, 2)), 8, n_stimuli=8), "shape"),
        (lambda: measure_receptive_fields(lambda x: np.full((len(x), 2), np.nan), 8, n_stimuli=8), "NaN"),
    ]
    for call, word in cases:
        with pytest.raises(InputError, match=word) as error:
            call()
        assert "\n" not in str(error.value)
