"""Recordings to fit encoding models to: the :data:`DATASETS` registry and a user's own files.

A :class:`Recordings` holds training and test stimuli (n, H, W) and responses (n, cells) or
(repeats, n, cells).  :func:`load_recordings` takes

* ``"antolik2016"``: mouse V1 layer 2/3 responses (spike rates inferred from two-photon calcium
  imaging) to natural images, three regions, the S1 Dataset of Antolík, Hofer, Bednar &
  Mrsic-Flogel (2016, PLoS Comput Biol 12:e1004927; CC BY 4.0), loaded from the data cache once
  :func:`fetch_antolik2016` has downloaded and confirmed it; ``"antolik2016:DIR"`` loads a copy
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
#: the S1 Dataset's SHA-256: not published with the article, and not yet verified by effcode
#: (the file could not be downloaded where this was written). Pin it here once verified.
ANTOLIK2016_SHA256: str | None = None
#: environment variable that confirms the downloaded file's SHA-256 (same effect as ``confirm_sha256``)
ANTOLIK2016_CONFIRM_ENV = "EFFCODE_ANTOLIK2016_SHA256"
ANTOLIK2016_REGIONS = (1, 2, 3)
_ANTOLIK2016_ZIP = "antolik2016_S1_Dataset.zip"
_ANTOLIK2016_RECORD = "confirmed_sha256.txt"


@dataclass
class Recordings:
    """Training and held-out test data of one recorded population."""

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


def load_recordings(spec: str, **kwargs) -> list[Recordings]:
    """The recordings named by ``spec`` (see the module docstring): a registered dataset (with an
    optional ``:argument``) or the path of a user ``.npz`` file or folder."""
    spec = str(spec)
    name, _, argument = spec.partition(":")
    if name in DATASETS:
        return DATASETS.get(name)(argument or None, **kwargs)
    if Path(spec).expanduser().exists():
        return [load_user_recordings(spec)]
    raise InputError(f"unknown recordings {spec!r}; expected one of {', '.join(DATASETS.names())} or the path of an "
                     ".npz file or folder in the documented layout (docs/encoding.md)")


def load_user_recordings(path) -> Recordings:
    """A user's recordings: an ``.npz`` file with the arrays of :data:`USER_LAYOUT`, or a folder
    holding them as ``.npy`` files."""
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


def fetch_antolik2016(*, confirm_sha256: str | None = None) -> Path:
    """Download the S1 Dataset of Antolík et al. (2016) into the data cache, check it, unpack it.

    The article publishes no checksum, so the first download cannot be verified automatically:
    its SHA-256 is printed and the file is unpacked only when the user confirms that value, with
    ``confirm_sha256=...`` or the environment variable ``EFFCODE_ANTOLIK2016_SHA256`` (once
    :data:`ANTOLIK2016_SHA256` is pinned in the code, that value is required instead).  The
    confirmed value is recorded, so later loads need no confirmation.  Returns the folder holding
    ``region1``..``region3``.
    """
    folder = antolik2016_folder()
    data = folder / "Data"
    record = folder / _ANTOLIK2016_RECORD
    if data.is_dir() and record.is_file():
        return data
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / _ANTOLIK2016_ZIP
    if not archive.is_file():
        try:
            archive = _download(ANTOLIK2016_URL, _ANTOLIK2016_ZIP, folder)
        except Exception as exc:
            raise InputError(f"could not download {ANTOLIK2016_URL} into {folder}: {exc}; download it by hand, save it "
                             f"as {folder / _ANTOLIK2016_ZIP} and call fetch_antolik2016 again") from None
    sha = file_sha256(archive)
    expected = ANTOLIK2016_SHA256 or confirm_sha256 or os.environ.get(ANTOLIK2016_CONFIRM_ENV)
    if expected is None:
        print(f"antolik2016: {archive} has SHA-256 {sha}")
        raise InputError(f"antolik2016: {archive} (SHA-256 {sha}) cannot be verified, because no checksum was "
                         "published; if you trust it, confirm with fetch_antolik2016(confirm_sha256='<that value>') or "
                         f"{ANTOLIK2016_CONFIRM_ENV}=<that value>")
    if expected.strip().lower() != sha:
        raise InputError(f"antolik2016: {archive} has SHA-256 {sha}, not the confirmed {expected}; delete it to "
                         "download it again")
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.namelist():
            target = (folder / member).resolve()
            if not target.is_relative_to(folder.resolve()):
                raise InputError(f"antolik2016: {archive} holds a path outside its folder ({member}); not unpacked")
        zipped.extractall(folder)
    if not data.is_dir():
        raise InputError(f"antolik2016: {archive} did not unpack to a Data folder; is it the S1 Dataset?")

    write_text(record, sha + "\n")
    return data


@DATASETS.register("antolik2016")
def load_antolik2016(folder: str | None = None, *, regions=ANTOLIK2016_REGIONS) -> list[Recordings]:
    """The three regions (or ``regions``) of the S1 Dataset, from the data cache or ``folder``.

    Images are (n, 31, 31) as stored (the trial-averaged, inferred spike rates are the responses;
    test responses are the single trials of ``raw_validation_set.npy``, (repeats, 50, cells))."""
    if folder is None:
        cache = antolik2016_folder()
        if not (cache / _ANTOLIK2016_RECORD).is_file():
            raise InputError(f"the antolik2016 recordings are not in the data cache ({cache}); fetch them once with "
                             "effcode.encoding.fetch_antolik2016() (needs the internet), or give a copy with "
                             "recordings=antolik2016:/path/to/Data")
        base = cache / "Data"
    else:
        base = Path(folder).expanduser()
    out = []
    for region in regions:
        if region not in ANTOLIK2016_REGIONS:
            raise InputError(f"antolik2016 has regions {ANTOLIK2016_REGIONS}, got {region!r}")
        path = base / f"region{region}"
        names = ("training_inputs", "training_set", "validation_inputs", "raw_validation_set")
        missing = [n for n in names if not (path / f"{n}.npy").is_file()]
        if missing:
            raise InputError(f"antolik2016 region {region}: {path} lacks {', '.join(m + '.npy' for m in missing)}")
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
