"""Gabor and difference-of-Gaussians fits of filter banks, and tuning from simulated gratings.

- :func:`fit_gabors`: batched least-squares fits of the Ringach (2002) Gabor, returning a
  table of parameters, derived properties (nx, ny, bandwidths) and flags;
- :func:`render_gabors`: the fitted Gabors as images;
- :func:`fit_dogs`: batched concentric difference-of-Gaussians fits;
- :func:`grating_tuning`: orientation / spatial-frequency tuning and F1/F0 of half-wave
  rectified linear units driven by drifting sinusoidal gratings.
"""

from .dog import fit_dogs
from .fit import GABOR_COLUMNS, fit_gabors, gabor_bounds, render_gabors
from .model import BANDWIDTH_CONSTANT
from .starts import gabor_starts

__all__ = ["BANDWIDTH_CONSTANT", "GABOR_COLUMNS", "fit_dogs", "fit_gabors", "gabor_bounds", "gabor_starts",
           "render_gabors"]
