import hashlib

import numpy as np
import pytest
import scipy.io
import tifffile
from PIL import Image as PILImage

from effcode.data import SOURCES, load_images, srgb_to_linear
from effcode.data import sources
from effcode.errors import InputError
from effcode.storage.atomic import read_json

DEFAULT_IDS = ["default/" + n for n in ("astronaut", "camera", "coffee", "chelsea", "rocket", "brick", "grass",
                                        "gravel", "motorcycle", "china", "flower")]


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """Any download attempt fails the test; the data dir is a fresh temporary folder."""
    def refuse(*args, **kwargs):
        raise AssertionError("tests must not download")

    monkeypatch.setattr(sources, "_download", refuse)
    monkeypatch.setenv("EFFCODE_DATA_DIR", str(tmp_path / "cache"))


def test_default_source_is_offline_luminance_in_unit_range():
    import skimage.data

    images = load_images("default")
    assert [im.id for im in images] == DEFAULT_IDS
    for im in images:
        assert im.array.ndim == 2 and im.array.dtype == np.float64
        assert 0.0 <= im.array.min() and im.array.max() <= 1.0 and im.array.std() > 0.02
        assert im.source == "default" and not im.whitened
        assert im.sha256 == hashlib.sha256(im.array.astype("<f8").tobytes()).hexdigest()
    rgb = skimage.data.astronaut() / 255.0
    np.testing.assert_allclose(images[0].array, rgb @ [0.2126, 0.7152, 0.0722])
    np.testing.assert_allclose(images[1].array, skimage.data.camera() / 255.0)
    np.testing.assert_allclose(images[8].array, skimage.data.stereo_motorcycle()[0] / 255.0 @ [0.2126, 0.7152, 0.0722])


def test_default_cache_returns_independent_copies():
    first = load_images("default")
    original = first[0].array.copy()
    first[0].array[:] = -5.0
    again = load_images("default")
    np.testing.assert_array_equal(again[0].array, original)
    assert [a.sha256 for a in again] == [b.sha256 for b in load_images("default")]


def test_linearize_srgb_matches_transfer_function():
    import skimage.data

    camera = load_images("default", linearize_srgb=True)[1].array
    np.testing.assert_allclose(camera, srgb_to_linear(skimage.data.camera() / 255.0))
    np.testing.assert_allclose(srgb_to_linear(np.array([0.0, 0.5, 1.0, 0.04])), [0.0, 0.21404, 1.0, 0.04 / 12.92],
                               rtol=1e-4)


def test_folder_source_reads_png_jpeg_tiff_sorted_with_full_depth(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (12, 15, 3), dtype=np.uint8)
    PILImage.fromarray(rgb).save(folder / "b_colour.png")
    deep = rng.integers(0, 65536, (10, 9), dtype=np.uint16)
    deep[0, 0], deep[0, 1] = 1, 65535
    tifffile.imwrite(folder / "a_deep.tif", deep)
    PILImage.fromarray(deep).save(folder / "c_deep.png")
    gray = np.tile(np.linspace(0, 255, 16).astype(np.uint8), (16, 1))
    PILImage.fromarray(gray).save(folder / "d_gray.JPG", quality=95)
    (folder / "notes.txt").write_text("not an image")

    images = load_images(folder)
    assert [im.id for im in images] == ["photos/a_deep.tif", "photos/b_colour.png", "photos/c_deep.png",
                                        "photos/d_gray.JPG"]
    np.testing.assert_array_equal(images[0].array, deep / 65535.0)  # 16 bits kept, not reduced to 8
    assert images[0].array[0, 0] == 1 / 65535
    np.testing.assert_allclose(images[1].array, rgb / 255.0 @ [0.2126, 0.7152, 0.0722])
    np.testing.assert_array_equal(images[2].array, deep / 65535.0)
    np.testing.assert_allclose(images[3].array, gray / 255.0, atol=0.03)  # JPEG is lossy
    assert all(im.source == f"folder:{folder.resolve()}" for im in images)
    assert [im.id for im in load_images(str(folder))] == [im.id for im in images]


def test_mat_files_local_paths_and_whitened_flag(tmp_path):
    stack = np.random.default_rng(0).standard_normal((24, 32, 3))
    scipy.io.savemat(tmp_path / "IMAGES.mat", {"IMAGES": stack})
    scipy.io.savemat(tmp_path / "IMAGES_RAW.mat", {"IMAGESr": stack + 5})
    for images in (load_images(f"olshausen:{tmp_path / 'IMAGES.mat'}"), load_images(tmp_path / "IMAGES.mat")):
        assert [im.id for im in images] == ["olshausen/01", "olshausen/02", "olshausen/03"]
        assert all(im.whitened and im.source == "olshausen" for im in images)
        np.testing.assert_array_equal(images[2].array, stack[:, :, 2])
    raw = load_images(f"olshausen-raw:{tmp_path / 'IMAGES_RAW.mat'}")
    assert raw[0].id == "olshausen-raw/01" and raw[0].source == "olshausen-raw" and not raw[0].whitened
    np.testing.assert_array_equal(raw[1].array, stack[:, :, 1] + 5)


