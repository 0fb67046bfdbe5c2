"""Image sources: photographs as 2-D float64 luminance arrays.

``load_images(source)`` returns a list of :class:`Image`.  ``source`` is one of

* ``"default"`` - eleven photographs bundled with scikit-image and scikit-learn (offline);
* a folder path - every PNG, JPEG and TIFF file in it;
* ``"olshausen"`` / ``"olshausen-raw"`` - the ten 512x512 images of Olshausen & Field (1996),
  whitened (``IMAGES.mat``) or not (``IMAGES_RAW.mat``), downloaded on request; a local copy
  is read with ``"olshausen:/path/IMAGES.mat"`` or by passing the ``.mat`` path itself;
* ``"vanhateren:DIR"`` - every ``.iml`` / ``.imc`` file of the van Hateren & van der Schaaf
  (1998) database in ``DIR``.

Luminance of colour photographs is the Rec. 709 weighted sum
``Y = 0.2126 R + 0.7152 G + 0.0722 B`` of the stored (gamma-encoded sRGB) values, in [0, 1].
With ``linearize_srgb=True`` the sRGB inverse transfer function is applied to each channel
first, so ``Y`` is proportional to relative linear luminance.  See ``docs/data.md``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from pathlib import Path

import numpy as np

from ..storage.atomic import read_json, write_json
from ..errors import InputError
from ..registry import Registry

SOURCES: Registry = Registry("image source")

REC709_WEIGHTS = np.array([0.2126, 0.7152, 0.0722])
FOLDER_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")

VANHATEREN_SHAPE = (1024, 1536)
VANHATEREN_BYTES = VANHATEREN_SHAPE[0] * VANHATEREN_SHAPE[1] * 2

OLSHAUSEN_URL = "http://www.rctn.org/bruno/sparsenet/"
# Published checksums of the Olshausen files.  The MD5 of IMAGES.mat is the one a public
# project (a Julia sparse-coding demo) pins for the same URL; no checksum of IMAGES_RAW.mat
# was found, so that file is trusted on first download and its SHA-256 recorded in
# ``checksums.json`` beside it (every later load is verified against the record).
OLSHAUSEN_PUBLISHED_HASH = {"IMAGES.mat": "md5:b20cb33935e95b556cb83bef5e9afcf1", "IMAGES_RAW.mat": None}
OLSHAUSEN_VARIABLES = {"IMAGES": ("olshausen", True), "IMAGESr": ("olshausen-raw", False)}
CHECKSUMS_FILE = "checksums.json"


@dataclasses.dataclass(frozen=True, eq=False)
class Image:
    """One image of a source.

    Parameters
    ----------
    array : ndarray of shape (rows, columns), float64
        Luminance: in [0, 1] for 8- and 16-bit files (stored integer / 255 or / 65535), linear
        counts / 65535 for van Hateren, values as stored in the ``.mat`` file for the Olshausen sets.
    id : str
        Stable name, ``"<source>/<name>"``, e.g. ``"default/astronaut"``.
    sha256 : str
        Hex SHA-256 of ``array`` (little-endian float64 bytes, row-major).
    source : str
        Where it came from: ``"default"``, ``"folder:<abs path>"``, ``"olshausen"``,
        ``"olshausen-raw"`` or ``"vanhateren:<abs path>"``.
    whitened : bool, default=False
        True when the image is already whitened (``IMAGES.mat``); learners should then skip
        Olshausen-Field whitening (:func:`effcode.data.whiten_images` does so).
    """

    array: np.ndarray = dataclasses.field(repr=False)
    id: str
    sha256: str
    source: str
    whitened: bool = False

    @property
    def shape(self) -> tuple[int, int]:
        return self.array.shape

    def copy(self) -> "Image":
        return dataclasses.replace(self, array=self.array.copy())


def make_image(array: np.ndarray, image_id: str, source: str, whitened: bool = False) -> Image:
    """An :class:`Image` of ``array`` (as float64) with its hash computed.

    Parameters
    ----------
    array : ndarray
        The 2-D luminance.
    image_id : str
        The image's stable name, ``"<source>/<name>"``.
    source : str
        Where the image came from.
    whitened : bool, default False
        Whether the image is already whitened.
    """
    array = np.ascontiguousarray(array, dtype=np.float64)
    digest = hashlib.sha256(array.astype("<f8", copy=False).tobytes()).hexdigest()
    return Image(array=array, id=image_id, sha256=digest, source=source, whitened=whitened)


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """Inverse sRGB transfer function (IEC 61966-2-1): stored value in [0, 1] -> linear in [0, 1].

    Parameters
    ----------
    values : ndarray
        Stored sRGB values in [0, 1].
    """
    values = np.asarray(values, dtype=np.float64)
    return np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)


def to_luminance(pixels: np.ndarray, *, name: str, linearize_srgb: bool = False) -> np.ndarray:
    """Decoded pixels (integer or float; gray, gray+alpha, RGB or RGBA) -> 2-D float64 luminance.

    Unsigned integers are divided by their maximum (255, 65535), floats are used as stored.
    Colour is reduced with Rec. 709 weights; alpha is dropped.

    Parameters
    ----------
    pixels : ndarray
        The decoded pixels, shape (H, W) or (H, W, channels).
    name : str
        The image's name, used in error messages.
    linearize_srgb : bool, default False
        Whether to undo the sRGB transfer function before the luminance sum.
    """
    pixels = np.asarray(pixels)
    if np.issubdtype(pixels.dtype, np.unsignedinteger):
        values = pixels.astype(np.float64) / np.iinfo(pixels.dtype).max
    elif np.issubdtype(pixels.dtype, np.floating) or pixels.dtype == bool:
        values = pixels.astype(np.float64)
    else:
        raise InputError(f"{name}: unsupported pixel type {pixels.dtype}; expected unsigned integers or floats")
    if values.ndim == 3 and values.shape[-1] in (2, 3, 4):
        channels = values[..., :3] if values.shape[-1] >= 3 else values[..., :1]
    elif values.ndim == 2:
        channels = values[..., None]
    else:
        raise InputError(f"{name}: expected a single grayscale or RGB image, got pixel array of shape {pixels.shape}")
    if linearize_srgb:
        channels = srgb_to_linear(channels)
    if channels.shape[-1] == 1:
        return np.ascontiguousarray(channels[..., 0])
    return channels @ REC709_WEIGHTS


# ----------------------------------------------------------------------------- default

DEFAULT_SKIMAGE = ("astronaut", "camera", "coffee", "chelsea", "rocket", "brick", "grass", "gravel")
DEFAULT_SKLEARN = ("china.jpg", "flower.jpg")


def _default_pixels() -> list[tuple[str, np.ndarray]]:
    import skimage.data
    from sklearn.datasets import load_sample_images

    named = [(name, getattr(skimage.data, name)()) for name in DEFAULT_SKIMAGE]
    named.append(("motorcycle", skimage.data.stereo_motorcycle()[0]))  # left frame
    bundle = load_sample_images()
    by_name = {Path(f).name: img for f, img in zip(bundle.filenames, bundle.images)}
    named += [(Path(name).stem, by_name[name]) for name in DEFAULT_SKLEARN]
    return named


@functools.lru_cache(maxsize=2)
def _default_images(linearize_srgb: bool) -> tuple[Image, ...]:
    images = []
    for name, pixels in _default_pixels():
        lum = to_luminance(pixels, name=f"default/{name}", linearize_srgb=linearize_srgb)
        image = make_image(lum, f"default/{name}", "default")
        image.array.setflags(write=False)
        images.append(image)
    return tuple(images)


@SOURCES.register("default")
def load_default(argument: str | None = None, *, linearize_srgb: bool = False) -> list[Image]:
    """The eleven bundled photographs (no download): 8 from scikit-image, the left frame of
    ``stereo_motorcycle`` and scikit-learn's ``china.jpg`` and ``flower.jpg``."""
    if argument:
        raise InputError(f"image source 'default' takes no argument, got 'default:{argument}'")
    return [image.copy() for image in _default_images(bool(linearize_srgb))]


