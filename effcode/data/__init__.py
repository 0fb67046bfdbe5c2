"""Natural-image data: sources, preprocessing (log, whitening) and patch sampling.

>>> from effcode.data import load_images, whiten_images, PatchSampler
>>> images = whiten_images(load_images("default"))           # doctest: +SKIP
>>> patches = PatchSampler(images, 16, random_state=0).sample(10000)  # doctest: +SKIP
"""

from .image_subsets import IMAGE_FRACTION, seed_images, subset_size
from .patches import PatchSampler, sample_patches
from .preprocess import (PatchWhitener, log_luminance, normalize_variance, olshausen_field_filter, remove_dc,
                         whiten_images, whiten_olshausen_field)
from .sources import SOURCES, Image, data_dir, fetch_olshausen, load_images, make_image, srgb_to_linear, to_luminance
from .synthetic_sets import dead_leaves, dead_leaves_images, noisy_photo_images  # registers the two sets

__all__ = [
    "SOURCES", "Image", "load_images", "make_image", "data_dir", "fetch_olshausen", "srgb_to_linear", "to_luminance",
    "log_luminance", "whiten_olshausen_field", "olshausen_field_filter", "whiten_images", "remove_dc",
    "normalize_variance", "PatchWhitener", "PatchSampler", "sample_patches", "dead_leaves", "dead_leaves_images",
    "noisy_photo_images", "IMAGE_FRACTION", "seed_images", "subset_size",
]
