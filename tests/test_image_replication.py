"""Seeds replicate over images (issue 24, item 4): each seed learns from its own random subset of the
source's images, in the experiments' banks and in sweeps alike, recorded in the provenance and the cache key."""

import itertools

import numpy as np
import pytest

from effcode.data import IMAGE_FRACTION, make_image, seed_images, subset_size
from effcode.errors import InputError
from effcode.runs import Run, read_json


def test_half_of_eleven_images_is_six_and_one_keeps_all():
    assert IMAGE_FRACTION == 0.5
    assert subset_size(11, 0.5) == 6 and subset_size(10, 0.5) == 5 and subset_size(10, 0.3) == 3
    assert subset_size(1, 0.5) == 1 and subset_size(11, 1.0) == 11 and subset_size(3, 0.01) == 1
    images = list("abcdefghijk")
    assert seed_images(images, random_state=3, fraction=1.0) == images


def test_a_seed_always_draws_the_same_subset_in_the_source_order():
    images = list("abcdefghijk")
    chosen = seed_images(images, random_state=7)
    assert chosen == seed_images(images, random_state=7) and len(chosen) == 6
    assert chosen == sorted(chosen, key=images.index)


def test_subsets_are_uniform_over_images_and_overlap_as_sampling_without_replacement_predicts():
    n_images, seeds = 11, range(3000)
    subsets = [set(seed_images(range(n_images), random_state=s)) for s in seeds]
    inclusion = np.array([[i in chosen for i in range(n_images)] for chosen in subsets]).mean(axis=0)
    # each image is drawn with probability m / N = 6/11; binomial SD over 3000 seeds is 0.009
    assert np.abs(inclusion - 6 / 11).max() < 0.04
    overlap = np.mean([len(subsets[s] & subsets[s + 1]) for s in range(0, len(subsets) - 1, 2)])
    assert overlap == pytest.approx(6 * 6 / 11, abs=0.1)      # hypergeometric mean m²/N = 3.27
    assert len({frozenset(s) for s in subsets[:3]}) == 3        # seeds 0, 1, 2 learn from different images


@pytest.mark.parametrize("fraction", [0.0, 1.5, -0.2, True, "half"])
def test_a_fraction_outside_0_to_1_is_refused(fraction):
    with pytest.raises(InputError, match="image_fraction"):
        seed_images(list("abc"), random_state=0, fraction=fraction)


def test_no_images_and_a_negative_seed_are_refused():
    with pytest.raises(InputError, match="at least one image"):
        seed_images([], random_state=0)
    with pytest.raises(InputError, match="random_state"):
        seed_images(list("abc"), random_state=-1)


def test_every_experiment_config_has_the_key_with_the_data_default_and_checks_it():
    from effcode.experiments import get_experiment
    from effcode.runs.declaration import COMMON_DEFAULTS

    assert COMMON_DEFAULTS["image_fraction"] == IMAGE_FRACTION
    exp = get_experiment("01")
    assert exp.config()["image_fraction"] == IMAGE_FRACTION
    assert exp.config(overrides={"image_fraction": 1})["image_fraction"] == 1.0
    for bad in (0, 1.2):
        with pytest.raises(InputError, match="image_fraction"):
            exp.config(overrides={"image_fraction": bad})


def _textures(n=6, size=48):
    """``n`` distinct smooth random images (a moving average of white noise), as effcode Images."""
    rng = np.random.default_rng(11)
    kernel = np.ones(3) / 3
    out = []
    for i in range(n):
        noise = rng.standard_normal((size, size))
        smooth = np.apply_along_axis(np.convolve, 0, np.apply_along_axis(np.convolve, 1, noise, kernel, "same"),
                                     kernel, "same")
        out.append(make_image(smooth, f"textures/{i}", "in-memory"))
    return out


def test_two_seeds_of_a_bank_learn_from_different_images_recorded_in_the_provenance(tmp_path):
    from effcode.experiments.common import BankSpec, learned_bank

    images = _textures()
    run = Run(tmp_path / "exp", {"seed": 0, "image_fraction": 0.5})
    run.start()
    spec = BankSpec("sparse_coding", patch_size=6, n_filters=4, params={"n_steps": 3, "batch_size": 16})
    banks = {s: learned_bank(run, spec.with_seed(s), images) for s in (0, 1)}
    used = {s: [im["id"] for im in bank.provenance["images"]] for s, bank in banks.items()}
    assert used[0] != used[1] and all(len(ids) == 3 for ids in used.values())
    assert used[0] == [im.id for im in seed_images(images, random_state=0)]
    run.finish()
    assert read_json(run.path("provenance.json"))["image_subsets"] == [{"seed": s, "images": used[s]} for s in (0, 1)]
    # the fraction is part of the cache key: all six images make a new bank, and the same seed's subset reuses it
    every = learned_bank(Run(tmp_path / "exp", {"seed": 0, "image_fraction": 1.0}), spec, images)
    assert len(every.provenance["images"]) == 6
    again = learned_bank(Run(tmp_path / "exp", {"seed": 0, "image_fraction": 0.5}), spec, images)
    assert np.array_equal(again.basis, banks[0].basis) and not np.array_equal(every.basis, banks[0].basis)


def test_a_sweep_point_learns_from_the_same_subset_as_the_bank_of_its_seed(tmp_path, monkeypatch):
    from skimage import data, io

    import effcode.v1
    from effcode.data import load_images
    from effcode.experiments.common import learn_and_score

    monkeypatch.setattr(effcode.v1, "score_population", lambda bank, **settings: None)   # only the images matter
    camera = data.camera()
    for i, (r, c) in enumerate(itertools.product((0, 200, 400), (50, 300))):
        io.imsave(tmp_path / f"crop{i}.png", camera[r:r + 64, c:c + 64], check_contrast=False)
    point = {"method": "sparse_coding", "source": str(tmp_path), "n_filters": 4, "patch_size": 6, "seed": 2,
             "device": "cpu", "n_steps": 3, "batch_size": 16}
    _, bank = learn_and_score(point)
    expected = [im.id for im in seed_images(load_images(str(tmp_path)), random_state=2)]
    assert [im["id"] for im in bank.provenance["images"]] == expected and len(expected) == 3
    _, every = learn_and_score({**point, "image_fraction": 1.0})
    assert len(every.provenance["images"]) == 6


def test_the_interval_note_says_whether_seeds_vary_the_images():
    from effcode.experiments.seed_report import seeds_note

    half = seeds_note(3, image_fraction=0.5)
    assert half.startswith("Values are the mean and 95% t-interval over 3 seeds")
    assert "Each seed learned from its own random 50% of the images" in half and "variation over images" in half
    assert "initialisation and patch order only, not over images" in seeds_note(3, image_fraction=1.0)
    assert "images" not in seeds_note(3) and "images" in seeds_note(1, image_fraction=0.5)