# ----------------------------------------------------------------------------- folders

def _read_pixels(path: Path) -> np.ndarray:
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            return tifffile.imread(path)
        from PIL import Image as PILImage

        with PILImage.open(path) as handle:
            handle.load()
            converted = handle.convert("RGB") if handle.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV") else handle
            pixels = np.asarray(converted)
        if pixels.dtype.kind == "i" and pixels.size and pixels.min() >= 0 and pixels.max() <= 65535:
            pixels = pixels.astype(np.uint16)  # PIL decodes 16-bit PNGs as int32
        return pixels
    except Exception as exc:  # truncated or corrupt files raise many different exception types
        raise InputError(f"cannot read image file {path}: {type(exc).__name__}: {exc}") from None


def load_file(path: str | os.PathLike, *, prefix: str, source: str, linearize_srgb: bool = False) -> Image:
    """One PNG/JPEG/TIFF file as an :class:`Image` with id ``"<prefix>/<file name>"``."""
    path = Path(path)
    pixels = _read_pixels(path)
    lum = to_luminance(pixels, name=str(path), linearize_srgb=linearize_srgb)
    if lum.ndim != 2 or min(lum.shape) < 1:
        raise InputError(f"image file {path} decoded to an empty array of shape {lum.shape}")
    return make_image(lum, f"{prefix}/{path.name}", source)


