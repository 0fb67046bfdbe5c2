"""Distance between a model's (nx, ny) population and Ringach's (2002) simple cells, with a
calibrated two-sample test.

Both populations are binned on Ringach's 5x5 log-spaced grid (edges ``logspace(-1, 0.2, 6)``,
0.1 to 1.585 on each axis).  Model values outside the grid are clipped into the edge bins;
``outside_fraction`` says how many were, and :func:`effcode.v1.score_population` also reports the
test on the in-grid units alone.  With model bin fractions ``p_ij`` and Ringach's ``q_ij`` the
distance is the total variation

    TV(p, q) = 1/2 sum_ij |p_ij - q_ij|      in [0, 1]

(the mass that must move between bins to turn one histogram into the other).

Both histograms are samples: ``n`` model units and Ringach's 79 cells.  The test asks whether
both could come from one distribution.  Under that hypothesis the bin labels of the ``n + 79``
units are exchangeable, so the null distribution of TV is that of random splits of the pooled
units into groups of ``n`` and 79 (a permutation test, drawn exactly as multivariate
hypergeometric splits of the pooled bin counts).  The p-value is
``(1 + #{null >= observed}) / (1 + n_permutations)``; the null percentiles returned are those of
this population's own size, which is the yardstick for its distance (a 24-unit population sits
farther from V1 by sampling noise alone than a 176-unit one).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..validation import check_array, check_int
from .reference import bin_index, ringach2002_nxny_histogram


def nxny_counts(nx, ny) -> tuple[np.ndarray, float]:
    """Counts of cells in Ringach's 5x5 (nx, ny) bins (rows nx, columns ny) after clipping into
    the grid, and the fraction of cells that lay outside the grid."""
    nx = check_array("nx", nx, ndim=1)
    ny = check_array("ny", ny, ndim=1)
    if nx.size != ny.size:
        raise InputError(f"nx and ny must have the same length, got {nx.size} and {ny.size}")
    if np.any(nx < 0) or np.any(ny < 0):
        raise InputError("nx and ny must be >= 0 (envelope SD times spatial frequency)")
    ref = ringach2002_nxny_histogram()
    flat = bin_index(nx, ref.nx_edges) * 5 + bin_index(ny, ref.ny_edges)
    counts = np.bincount(flat, minlength=25).reshape(5, 5)
    return counts, float(outside_grid(nx, ny).mean()) if nx.size else 0.0


def outside_grid(nx, ny) -> np.ndarray:
    """Whether each (nx, ny) lies outside Ringach's grid [0.1, 1.585]^2."""
    ref = ringach2002_nxny_histogram()
    nx, ny = np.asarray(nx, dtype=float), np.asarray(ny, dtype=float)
    return ((nx < ref.nx_edges[0]) | (nx > ref.nx_edges[-1]) | (ny < ref.ny_edges[0]) | (ny > ref.ny_edges[-1]))


def nxny_histogram(nx, ny) -> tuple[np.ndarray, float]:
    """Fractions of cells in Ringach's 5x5 (nx, ny) bins (see :func:`nxny_counts`)."""
    counts, outside = nxny_counts(nx, ny)
    return counts / max(1, counts.sum()), outside


def _total_variation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return 0.5 * np.abs(p - q).reshape(*p.shape[:-2], -1).sum(axis=-1)


def nxny_distance(nx, ny, *, n_bootstrap: int = 1000, seed: int = 0) -> dict:
    """Total-variation distance of a model (nx, ny) population to Ringach (2002), with a
    two-sample permutation test (module docstring).

    ``nx``, ``ny``: per-unit sigma_x * f and sigma_y * f (dimensionless, >= 0; at least one unit).
    ``n_bootstrap``: number of random splits of the pooled units (the permutation null).
    Returns a dict (all dimensionless):

    * ``distance``: TV between the model's histogram and Ringach's;
    * ``p_value``: permutation p-value, small when the two populations differ by more than
      sampling noise of ``n_model`` and 79 units explains (calibrated: under the null it is
      at most 0.05 in at most 5% of draws, up to the discreteness of TV);
    * ``null_median``, ``null_95``: median and 95th percentile of TV between groups of
      ``n_model`` and 79 units under the null (this population's own yardstick);
    * ``outside_fraction``: fraction of model units outside [0.1, 1.585]^2 (clipped in);
    * ``n_model``, ``n_reference`` (79), ``model_probabilities`` (5x5).
    """
    n_bootstrap = check_int("n_bootstrap", n_bootstrap)
    seed = check_int("seed", seed, minimum=0)
    counts, outside = nxny_counts(nx, ny)
    n_model = int(counts.sum())
    if n_model == 0:
        raise InputError("nx and ny must hold at least one unit")
    ref = ringach2002_nxny_histogram()
    pooled = (counts + ref.counts).ravel()
    rng = np.random.default_rng([seed, 2002])
    model_part = rng.multivariate_hypergeometric(pooled, n_model, size=n_bootstrap)
    null = _total_variation((model_part / n_model).reshape(-1, 5, 5),
                            ((pooled - model_part) / ref.n_cells).reshape(-1, 5, 5))
    p = counts / n_model
    distance = float(_total_variation(p, ref.probabilities))
    return {
        "distance": distance,
        "p_value": float((1 + np.sum(null >= distance - 1e-12)) / (1 + n_bootstrap)),
        "null_median": float(np.median(null)),
        "null_95": float(np.percentile(null, 95)),
        "outside_fraction": outside,
        "n_model": n_model,
        "n_reference": ref.n_cells,
        "model_probabilities": p,
    }
