"""Recordings to fit encoding models to: the :data:`DATASETS` registry and a user's own files.

A :class:`Recordings` holds training and test stimuli (n, H, W) and responses (n, cells) or
(repeats, n, cells).  :func:`load_recordings` takes

* ``"antolik2016"``: mouse V1 layer 2/3 responses (spike rates inferred from two-photon calcium
  imaging) to natural images, three regions, the S1 Dataset of Antolík, Hofer, Bednar &
  Mrsic-Flogel (2016, PLoS Comput Biol 12:e1004927; CC BY 4.0), loaded from the data cache once
  :func:`fetch_antolik2016` has downloaded it, checked its content against the published layout
  and recorded its SHA-256 (trust on first use: no checksum was published); ``"antolik2016:DIR"`` loads a copy
  unpacked in ``DIR`` (the folder holding ``region1``, ``region2``, ``region3``);
* the path of an ``.npz`` file, or of a folder of ``.npy`` files, in the user layout
  (:data:`USER_LAYOUT`).

Layout of the S1 Dataset (the zip unpacks to ``Data/``), per region ``Data/regionN/``:
``training_inputs.npy`` (n, 31*31) images, flattened; ``training_set.npy`` (n, cells);
``validation_inputs.npy`` (50, 31*31); ``validation_set.npy`` (50, cells), the trial average;
``raw_validation_set.npy`` (repeats, 50, cells), the single trials.  The 50 "validation" images
are the held-out test set (Klindt et al. 2017 used them so).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..storage.atomic import write_text
from ..data.sources import file_sha256
from ..errors import InputError
from ..registry import Registry
from .population import check_recordings

DATASETS: Registry = Registry("recordings")

#: arrays of the user layout: an .npz with these keys, or a folder with these names + ".npy"
USER_LAYOUT = {
    "train_stimuli": "(n, H, W) images",
    "train_responses": "(n, cells), or (repeats, n, cells) for repeated presentations",
    "test_stimuli": "(m, H, W) held-out images, same H and W",
    "test_responses": "(m, cells) or (repeats, m, cells); repeats give the noise ceiling (FEVE)",
}

ANTOLIK2016_URL = "https://doi.org/10.1371/journal.pcbi.1004927.s001"
#: a pinned SHA-256 of the S1 Dataset, if one is ever published; None: trust on first use (see :func:`fetch_antolik2016`)
ANTOLIK2016_SHA256: str | None = None
ANTOLIK2016_REGIONS = (1, 2, 3)
#: what the published layout fixes, per region: (training images, cells)
ANTOLIK2016_SHAPES = {1: (1800, 103), 2: (1260, 55), 3: (1800, 102)}
#: test ("validation") images per region, and pixels per flattened 31 x 31 image
ANTOLIK2016_N_TEST = 50
ANTOLIK2016_PIXELS = 31 * 31
_ANTOLIK2016_ZIP = "antolik2016_S1_Dataset.zip"
_ANTOLIK2016_RECORD = "sha256_first_download.txt"
_ANTOLIK2016_FILES = ("training_inputs", "training_set", "validation_inputs", "validation_set", "raw_validation_set")


@dataclass
class Recordings:
    """Training and held-out test data of one recorded population.

    Parameters
    ----------
    name : str
        The population's name.
    train_stimuli : ndarray
        Training images, shape (n, H, W).
    train_responses : ndarray
        Training responses, shape (n, cells) or (repeats, n, cells).
    test_stimuli : ndarray
        Held-out images, shape (m, H, W).
    test_responses : ndarray
        Held-out responses, shape (m, cells) or (repeats, m, cells).
    description : str, default ""
        Where the data come from, in words.
    """

    name: str
    train_stimuli: np.ndarray
    train_responses: np.ndarray
    test_stimuli: np.ndarray
    test_responses: np.ndarray
    description: str = ""

    def __post_init__(self):
        self.train_stimuli, self.train_responses = check_recordings(self.train_stimuli, self.train_responses)
        self.test_stimuli, self.test_responses = check_recordings(self.test_stimuli, self.test_responses)
        if self.train_stimuli.shape[1:] != self.test_stimuli.shape[1:]:
            raise InputError(f"{self.name}: test images {self.test_stimuli.shape[1:]} differ in size from the training "
                             f"images {self.train_stimuli.shape[1:]}")
        if self.train_responses.shape[-1] != self.test_responses.shape[-1]:
            raise InputError(f"{self.name}: test responses hold {self.test_responses.shape[-1]} cells, training "
                             f"responses {self.train_responses.shape[-1]}")

    @property
    def n_cells(self) -> int:
        return int(self.train_responses.shape[-1])


def load_recordings(spec: str, **kwargs: Any) -> list[Recordings]:
    """The recordings named by ``spec`` (see the module docstring): a registered dataset (with an
    optional ``:argument``) or the path of a user ``.npz`` file or folder.

    Parameters
    ----------
    spec : str
        A registered dataset name, optionally with ``:argument``, or a path.
    **kwargs
        Keyword arguments of the registered dataset's loader.
    """
    spec = str(spec)
    name, _, argument = spec.partition(":")
    if name in DATASETS:
        return DATASETS.get(name)(argument or None, **kwargs)
    if Path(spec).expanduser().exists():
        return [load_user_recordings(spec)]
    raise InputError(f"unknown recordings {spec!r}; expected one of {', '.join(DATASETS.names())} or the path of an "
                     ".npz file or folder in the documented layout (docs/encoding.md)")


def load_user_recordings(path: str | os.PathLike[str]) -> Recordings:
    """A user's recordings: an ``.npz`` file with the arrays of :data:`USER_LAYOUT`, or a folder
    holding them as ``.npy`` files.

    Parameters
    ----------
    path : str or os.PathLike
        An ``.npz`` file or a folder of ``.npy`` files.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        files = {key: path / f"{key}.npy" for key in USER_LAYOUT}
        missing = [str(f.name) for f in files.values() if not f.is_file()]
        if missing:
            raise InputError(f"recordings folder {path} lacks {', '.join(missing)}; expected "
                             f"{', '.join(f'{k}.npy' for k in USER_LAYOUT)}")
        arrays = {key: _load_npy(f) for key, f in files.items()}
    else:
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except Exception as exc:
            raise InputError(f"cannot read recordings file {path}: {type(exc).__name__}: {exc}") from None
        missing = [key for key in USER_LAYOUT if key not in arrays]
        if missing:
            raise InputError(f"recordings file {path} lacks {', '.join(missing)}; expected the arrays "
                             f"{', '.join(USER_LAYOUT)}")
    return Recordings(name=path.stem, description=f"user recordings {path}", **{k: arrays[k] for k in USER_LAYOUT})


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:
        raise InputError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None