def test_olshausen_from_data_dir_records_and_verifies_checksum(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    stack = np.random.default_rng(1).random((16, 16, 2))
    scipy.io.savemat(cache / "IMAGES_RAW.mat", {"IMAGESr": stack})
    images = load_images("olshausen-raw")
    np.testing.assert_array_equal(images[1].array, stack[:, :, 1])
    recorded = read_json(cache / "checksums.json")
    assert recorded["IMAGES_RAW.mat"] == hashlib.sha256((cache / "IMAGES_RAW.mat").read_bytes()).hexdigest()
    scipy.io.savemat(cache / "IMAGES_RAW.mat", {"IMAGESr": stack + 1})  # file changes behind our back
    with pytest.raises(InputError, match="SHA-256"):
        load_images("olshausen-raw")
    # IMAGES.mat has a published checksum: a different file is refused
    scipy.io.savemat(cache / "IMAGES.mat", {"IMAGES": stack})
    with pytest.raises(InputError, match="published md5"):
        load_images("olshausen")


def test_olshausen_download_goes_through_pooch_hook(tmp_path, monkeypatch):
    stack = np.random.default_rng(2).random((8, 8, 2))
    calls = []

    def fake_download(url, known_hash, fname, folder):
        calls.append((url, known_hash))
        scipy.io.savemat(folder / fname, {"IMAGESr": stack})
        return folder / fname

    monkeypatch.setattr(sources, "_download", fake_download)
    images = load_images("olshausen-raw")
    assert calls == [("http://www.rctn.org/bruno/sparsenet/IMAGES_RAW.mat", None)]
    assert len(images) == 2
    load_images("olshausen-raw")  # second call uses the cached, recorded file
    assert len(calls) == 1


def test_vanhateren_reads_big_endian_counts(tmp_path):
    rng = np.random.default_rng(0)
    counts = [rng.integers(0, 4096, (1024, 1536)).astype(">u2") for _ in range(2)]
    counts[1][0, 0] = 65535
    counts[0].tofile(tmp_path / "imk00002.iml")
    counts[1].tofile(tmp_path / "imk00001.imc")
    images = load_images(f"vanhateren:{tmp_path}")
    assert [im.id for im in images] == ["vanhateren/imk00001.imc", "vanhateren/imk00002.iml"]
    np.testing.assert_array_equal(images[1].array, counts[0].astype(np.float64) / 65535)
    assert images[0].array[0, 0] == 1.0
    with pytest.raises(InputError, match="already linear"):
        load_images(f"vanhateren:{tmp_path}", linearize_srgb=True)


def test_error_messages(tmp_path):
    with pytest.raises(InputError, match="unknown image source 'nope'.*default.*olshausen.*vanhateren"):
        load_images("nope")
    assert {"default", "olshausen", "olshausen-raw", "vanhateren"} <= set(SOURCES.names())
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="holds no PNG, JPEG or TIFF"):
        load_images(empty)
    with pytest.raises(InputError, match="holds no .iml"):
        load_images(f"vanhateren:{empty}")

    broken = tmp_path / "broken"
    broken.mkdir()
    PILImage.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)).save(broken / "x.png")
    data = (broken / "x.png").read_bytes()
    (broken / "x.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cannot read image file .*x\.png"):
        load_images(broken)

    wrong = tmp_path / "wrong"
    wrong.mkdir()
    np.zeros(1000, dtype=">u2").tofile(wrong / "imk1.iml")
    with pytest.raises(InputError, match=r"imk1\.iml has 2000 bytes; expected exactly 3145728"):
        load_images(f"vanhateren:{wrong}")

    scipy.io.savemat(tmp_path / "other.mat", {"X": np.zeros((4, 4, 2))})
    with pytest.raises(InputError, match="no variable IMAGES or IMAGESr"):
        load_images(tmp_path / "other.mat")
    (tmp_path / "junk.mat").write_bytes(b"not a mat file")
    with pytest.raises(InputError, match="cannot read .mat file"):
        load_images(f"olshausen:{tmp_path / 'junk.mat'}")
    with pytest.raises(InputError, match="not sRGB"):
        load_images(f"olshausen:{tmp_path / 'other.mat'}", linearize_srgb=True)
    with pytest.raises(InputError, match="takes no argument"):
        load_images("default:x")
