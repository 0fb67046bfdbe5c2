"""Gabor and difference-of-Gaussians fits of filter banks, and tuning from simulated gratings.

- :func:`fit_gabors`: batched least-squares fits of the Ringach (2002) Gabor, returning a
  table of parameters, derived properties (nx, ny, bandwidths) and flags;
- :func:`render_gabors`: the fitted Gabors as images;
- :func:`fit_dogs`: batched concentric difference-of-Gaussians fits;
- :func:`grating_tuning`: orientation / spatial-frequency tuning and F1/F0 of rectified
  linear units driven by drifting sinusoidal gratings;
- :func:`synthetic_gabors`: noisy Gabors with known parameters (tests, benchmarks);
- :func:`gabor_standard_errors`: Cramér–Rao bounds / asymptotic standard errors of the parameters.

The model, objective, bounds, columns and the grating protocol are described in docs/gabor.md.
"""

from .dog import DOG_COLUMNS, fit_dogs
from .fit import GABOR_COLUMNS, fit_gabors, gabor_bounds, render_gabors
from .model import BANDWIDTH_CONSTANT
from .precision import PRECISION_COLUMNS, gabor_standard_errors
from .starts import gabor_starts
from .synthetic import synthetic_gabors
from .tuning import DEFAULT_PIXELS_PER_DEGREE, TUNING_COLUMNS, grating_responses, grating_tuning

__all__ = ["BANDWIDTH_CONSTANT", "DEFAULT_PIXELS_PER_DEGREE", "DOG_COLUMNS", "GABOR_COLUMNS", "PRECISION_COLUMNS",
           "TUNING_COLUMNS", "fit_dogs", "fit_gabors", "gabor_bounds", "gabor_standard_errors", "gabor_starts",
           "grating_responses", "grating_tuning", "render_gabors", "synthetic_gabors"]