def load_folder(folder: str | os.PathLike, *, linearize_srgb: bool = False) -> list[Image]:
    """Every PNG, JPEG and TIFF in ``folder`` (not recursive), sorted by file name.

    Ids are ``"<folder name>/<file name>"``; 16-bit files keep their full depth (/ 65535).
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise InputError(f"image folder {folder} does not exist or is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FOLDER_SUFFIXES)
    if not files:
        raise InputError(f"image folder {folder} holds no PNG, JPEG or TIFF files")
    source = f"folder:{folder.resolve()}"
    return [load_file(p, prefix=folder.name, source=source, linearize_srgb=linearize_srgb) for p in files]


# ----------------------------------------------------------------------------- Olshausen

def data_dir() -> Path:
    """Where downloads are cached: ``$EFFCODE_DATA_DIR`` if set, else the user cache dir."""
    import pooch

    return Path(os.environ.get("EFFCODE_DATA_DIR") or pooch.os_cache("effcode")).expanduser()


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(url: str, known_hash: str | None, fname: str, folder: Path) -> Path:
    """Fetch ``url`` into ``folder/fname`` with pooch (separate so tests can replace it)."""
    import pooch

    return Path(pooch.retrieve(url, known_hash=known_hash, fname=fname, path=folder, progressbar=False))


def _verify_published(path: Path, known_hash: str) -> None:
    import pooch

    algorithm, expected = known_hash.split(":")
    if pooch.file_hash(str(path), alg=algorithm) != expected:
        raise InputError(f"{path} does not match its published {algorithm} checksum {expected}; "
                         f"delete it to download it again, or load a copy you trust with 'olshausen:{path}'")


def fetch_olshausen(fname: str = "IMAGES.mat") -> Path:
    """Path to a verified local copy of ``IMAGES.mat`` or ``IMAGES_RAW.mat``, downloading it if needed.

    A file already in :func:`data_dir` is used as is after verification.  Verification uses the
    published checksum where one is known, else the SHA-256 recorded in ``checksums.json`` at
    first download (or first use of a file placed there by hand).

    Parameters
    ----------
    fname : {"IMAGES.mat", "IMAGES_RAW.mat"}, default "IMAGES.mat"
        Which of the two files to return.
    """

    if fname not in OLSHAUSEN_PUBLISHED_HASH:
        raise InputError(f"unknown Olshausen file {fname!r}; expected one of {', '.join(OLSHAUSEN_PUBLISHED_HASH)}")
    folder = data_dir()
    path = folder / fname
    record_path = folder / CHECKSUMS_FILE
    records = read_json(record_path) if record_path.exists() else {}
    published = OLSHAUSEN_PUBLISHED_HASH[fname]
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        try:
            path = _download(OLSHAUSEN_URL + fname, published, fname, folder)
        except Exception as exc:
            raise InputError(f"could not download {OLSHAUSEN_URL + fname} into {folder}: {exc}; "
                             f"download it by hand and pass 'olshausen:/path/{fname}'") from None
    elif published:
        _verify_published(path, published)
    sha = file_sha256(path)
    if fname in records and records[fname] != sha:
        raise InputError(f"{path} has SHA-256 {sha} but {record_path} recorded {records[fname]}; "
                         "the file changed or is corrupt: delete it to download it again")
    if fname not in records:
        records[fname] = sha
        write_json(record_path, records)
    return path


def load_mat(path: str | os.PathLike) -> list[Image]:
    """Images from an Olshausen ``.mat`` file: variable ``IMAGES`` (whitened) or ``IMAGESr`` (raw),
    shape (rows, cols, n).  Values are kept as stored; ids are ``"olshausen/01"`` ... (1-based,
    as in MATLAB's ``IMAGES(:,:,1)``)."""
    import scipy.io

    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"Olshausen .mat file {path} does not exist")
    try:
        contents = scipy.io.loadmat(str(path))
    except Exception as exc:
        raise InputError(f"cannot read .mat file {path}: {type(exc).__name__}: {exc}") from None
    found = [key for key in OLSHAUSEN_VARIABLES if key in contents]
    if not found:
        names = ", ".join(k for k in contents if not k.startswith("__")) or "(none)"
        raise InputError(f"{path} holds no variable IMAGES or IMAGESr (found: {names})")
    stack = np.asarray(contents[found[0]])
    source, whitened = OLSHAUSEN_VARIABLES[found[0]]
    if stack.ndim != 3 or not np.issubdtype(stack.dtype, np.number):
        raise InputError(f"{path}: {found[0]} must be a numeric (rows, cols, n) array, got shape {stack.shape}")
    if not np.all(np.isfinite(stack)):
        raise InputError(f"{path}: {found[0]} contains NaN or Inf values")
    return [make_image(stack[:, :, i], f"{source}/{i + 1:02d}", source, whitened) for i in range(stack.shape[2])]