# ------------------------------------------------------------------------------------- antolik2016


def antolik2016_folder() -> Path:
    """Where :func:`fetch_antolik2016` keeps the dataset: ``<data cache>/antolik2016``."""
    from ..data import data_dir

    return data_dir() / "antolik2016"


def _download(url: str, fname: str, folder: Path) -> Path:
    """Fetch ``url`` into ``folder/fname`` with pooch (separate so tests can replace it).  No hash is
    given to pooch: the SHA-256 is checked by :func:`fetch_antolik2016` itself."""
    import pooch

    return Path(pooch.retrieve(url, known_hash=ANTOLIK2016_SHA256 and f"sha256:{ANTOLIK2016_SHA256}",
                               fname=fname, path=folder, progressbar=False))


def check_antolik2016_layout(data: Path, regions: Sequence[int] = ANTOLIK2016_REGIONS) -> dict:
    """Check the content that the published layout fixes, in ``data`` (the folder of ``regionN``).

    Per region: the five files exist; ``training_inputs`` is (n, 961) and ``training_set`` (n, cells) with
    the published (n, cells) (1800 x 103, 1260 x 55, 1800 x 102 for regions 1-3); ``validation_inputs``
    is (50, 961); ``validation_set`` is (50, cells); ``raw_validation_set`` is (repeats >= 2, 50, cells).
    A mismatch is a one-line :class:`InputError` naming the file and what was expected.  Returns the
    repeat count of each region (read from ``raw_validation_set``).

    Parameters
    ----------
    data : pathlib.Path
        The folder holding the ``regionN`` folders.
    regions : sequence of int, default ANTOLIK2016_REGIONS
        The regions to check.
    """
    repeats = {}
    for region in regions:
        if region not in ANTOLIK2016_REGIONS:
            raise InputError(f"antolik2016 has regions {ANTOLIK2016_REGIONS}, got {region!r}")
        folder = data / f"region{region}"
        n, cells = ANTOLIK2016_SHAPES[region]
        expected = {"training_inputs": (n, ANTOLIK2016_PIXELS), "training_set": (n, cells),
                    "validation_inputs": (ANTOLIK2016_N_TEST, ANTOLIK2016_PIXELS),
                    "validation_set": (ANTOLIK2016_N_TEST, cells), "raw_validation_set": (ANTOLIK2016_N_TEST, cells)}
        for name, shape in expected.items():
            path = folder / f"{name}.npy"
            wanted = f"(repeats >= 2, {shape[0]}, {shape[1]})" if name == "raw_validation_set" else str(shape)
            if not path.is_file():
                raise InputError(f"antolik2016: {path} is missing; expected an array of shape {wanted}")
            try:
                actual = tuple(np.load(path, mmap_mode="r", allow_pickle=False).shape)
            except Exception as exc:
                raise InputError(f"antolik2016: cannot read {path} ({type(exc).__name__}); expected an array of "
                                 f"shape {wanted}") from None
            fits = (len(actual) == 3 and actual[0] >= 2 and actual[1:] == shape) if name == "raw_validation_set" \
                else actual == shape
            if not fits:
                raise InputError(f"antolik2016: {path} has shape {actual}; the published layout has {wanted}")
            if name == "raw_validation_set":
                repeats[region] = int(actual[0])
    return repeats


