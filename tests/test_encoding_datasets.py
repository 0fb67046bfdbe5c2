"""Recordings for encoding models: the user layout, the antolik2016 layout checked by content, trust on first use
(no network), and the Antolík-shaped simulation."""

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

def write_antolik_layout(base, regions=(1, 2, 3), repeats=(10, 8, 12)):
    """Files in the S1 Dataset's layout and published shapes (float32, random content):
    Data/regionN/{training,validation}_inputs.npy (flattened 31 x 31 images), training_set.npy,
    validation_set.npy, raw_validation_set.npy (repeats, 50, cells)."""
    rng = np.random.default_rng(0)
    for region in regions:
        folder = base / "Data" / f"region{region}"
        folder.mkdir(parents=True)
        n, k = datasets.ANTOLIK2016_SHAPES[region]
        raw = rng.gamma(1.0, 0.1, size=(repeats[region - 1], 50, k)).astype(np.float32)
        np.save(folder / "training_inputs.npy", rng.normal(size=(n, 961)).astype(np.float32))
        np.save(folder / "training_set.npy", rng.gamma(1.0, 0.1, size=(n, k)).astype(np.float32))
        np.save(folder / "validation_inputs.npy", rng.normal(size=(50, 961)).astype(np.float32))
        np.save(folder / "validation_set.npy", raw.mean(axis=0))
        np.save(folder / "raw_validation_set.npy", raw)
    return base / "Data"


def test_antolik2016_loads_every_region_from_a_folder(tmp_path):
    data = write_antolik_layout(tmp_path)
    regions = load_recordings(f"antolik2016:{data}")
    assert [r.name for r in regions] == [f"antolik2016 region {i}" for i in (1, 2, 3)]
    assert [r.n_cells for r in regions] == [103, 55, 102]
    assert regions[0].train_stimuli.shape == (1800, 31, 31) and regions[0].test_responses.shape == (10, 50, 103)
    assert datasets.check_antolik2016_layout(data) == {1: 10, 2: 8, 3: 12}   # repeats from raw_validation_set
    [second] = datasets.load_antolik2016(str(data), regions=(2,))
    assert second.name == "antolik2016 region 2"
    with pytest.raises(InputError, match="has regions"):
        datasets.load_antolik2016(str(data), regions=(4,))


@pytest.mark.parametrize("file, array, message", [
    ("region2/training_set.npy", np.zeros((1260, 54)), r"training_set.npy has shape \(1260, 54\); the published layout "
                                                       r"has \(1260, 55\)"),
    ("region1/validation_inputs.npy", np.zeros((50, 900)), r"validation_inputs.npy has shape \(50, 900\); the "
                                                           r"published layout has \(50, 961\)"),
    ("region3/raw_validation_set.npy", np.zeros((1, 50, 102)), r"raw_validation_set.npy has shape \(1, 50, 102\); the "
                                                               r"published layout has \(repeats >= 2, 50, 102\)"),
    ("region1/training_inputs.npy", None, r"training_inputs.npy is missing; expected an array of shape \(1800, 961\)"),
])
def test_a_layout_mismatch_is_a_one_line_error_naming_the_file(tmp_path, file, array, message):
    data = write_antolik_layout(tmp_path)
    if array is None:
        (data / file).unlink()
    else:
        np.save(data / file, array)
    with pytest.raises(InputError, match=message) as info:
        load_recordings(f"antolik2016:{data}")
    assert "\n" not in str(info.value)


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
    monkeypatch.setattr(datasets, "_download", download)
    return {"sha": hashlib.sha256(archive.read_bytes()).hexdigest(), "calls": calls, "cache": cache}


def test_the_first_download_is_trusted_checked_by_content_recorded_and_verified_after(fake_download, capsys):
    assert datasets.ANTOLIK2016_SHA256 is None     # not published: trust on first use
    with pytest.raises(InputError, match="not the expected"):
        fetch_antolik2016(expected_sha256="0" * 64)
    with pytest.raises(InputError, match="not in the data cache"):
        load_recordings("antolik2016")                           # nothing recorded
    data = fetch_antolik2016()
    assert fake_download["sha"] in capsys.readouterr().out       # printed, and recorded
    folder = fake_download["cache"] / "antolik2016"
    assert (folder / "sha256_first_download.txt").read_text().strip() == fake_download["sha"]
    assert data == folder / "Data"
    assert fetch_antolik2016() == data
    assert fake_download["calls"] == [datasets.ANTOLIK2016_URL]    # downloaded once, reused after
    regions = load_recordings("antolik2016")                       # verified against the record, then loaded
    assert [r.n_cells for r in regions] == [103, 55, 102]
    (folder / "antolik2016_S1_Dataset.zip").write_bytes(b"changed")
    with pytest.raises(InputError, match="recorded at its first download") as info:
        load_recordings("antolik2016")
    assert "\n" not in str(info.value)


def test_a_download_of_the_wrong_layout_is_not_recorded(fake_download, tmp_path):
    (tmp_path / "source" / "Data" / "region2" / "training_set.npy").unlink()
    archive = tmp_path / "S1_Dataset.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted((tmp_path / "source").rglob("*")):
            zipped.write(path, path.relative_to(tmp_path / "source").as_posix())
    with pytest.raises(InputError, match="region2/training_set.npy is missing"):
        fetch_antolik2016()
    assert not (fake_download["cache"] / "antolik2016" / "sha256_first_download.txt").exists()


# -- the Antolík-shaped simulation ------------------------------------------------------------------------------

def test_the_simulation_has_the_published_shapes_and_calcium_like_responses():
    from effcode.encoding import simulate_antolik2016

    regions = simulate_antolik2016(random_state=0)
    assert [r.recordings.train_stimuli.shape for r in regions] == [(1800, 31, 31), (1260, 31, 31), (1800, 31, 31)]
    assert [r.recordings.test_responses.shape for r in regions] == [(10, 50, 103), (8, 50, 55), (12, 50, 102)]
    region = regions[1]
    y = region.recordings.train_responses
    assert np.all(y >= 0) and np.mean(y == 0) > 0.1 and np.mean(y != np.round(y)) > 0.5   # non-negative, continuous
    assert np.mean(region.kinds == "complex") == pytest.approx(0.4, abs=0.01)
    # the ground truth explains the test trials to the noise ceiling; the calcium-like noise is over-dispersed
    from effcode.encoding import feve_per_cell

    assert np.nanmedian(feve_per_cell(region.test_rate, region.recordings.test_responses)) > 0.9
    trials = region.recordings.test_responses
    assert np.median(trials.var(axis=0).mean(axis=0) / trials.mean(axis=(0, 1))) > 1.1
    again = simulate_antolik2016(random_state=0, regions=(2,))[0]
    np.testing.assert_array_equal(again.recordings.train_responses, y)              # same seed, same recordings
    assert [r.n_cells for r in load_recordings("antolik2016_sim:1")] == [103, 55, 102]


def test_recordings_check_their_arrays():
    with pytest.raises(InputError, match="differ in size"):
        Recordings("x", np.zeros((5, 8, 8)), np.zeros((5, 2)), np.zeros((3, 9, 9)), np.zeros((3, 2)))
