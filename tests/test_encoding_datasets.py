"""Recordings for encoding models: the user layout, the antolik2016 layout and its confirmed download (no network)."""

import hashlib
import zipfile

import numpy as np
import pytest

from effcode.encoding import DATASETS, Recordings, datasets, fetch_antolik2016, load_recordings
from effcode.errors import InputError


def user_arrays(seed=0, n=60, m=20, cells=3, side=8, repeats=4):
    rng = np.random.default_rng(seed)
    return {"train_stimuli": rng.normal(size=(n, side, side)), "train_responses": rng.poisson(2.0, (n, cells)),
            "test_stimuli": rng.normal(size=(m, side, side)),
            "test_responses": rng.poisson(2.0, (repeats, m, cells))}


def test_user_recordings_from_an_npz_and_a_folder(tmp_path):
    arrays = user_arrays()
    np.savez(tmp_path / "mine.npz", **arrays)
    folder = tmp_path / "mine"
    folder.mkdir()
    for key, value in arrays.items():
        np.save(folder / f"{key}.npy", value)
    for spec in (tmp_path / "mine.npz", folder):
        [rec] = load_recordings(str(spec))
        assert rec.name == "mine" and rec.n_cells == 3
        np.testing.assert_array_equal(rec.test_responses, arrays["test_responses"])
        assert rec.train_stimuli.shape == (60, 8, 8)


@pytest.mark.parametrize("change, message", [
    (lambda a: a.pop("test_stimuli"), "lacks test_stimuli"),
    (lambda a: a.update(test_stimuli=a["test_stimuli"][:, :6, :6]), "differ in size"),
    (lambda a: a.update(train_responses=a["train_responses"][:-2]), "hold 58 stimuli"),
    (lambda a: a.update(test_responses=a["test_responses"][..., :2]), "hold 2 cells"),
])
def test_bad_user_recordings_are_one_line_errors(tmp_path, change, message):
    arrays = user_arrays()
    change(arrays)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(InputError, match=message) as info:
        load_recordings(str(tmp_path / "bad.npz"))
    assert "\n" not in str(info.value)


def test_unknown_recordings_name_the_choices():
    with pytest.raises(InputError, match="unknown recordings 'nope'; expected one of antolik2016"):
        load_recordings("nope")
    assert "antolik2016" in DATASETS


# -- antolik2016 --------------------------------------------------------------------------------------------

def write_antolik_layout(base, regions=(1, 2, 3), side=31, cells=(7, 5, 6), n=40, repeats=3):
    """Small files in the S1 Dataset's layout: Data/regionN/{training,validation}_inputs.npy (flattened
    images), training_set.npy, validation_set.npy, raw_validation_set.npy (repeats, 50, cells)."""
    rng = np.random.default_rng(0)
    for region in regions:
        folder = base / "Data" / f"region{region}"
        folder.mkdir(parents=True)
        k = cells[region - 1]
        raw = rng.gamma(1.0, 0.1, size=(repeats, 50, k))
        np.save(folder / "training_inputs.npy", rng.normal(size=(n, side * side)) * 1e-4)
        np.save(folder / "training_set.npy", rng.gamma(1.0, 0.1, size=(n, k)))
        np.save(folder / "validation_inputs.npy", rng.normal(size=(50, side * side)) * 1e-4)
        np.save(folder / "validation_set.npy", raw.mean(axis=0))
        np.save(folder / "raw_validation_set.npy", raw)
    return base / "Data"


def test_antolik2016_loads_every_region_from_a_folder(tmp_path):
    data = write_antolik_layout(tmp_path)
    regions = load_recordings(f"antolik2016:{data}")
    assert [r.name for r in regions] == [f"antolik2016 region {i}" for i in (1, 2, 3)]
    assert [r.n_cells for r in regions] == [7, 5, 6]
    assert regions[0].train_stimuli.shape == (40, 31, 31) and regions[0].test_responses.shape == (3, 50, 7)
    [second] = datasets.load_antolik2016(str(data), regions=(2,))
    assert second.name == "antolik2016 region 2"
    with pytest.raises(InputError, match="has regions"):
        datasets.load_antolik2016(str(data), regions=(4,))


def test_antolik2016_not_in_the_cache_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("EFFCODE_DATA_DIR", str(tmp_path))
    with pytest.raises(InputError, match="not in the data cache") as info:
        load_recordings("antolik2016")
    assert "\n" not in str(info.value)


@pytest.fixture
def fake_download(tmp_path, monkeypatch):
    """The journal's zip, built locally; the downloader copies it (no network)."""
    source = tmp_path / "source"
    write_antolik_layout(source)
    archive = tmp_path / "S1_Dataset.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(source.rglob("*")):
            zipped.write(path, path.relative_to(source).as_posix())
    calls = []

    def download(url, fname, folder):
        calls.append(url)
        target = folder / fname
        target.write_bytes(archive.read_bytes())
        return target

    cache = tmp_path / "cache"
    monkeypatch.setenv("EFFCODE_DATA_DIR", str(cache))
    monkeypatch.delenv(datasets.ANTOLIK2016_CONFIRM_ENV, raising=False)
    monkeypatch.setattr(datasets, "_download", download)
    return {"sha": hashlib.sha256(archive.read_bytes()).hexdigest(), "calls": calls, "cache": cache}


def test_the_download_is_refused_until_its_checksum_is_confirmed(fake_download, capsys, monkeypatch):
    assert datasets.ANTOLIK2016_SHA256 is None     # not published: nothing pinned, so the user must confirm
    with pytest.raises(InputError, match="cannot be verified"):
        fetch_antolik2016()
    assert fake_download["sha"] in capsys.readouterr().out       # printed for the user to check
    with pytest.raises(InputError, match="not in the data cache"):
        load_recordings("antolik2016")                           # nothing unpacked
    with pytest.raises(InputError, match="not the confirmed"):
        fetch_antolik2016(confirm_sha256="0" * 64)
    monkeypatch.setenv(datasets.ANTOLIK2016_CONFIRM_ENV, fake_download["sha"])
    data = fetch_antolik2016()
    assert fake_download["calls"] == [datasets.ANTOLIK2016_URL]    # downloaded once, reused after
    assert data == fake_download["cache"] / "antolik2016" / "Data"
    monkeypatch.delenv(datasets.ANTOLIK2016_CONFIRM_ENV)
    regions = load_recordings("antolik2016")                       # confirmed once: loads from the cache
    assert [r.n_cells for r in regions] == [7, 5, 6]


def test_recordings_check_their_arrays():
    with pytest.raises(InputError, match="differ in size"):
        Recordings("x", np.zeros((5, 8, 8)), np.zeros((5, 2)), np.zeros((3, 9, 9)), np.zeros((3, 2)))