def fetch_antolik2016(*, expected_sha256: str | None = None) -> Path:
    """Download the S1 Dataset of Antolík et al. (2016) into the data cache, check it, unpack it.

    No checksum was published with the article, so the first download is trusted on first use, made
    explicit: its SHA-256 is printed and recorded (``sha256_first_download.txt`` in the cache folder),
    and its content is checked against what the published layout fixes
    (:func:`check_antolik2016_layout`: the files of each region and their array shapes).  Every later
    call and every load from the cache verifies the archive against the recorded SHA-256.
    ``expected_sha256`` (or a pinned :data:`ANTOLIK2016_SHA256`) is required to match when given.
    Returns the folder holding ``region1``..``region3``.

    Parameters
    ----------
    expected_sha256 : str or None, default None
        The SHA-256 the archive must have (None: the pinned or recorded one).
    """
    folder = antolik2016_folder()
    data = folder / "Data"
    archive = folder / _ANTOLIK2016_ZIP
    record = folder / _ANTOLIK2016_RECORD
    if record.is_file():
        verify_antolik2016_cache()
        return data
    folder.mkdir(parents=True, exist_ok=True)
    if not archive.is_file():
        try:
            archive = _download(ANTOLIK2016_URL, _ANTOLIK2016_ZIP, folder)
        except Exception as exc:
            raise InputError(f"could not download {ANTOLIK2016_URL} into {folder}: {exc}; download it by hand, save it "
                             f"as {folder / _ANTOLIK2016_ZIP} and call fetch_antolik2016 again") from None
    sha = file_sha256(archive)
    expected = ANTOLIK2016_SHA256 or expected_sha256
    if expected is not None and expected.strip().lower() != sha:
        raise InputError(f"antolik2016: {archive} has SHA-256 {sha}, not the expected {expected}; delete it to "
                         "download it again")
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.namelist():
            target = (folder / member).resolve()
            if not target.is_relative_to(folder.resolve()):
                raise InputError(f"antolik2016: {archive} holds a path outside its folder ({member}); not unpacked")
        zipped.extractall(folder)
    if not data.is_dir():
        raise InputError(f"antolik2016: {archive} did not unpack to a Data folder; is it the S1 Dataset?")
    check_antolik2016_layout(data)
    print(f"antolik2016: trusted on first use: {archive} has SHA-256 {sha} (recorded in {record}; no checksum was "
          "published to compare it with)")
    write_text(record, sha + "\n")
    return data