def _olshausen_loader(fname: str):
    def load(argument: str | None = None, *, linearize_srgb: bool = False) -> list[Image]:
        if linearize_srgb:
            raise InputError("linearize_srgb=True applies to sRGB photographs only; the Olshausen images are not sRGB")
        return load_mat(argument if argument else fetch_olshausen(fname))

    load.__doc__ = f"The Olshausen images from {fname} (downloaded unless a local path is given after ':')."
    return load


SOURCES.register("olshausen", _olshausen_loader("IMAGES.mat"))
SOURCES.register("olshausen-raw", _olshausen_loader("IMAGES_RAW.mat"))


# ----------------------------------------------------------------------------- van Hateren

def read_iml(path: str | os.PathLike) -> np.ndarray:
    """A van Hateren ``.iml``/``.imc`` file: headerless big-endian uint16, 1024 x 1536, as float64 / 65535."""
    path = Path(path)
    size = path.stat().st_size
    if size != VANHATEREN_BYTES:
        raise InputError(f"van Hateren file {path} has {size} bytes; expected exactly {VANHATEREN_BYTES} "
                         f"(1024 x 1536 big-endian uint16, no header)")
    counts = np.fromfile(path, dtype=">u2").reshape(VANHATEREN_SHAPE)
    return counts.astype(np.float64) / 65535.0


@SOURCES.register("vanhateren")
def load_vanhateren(argument: str | None = None, *, linearize_srgb: bool = False) -> list[Image]:
    """Every ``.iml``/``.imc`` file in the folder given after ``vanhateren:``, sorted by name.

    Values are linear (proportional to luminance): stored counts / 65535, no per-image rescaling.
    """
    if not argument:
        raise InputError("image source 'vanhateren' needs a folder: 'vanhateren:/path/to/iml_folder'")
    if linearize_srgb:
        raise InputError("linearize_srgb=True applies to sRGB photographs only; van Hateren images are already linear")
    folder = Path(argument).expanduser()
    if not folder.is_dir():
        raise InputError(f"van Hateren folder {folder} does not exist or is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".iml", ".imc"))
    if not files:
        raise InputError(f"van Hateren folder {folder} holds no .iml or .imc files")
    source = f"vanhateren:{folder.resolve()}"
    return [make_image(read_iml(p), f"vanhateren/{p.name}", source) for p in files]


# ----------------------------------------------------------------------------- entry point

def load_images(source: str | os.PathLike[str], *, linearize_srgb: bool = False) -> list[Image]:
    """Load the images of ``source`` as a list of :class:`Image` (2-D float64 luminance).

    ``source``: a registered name (``"default"``, ``"olshausen"``, ``"olshausen-raw"``), a name
    with an argument (``"olshausen:/path/IMAGES.mat"``, ``"vanhateren:/dir"``), a folder path
    (str or Path) or a path to an Olshausen ``.mat`` file.  ``linearize_srgb`` applies the sRGB
    inverse transfer function before the luminance sum (sRGB sources only).

    Parameters
    ----------
    source : str or os.PathLike
        A registered name, a name with an argument, a folder or an Olshausen ``.mat`` file.
    linearize_srgb : bool, default False
        Whether to undo the sRGB transfer function before the luminance sum.
    """
    if isinstance(source, os.PathLike) or (isinstance(source, str) and Path(source).expanduser().exists()):
        path = Path(source).expanduser()
        if path.is_dir():
            return load_folder(path, linearize_srgb=linearize_srgb)
        if path.suffix.lower() == ".mat":
            return _olshausen_loader("IMAGES.mat")(str(path), linearize_srgb=linearize_srgb)
        if path.suffix.lower() in FOLDER_SUFFIXES:
            return [load_file(path, prefix=path.parent.name, source=f"folder:{path.parent.resolve()}",
                              linearize_srgb=linearize_srgb)]
        raise InputError(f"image source path {path} must be a folder, an image file or a .mat file")
    if not isinstance(source, str):
        raise InputError(f"image source must be a name or a path, got {type(source).__name__}")
    name, _, argument = source.partition(":")
    if name not in SOURCES:
        known = ", ".join(SOURCES.names())
        raise InputError(f"unknown image source {source!r}; expected one of: {known}, an existing folder, "
                         "or 'olshausen:/path/IMAGES.mat' / 'vanhateren:/dir'")
    return SOURCES.get(name)(argument or None, linearize_srgb=linearize_srgb)
