"""The bad-input suite (docs/bad_input.md): every user-facing entry point fails fast with a clear
InputError that names the input and says what was expected."""

import numpy as np
import pytest

from effcode.errors import InputError

rng = np.random.default_rng(0)
PATCHES = rng.standard_normal((200, 36)).astype(np.float32)
NAN_PATCHES = PATCHES.copy()
NAN_PATCHES[3, 4] = np.nan


def _learn(method, **kw):
    from effcode import learn_filters

    return learn_filters(method, **kw)


def _fit(method, X, **params):
    from effcode.learners import make_learner

    return make_learner(method, **params).fit(X)


def _sampler(images, patch_size, **kw):
    from effcode.data import PatchSampler

    return PatchSampler(images, patch_size, **kw).sample(10)


def _whiten(images):
    from effcode.data import whiten_images

    return whiten_images(images)


def _fit_gabors(filters):
    from effcode.gabor import fit_gabors

    return fit_gabors(filters)


def _load(source):
    from effcode.data import load_images

    return load_images(source)


def _sweep_file(tmp_path, text):
    from effcode.cli import main

    path = tmp_path / "grid.yml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        main(["sweep", "--file", str(path), "--debug", "--results", str(tmp_path)])
    return str(info.value)


CASES = [
    # (id, call, words the message must contain)
    ("unknown source", lambda: _load("no-such-source"), ["no-such-source", "default"]),
    ("unknown learner", lambda: _learn("nope"), ["unknown learner 'nope'", "sparse_coding"]),
    ("unknown learner parameter", lambda: _learn("sparse_coding", source="default", sparsity=3), ["sparsity"]),
    ("n_filters <= 0", lambda: _learn("sparse_coding", n_filters=0), ["n_filters", ">= 1"]),
    ("patch_size too small", lambda: _learn("ica", patch_size=1), ["patch_size"]),
    ("patch larger than every image", lambda: _sampler([np.ones((10, 10))], 16), ["patch", "16"]),
    ("NaN pixels", lambda: _sampler([np.full((20, 20), np.nan)], 4), ["NaN"]),
    ("constant image", lambda: _whiten([np.ones((32, 32))]), ["constant"]),
    ("empty image list", lambda: _whiten([]), ["image"]),
    ("sparse coding: 3-D array", lambda: _fit("sparse_coding", np.ones((4, 6, 6))), ["X", "2-D"]),
    ("sparse coding: NaN", lambda: _fit("sparse_coding", NAN_PATCHES, n_components=4, n_steps=1), ["NaN"]),
    ("sparse coding: bad objective", lambda: _fit("sparse_coding", PATCHES, objective="l7"), ["objective", "l1"]),
    ("sparse coding: bad inference", lambda: _fit("sparse_coding", PATCHES, inference="magic"), ["inference"]),
    ("sparse coding: negative lam", lambda: _fit("sparse_coding", PATCHES, lam=-1.0), ["lam"]),
    ("sailnet: NaN", lambda: _fit("sailnet", NAN_PATCHES, n_components=4, n_steps=1), ["NaN"]),
    ("sailnet: bad normalize", lambda: _fit("sailnet", PATCHES, normalize="zca"), ["normalize", "patch"]),
    ("sailnet: target rate <= 0", lambda: _fit("sailnet", PATCHES, p=0.0), ["p must be > 0"]),
    ("ica: bad algorithm", lambda: _fit("ica", PATCHES, algorithm="pca"), ["algorithm"]),
    ("ica: string array", lambda: _fit("ica", np.array([["a", "b"], ["c", "d"]])), ["numeric"]),
    ("gabor fit: 2-D array", lambda: _fit_gabors(np.ones((4, 16))), ["filters", "3-D"]),
    ("gabor fit: NaN filter", lambda: _fit_gabors(np.full((2, 8, 8), np.nan)), ["NaN"]),
]


@pytest.mark.parametrize("call, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_entry_point_fails_fast_with_a_clear_message(call, words):
    with pytest.raises(InputError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message.strip()
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"


def test_empty_folder(tmp_path):
    with pytest.raises(InputError, match="no PNG, JPEG or TIFF|no image"):
        _load(str(tmp_path))


@pytest.mark.parametrize("text, words", [
    ("[1, 2, 3]", ["mapping"]),
    ("grid: {lam: [0.1]}\nextra: 1", ["unknown key", "extra"]),
    ("grid: {lam: 0.1}", ["lam", "list"]),
    ("grid: [unclosed", ["not valid yaml"]),
])
def test_bad_sweep_file(tmp_path, text, words):
    message = _sweep_file(tmp_path, text).lower()
    for word in words:
        assert word.lower() in message


def test_an_allocation_larger_than_memory_is_refused_before_it_starts(monkeypatch):
    from effcode import validation
    from effcode.learners.sailnet import SAILnet
    from effcode.learners.sparse_coding import SparseCoding

    monkeypatch.setattr(validation, "available_memory", lambda: 2**30)       # pretend 1 GiB is free
    X = np.random.default_rng(0).standard_normal((64, 36)).astype(np.float32)
    for model, what in ((SparseCoding(20_000, n_steps=1), "sparse coding with 20000 atoms"),
                        (SAILnet(20_000, n_steps=1), "SAILnet with 20000 units")):
        with pytest.raises(InputError, match=rf"{what} needs about \d+\.\d GiB, more than the 1.0 GiB available; "
                                             r"lower n_components"):
            model.fit(X)
    SparseCoding(16, n_steps=1, batch_size=32).fit(X)                        # small fits are untouched