def verify_antolik2016_cache() -> Path:
    """The cached ``Data`` folder, after checking the archive against the SHA-256 recorded at its first
    download (a one-line error when they differ or when the archive is gone)."""
    folder = antolik2016_folder()
    record, archive = folder / _ANTOLIK2016_RECORD, folder / _ANTOLIK2016_ZIP
    recorded = record.read_text().strip()
    if not archive.is_file():
        raise InputError(f"antolik2016: {archive} is gone, so the cache cannot be verified against the SHA-256 "
                         f"recorded at first download ({recorded}); delete {folder} and fetch again")
    sha = file_sha256(archive)
    if sha != recorded:
        raise InputError(f"antolik2016: {archive} has SHA-256 {sha}, not the {recorded} recorded at its first download "
                         f"({record}); delete {folder} and fetch again")
    return folder / "Data"


@DATASETS.register("antolik2016")
def load_antolik2016(folder: str | None = None, *, regions: Sequence[int] = ANTOLIK2016_REGIONS) -> list[Recordings]:
    """The three regions (or ``regions``) of the S1 Dataset, from the data cache or ``folder``.

    Images are (n, 31, 31) as stored (the trial-averaged, inferred spike rates are the responses;
    test responses are the single trials of ``raw_validation_set.npy``, (repeats, 50, cells)).

    Parameters
    ----------
    folder : str or None, default None
        A folder holding ``region1``..``region3`` (None: the data cache, downloaded when absent).
    regions : sequence of int, default ANTOLIK2016_REGIONS
        The regions to load.
    """
    if folder is None:
        cache = antolik2016_folder()
        if not (cache / _ANTOLIK2016_RECORD).is_file():
            raise InputError(f"the antolik2016 recordings are not in the data cache ({cache}); fetch them once with "
                             "effcode.encoding.fetch_antolik2016() (needs the internet), or give a copy with "
                             "recordings=antolik2016:/path/to/Data")
        base = verify_antolik2016_cache()
    else:
        base = Path(folder).expanduser()
    check_antolik2016_layout(base, regions)
    out = []
    for region in regions:
        path = base / f"region{region}"
        names = ("training_inputs", "training_set", "validation_inputs", "raw_validation_set")
        train_inputs, train_set, test_inputs, test_trials = (_load_npy(path / f"{n}.npy") for n in names)
        out.append(Recordings(name=f"antolik2016 region {region}", train_stimuli=_images(train_inputs, path),
                              train_responses=train_set, test_stimuli=_images(test_inputs, path),
                              test_responses=test_trials,
                              description=f"Antolík et al. 2016 S1 Dataset, region {region} ({path})"))
    return out


def _images(flat: np.ndarray, path: Path) -> np.ndarray:
    side = int(round(np.sqrt(flat.shape[-1]))) if flat.ndim == 2 else 0
    if side * side != (flat.shape[-1] if flat.ndim == 2 else -1):
        raise InputError(f"antolik2016: {path} holds inputs of shape {flat.shape}; expected (n, side*side) flattened "
                         "square images")
    return flat.reshape(len(flat), side, side)
