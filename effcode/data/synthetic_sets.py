"""Non-default image sets, made on the fly, offline and deterministically (fixed seeds).

They exist to check that learners' defaults, tuned on the ``"default"`` photographs, generalise.

* ``"dead_leaves"`` - :func:`dead_leaves_images`: 8 synthetic images of 256 x 512 pixels from the
  dead-leaves (occlusion) model.  No photograph is involved, so nothing is shared with the
  default images.
* ``"noisy_photos"`` - :func:`noisy_photo_images`: 8 photographs of 256 x 512 pixels re-rendered
  through a simulated camera sensor (Poisson-Gaussian noise in linear light, then 8-bit
  quantisation of the sRGB-encoded value).  Five of the eight come from photographs that are *not*
  in the default set (the right frame of scikit-image's ``stereo_motorcycle`` - the default set
  holds the *left* frame, so the scene is the same, seen from a slightly shifted viewpoint - and
  matplotlib's ``grace_hopper.jpg``); three are scikit-learn's / scikit-image's default photos
  ``china``, ``flower`` and ``rocket`` *downsampled* to 0.8x, so their content overlaps the default
  set but their scale, resolution and noise do not.  The set mimics a failing case reported for the
  sparse CNN: 8-bit 256 x 512 photographs with visible sensor noise.

Both are registered in :data:`effcode.data.sources.SOURCES`, so ``load_images("dead_leaves")`` and
``effcode run 01 --set source=dead_leaves`` work.  Nothing is ever downloaded: every input photo
ships inside scikit-image, scikit-learn or matplotlib.  See ``docs/data.md``.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..errors import InputError
from ..validation import seed_alias
from .sources import SOURCES, Image, make_image, srgb_to_linear, to_luminance

SET_SHAPE = (256, 512)

# dead leaves
DEAD_LEAVES_SEED = 20240601
DEAD_LEAVES_N = 8
DEAD_LEAVES_R_MIN = 1.0       # px, smallest disc radius
DEAD_LEAVES_R_MAX = 256.0     # px, largest disc radius
DEAD_LEAVES_EXPONENT = 3.0    # radius density p(r) ~ r^-3 (scale invariance -> ~1/f^2 power)
DEAD_LEAVES_BLUR = 0.6        # px, Gaussian blur sigma (optics), before 8-bit quantisation

# noisy photographs
NOISY_PHOTOS_SEED = 20240602
FULL_WELL = 1000.0            # photo-electrons at full white (linear luminance 1)
READ_NOISE = 2.0              # electrons RMS, Gaussian
DOWNSCALE = 0.8               # scale of the three default photos reused at a new resolution


def linear_to_srgb(values: np.ndarray) -> np.ndarray:
    """sRGB transfer function (IEC 61966-2-1): linear in [0, 1] -> encoded value in [0, 1]."""
    values = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    return np.where(values <= 0.0031308, 12.92 * values, 1.055 * values ** (1 / 2.4) - 0.055)


def quantise_8bit(values: np.ndarray) -> np.ndarray:
    """Round values in [0, 1] to the 256 levels k / 255 (clipping outside)."""
    return np.round(np.clip(values, 0.0, 1.0) * 255.0) / 255.0


# ----------------------------------------------------------------------------- dead leaves

@seed_alias
def dead_leaves(shape: tuple[int, int] = SET_SHAPE, *, r_min: float = DEAD_LEAVES_R_MIN,
                r_max: float = DEAD_LEAVES_R_MAX, exponent: float = DEAD_LEAVES_EXPONENT,
                blur: float = DEAD_LEAVES_BLUR, random_state: int = 0) -> np.ndarray:
    """One dead-leaves image (float64 in [0, 1], 8-bit levels).

    Model (Matheron; Lee, Mumford & Huang 2001): opaque discs ("leaves") fall one after another on
    the plane; each is hidden by those that fall later.  Each disc has a centre uniform over the
    image (extended by ``r_max`` on every side, so discs can enter from outside), a radius drawn
    from p(r) ~ r^-``exponent`` on [``r_min``, ``r_max``] (exponent 3 makes the model scale
    invariant between the two radii, giving a power spectrum close to 1/f^2 like natural images)
    and a grey level uniform on [0, 1].  The image is rendered front to back - the visible disc at a
    pixel is the *last* to fall, so discs are drawn in reverse order and each paints only pixels no
    earlier-drawn (nearer) disc has covered - until every pixel is covered.  A Gaussian blur of
    ``blur`` px (``0`` for none) stands in for optics; then values are quantised to 8 bits.

    Parameters
    ----------
    shape : tuple of int, default SET_SHAPE
        The image's (H, W) in pixels.
    r_min : float, default DEAD_LEAVES_R_MIN
        The smallest disc radius, pixels.
    r_max : float, default DEAD_LEAVES_R_MAX
        The largest disc radius, pixels.
    exponent : float, default DEAD_LEAVES_EXPONENT
        The radius density is ``p(r) ~ r**-exponent``, above 1 (3: scale invariant, close to 1/f^2
        power).
    blur : float, default DEAD_LEAVES_BLUR
        Standard deviation of the Gaussian blur, pixels (0: none).
    random_state : int, default 0
        Seed of the discs.
    """
    from scipy.ndimage import gaussian_filter

    rows, cols = shape
    if not (0 < r_min < r_max) or exponent <= 1:
        raise InputError(f"dead leaves need 0 < r_min < r_max and exponent > 1, got {r_min}, {r_max}, {exponent}")
    rng = np.random.default_rng(random_state)
    image = np.zeros(shape)
    covered = np.zeros(shape, dtype=bool)
    remaining = rows * cols
    a = 1.0 - exponent
    low, high = r_min ** a, r_max ** a
    yy = np.arange(rows)[:, None]
    xx = np.arange(cols)[None, :]
    while remaining:
        batch = 4096
        radius = (low + rng.random(batch) * (high - low)) ** (1.0 / a)  # inverse-CDF sampling
        cy = rng.uniform(-r_max, rows + r_max, batch)
        cx = rng.uniform(-r_max, cols + r_max, batch)
        grey = rng.random(batch)
        for r, y, x, g in zip(radius, cy, cx, grey):
            r0, r1 = max(int(np.floor(y - r)), 0), min(int(np.ceil(y + r)) + 1, rows)
            c0, c1 = max(int(np.floor(x - r)), 0), min(int(np.ceil(x + r)) + 1, cols)
            if r0 >= r1 or c0 >= c1:
                continue
            disc = (yy[r0:r1] - y) ** 2 + (xx[:, c0:c1] - x) ** 2 <= r * r
            new = disc & ~covered[r0:r1, c0:c1]
            n_new = int(new.sum())
            if n_new:
                image[r0:r1, c0:c1][new] = g
                covered[r0:r1, c0:c1] |= new
                remaining -= n_new
                if not remaining:
                    break
    if blur > 0:
        image = gaussian_filter(image, blur, mode="reflect")
    return quantise_8bit(image)


@functools.lru_cache(maxsize=1)
def _dead_leaves_set() -> tuple[Image, ...]:
    images = []
    for i in range(DEAD_LEAVES_N):
        image = make_image(dead_leaves(random_state=DEAD_LEAVES_SEED + i), f"dead_leaves/{i + 1:02d}", "dead_leaves")
        image.array.setflags(write=False)
        images.append(image)
    return tuple(images)


def dead_leaves_images() -> list[Image]:
    """The ``"dead_leaves"`` set: 8 images of 256 x 512, seeds 20240601 ... 20240608, radii
    1-256 px with density r^-3, grey levels U[0, 1], 0.6 px blur, 8-bit (see :func:`dead_leaves`)."""
    return [image.copy() for image in _dead_leaves_set()]


@SOURCES.register("dead_leaves")
def load_dead_leaves(argument: str | None = None, *, linearize_srgb: bool = False) -> list[Image]:
    """8 synthetic dead-leaves images (256 x 512, 8-bit levels; no download)."""
    if argument:
        raise InputError(f"image source 'dead_leaves' takes no argument, got 'dead_leaves:{argument}'")
    if linearize_srgb:
        raise InputError("linearize_srgb=True applies to sRGB photographs only; dead leaves are synthetic")
    return dead_leaves_images()


# ----------------------------------------------------------------------------- noisy photographs

def add_sensor_noise(encoded: np.ndarray, rng: np.random.Generator, *, full_well: float = FULL_WELL,
                     read_noise: float = READ_NOISE) -> np.ndarray:
    """Re-render an sRGB-encoded luminance image (values in [0, 1]) through a noisy 8-bit camera.

    Linear light ``L = srgb_to_linear(v)`` becomes ``full_well * L`` photo-electrons; the sensor
    records ``Poisson(full_well * L) + Normal(0, read_noise^2)`` (shot noise and read noise), which
    is divided by ``full_well``, clipped to [0, 1], sRGB-encoded and quantised to 8 bits.  With the
    defaults (1000 e- full well, 2 e- read noise) a mid-grey pixel (v = 0.5) gets noise of about
    4 grey levels RMS and dark pixels more, as in a compact camera at moderate ISO.
    """
    electrons = full_well * srgb_to_linear(np.clip(encoded, 0.0, 1.0))
    recorded = rng.poisson(electrons) + rng.normal(0.0, read_noise, electrons.shape)
    return quantise_8bit(linear_to_srgb(recorded / full_well))


def _noisy_photo_sources() -> list[tuple[str, np.ndarray]]:
    """(name, 256 x 512 sRGB-encoded luminance crop) of the eight photographs, before noise."""
    import matplotlib.cbook
    import skimage.data
    from PIL import Image as PILImage
    from skimage.transform import resize
    from sklearn.datasets import load_sample_images

    rows, cols = SET_SHAPE
    right = to_luminance(skimage.data.stereo_motorcycle()[1], name="stereo_motorcycle right")  # 500 x 741
    with PILImage.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as handle:
        hopper = to_luminance(np.asarray(handle.convert("RGB")), name="grace_hopper")  # 600 x 512
    bundle = load_sample_images()
    by_name = {name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]: img for name, img in zip(bundle.filenames, bundle.images)}

    def downscaled(pixels, name):
        lum = to_luminance(pixels, name=name)
        shape = (round(lum.shape[0] * DOWNSCALE), round(lum.shape[1] * DOWNSCALE))
        small = resize(lum, shape, order=3, anti_aliasing=True, mode="reflect")
        top = (small.shape[0] - rows) // 2
        return small[top:top + rows, :cols]

    right_small = resize(right, (round(right.shape[0] * 512 / 741), 512), order=3, anti_aliasing=True, mode="reflect")
    named = [
        ("motorcycle_right_top", right[:rows, :cols]),
        ("motorcycle_right_bottom", right[-rows:, -cols:]),
        ("motorcycle_right_small", right_small[(right_small.shape[0] - rows) // 2:][:rows]),
        ("grace_hopper_top", hopper[:rows]),
        ("grace_hopper_bottom", hopper[-rows:]),
        ("china_small", downscaled(by_name["china.jpg"], "china.jpg")),
        ("flower_small", downscaled(by_name["flower.jpg"], "flower.jpg")),
        ("rocket_small", downscaled(skimage.data.rocket(), "rocket")),
    ]
    for name, array in named:
        assert array.shape == SET_SHAPE, (name, array.shape)
    return named


@functools.lru_cache(maxsize=2)
def _noisy_photo_set(full_well: float = FULL_WELL) -> tuple[Image, ...]:
    images = []
    suffix = "" if full_well == FULL_WELL else f"@{full_well:g}e"
    for i, (name, clean) in enumerate(_noisy_photo_sources()):
        rng = np.random.default_rng(NOISY_PHOTOS_SEED + i)
        image = make_image(add_sensor_noise(clean, rng, full_well=full_well), f"noisy_photos/{name}{suffix}",
                           "noisy_photos")
        image.array.setflags(write=False)
        images.append(image)
    return tuple(images)


def noisy_photo_images(full_well: float = FULL_WELL) -> list[Image]:
    """The ``"noisy_photos"`` set: 8 photographs, 256 x 512, Poisson-Gaussian sensor noise, 8 bits.

    ``full_well``: photo-electrons at full white (default 1000, a compact camera at moderate ISO;
    250 is four times the shot-noise variance, a small sensor at high ISO).

    Crops, in order: the top-left and bottom-right 256 x 512 of the right frame of
    ``stereo_motorcycle``; that frame resized to 512 px wide (345 x 512) and centre-cropped;
    the top and bottom 256 rows of ``grace_hopper.jpg`` (matplotlib); ``china.jpg``,
    ``flower.jpg`` (scikit-learn) and ``rocket`` (scikit-image) resized to 0.8x (342 x 512) and
    centre-cropped.  Noise seeds 20240602 + i; model in :func:`add_sensor_noise`.

    Parameters
    ----------
    full_well : float, default FULL_WELL
        Photo-electrons at full white (linear luminance 1); smaller means more shot noise.
    """
    return [image.copy() for image in _noisy_photo_set(float(full_well))]


@SOURCES.register("noisy_photos")
def load_noisy_photos(argument: str | None = None, *, linearize_srgb: bool = False) -> list[Image]:
    """8 noisy 8-bit 256 x 512 photographs (5 of them held out of the default set; no download).

    ``"noisy_photos:250"`` sets the full well to 250 photo-electrons (noisier); default 1000.
    """
    full_well = FULL_WELL
    if argument:
        try:
            full_well = float(argument)
        except ValueError:
            full_well = math.nan
        if not (math.isfinite(full_well) and full_well > 0):
            raise InputError(f"image source 'noisy_photos:{argument}': expected a positive number of "
                             "photo-electrons at full white, e.g. 'noisy_photos:250'")
    images = noisy_photo_images(full_well)
    if linearize_srgb:
        return [make_image(srgb_to_linear(im.array), im.id, im.source) for im in images]
    return images


__all__ = ["dead_leaves", "dead_leaves_images", "noisy_photo_images", "add_sensor_noise", "linear_to_srgb",
           "quantise_8bit", "SET_SHAPE"]
