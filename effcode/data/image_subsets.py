"""Which images a seed learns from: each seed draws its own random subset of a source's images.

A seed that varied only the initialisation and the order of the patches would give near-replicate
banks, all learned from the same photographs: their spread says nothing about how a statistic
(a median nx, an nx–ny distance) depends on the images, and paired tests across such seeds have
almost no variance to work with.  So seed s learns from :func:`seed_images`, a subset of
``m = ceil(fraction · N)`` of the source's N images drawn without replacement by a generator
seeded with s (a stream of its own, independent of the learner's initialisation and patch order).
Seeds are then independent draws of (subset, initialisation, patch order) from the same N images,
which is what a t-interval over seeds assumes.

Why one half (:data:`IMAGE_FRACTION`)
-------------------------------------
Write a statistic learned from a subset H of size m as θ_H ≈ θ + (1/m) Σ_{i∈H} e_i + ε, with image
effects e_i of variance σ² and initialisation noise ε of variance τ².  Over random subsets of the
N images, the between-seed variance is

    Var_H(θ_H) = σ² (1/m − 1/N) + τ².

At m = N it is τ² alone (image variation is invisible); as m shrinks the seeds become more
independent, but each bank sees fewer images and becomes a worse estimate of the statistic a bank
learned from many images would have.  Half-sampling, m = N/2, is the classic balance (McCarthy
1969, Rev Int Stat Inst 37:239; Shao & Wu 1989, Ann Stat 17:1176, the delete-d jackknife, d = N/2):
there σ² (1/m − 1/N) = σ²/N, exactly the image-sampling variance of the statistic of a bank learned
from all N images, so the between-seed spread is on the scale of the uncertainty that choosing
these N photographs brings.  With the 11 default images, a seed learns from 6; two seeds share
3.3 images on average (6·6/11), so their image sets overlap by about half, against completely
with the old design.  Six photographs still hold more distinct patches than a learner draws: any
six of the default images hold at least 1.33 million 16×16 positions (the smallest six), more than
the 1.23 million patches of experiment 01's 2,400 updates of 512.

What the intervals then cover: a t-interval over S seeds covers the mean over subsets of these N
images (initialisation and patch order included).  For the value on new images of the same kind,
the delete-d jackknife adds (m / (N − m)) · SD² to the variance of the seed mean (SD the
between-seed standard deviation); at one half that term is SD², so such an interval would be
about sqrt(S + 1) times wider than the t-interval over S seeds.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..errors import InputError
from ..validation import check_int, seed_alias
from .sources import Image

#: the fraction of a source's images each seed learns from (config key ``image_fraction``): half
IMAGE_FRACTION = 0.5

#: the second word of the subset generator's seed, so that the subset draw is a stream of its own
SUBSET_STREAM = 24


def subset_size(n_images: int, fraction: float) -> int:
    """The number of images a seed learns from: ``ceil(fraction · n_images)``, at least 1.

    Parameters
    ----------
    n_images : int
        N, the number of images of the source (at least 1).
    fraction : float
        In (0, 1]; 1 keeps every image.
    """
    n_images = check_int("n_images", n_images, minimum=1)
    fraction = check_fraction(fraction)
    return max(1, math.ceil(round(fraction * n_images, 9)))


def check_fraction(fraction) -> float:
    """``fraction`` as a float in (0, 1], else :class:`InputError`."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 < float(fraction) <= 1.0:
        raise InputError(f"image_fraction must be a number in (0, 1], got {fraction!r}")
    return float(fraction)


@seed_alias
def seed_images(images: Sequence[Image], random_state: int, fraction: float = IMAGE_FRACTION) -> list:
    """The images seed ``random_state`` learns from: a random subset of :func:`subset_size` of them.

    The subset is drawn without replacement by ``numpy.random.default_rng([random_state, SUBSET_STREAM])``
    and returned in the source's order, so the same seed, fraction and images always give the same
    subset, and the learners of one seed (sparse coding, ICA, the CNN) learn from the same images,
    which keeps comparisons between them paired on images too.  ``fraction`` 1 returns every image.

    Parameters
    ----------
    images : sequence
        The source's images (:class:`~effcode.data.Image` or arrays), in a fixed order.
    random_state : int
        The seed (>= 0); ``seed=`` is a deprecated alias.
    fraction : float
        In (0, 1]: the share of the images each seed learns from (default :data:`IMAGE_FRACTION`;
        the module docstring gives the reasons).

    Returns
    -------
    list
        The chosen images, a subset of ``images`` in their order.
    """
    images = list(images)
    if not images:
        raise InputError("images must hold at least one image to draw a subset from, got none")
    random_state = check_int("random_state", random_state, minimum=0)
    m = subset_size(len(images), fraction)
    if m == len(images):
        return images
    chosen = np.random.default_rng([random_state, SUBSET_STREAM]).choice(len(images), size=m, replace=False)
    return [images[i] for i in sorted(chosen)]
