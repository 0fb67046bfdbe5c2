"""Distance between a model's (nx, ny) population and Ringach's (2002) simple cells.

Both populations are binned on Ringach's 5x5 log-spaced grid (edges ``logspace(-1, 0.2,
6)``, i.e. 0.1 to 1.585 on each axis). Model values outside the grid are clipped into the
edge bins (the fraction that was outside is reported as ``outside_fraction``). With model
bin fractions ``p_ij`` and Ringach's ``q_ij``, the distance is the total variation

    TV(p, q) = 1/2 sum_ij |p_ij - q_ij|      in [0, 1]

(the mass that must move between bins to turn one histogram into the other). Since only 79
cells were measured, ``q`` itself is noisy: the bootstrap null is the distribution of
``TV(q_b, q)`` for histograms ``q_b`` of 79 cells drawn from ``q``.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..validation import check_array, check_int
from .reference import bin_index, ringach2002_nxny_histogram


def nxny_histogram(nx, ny) -> tuple[np.ndarray, float]:
    """Fractions of cells in Ringach's 5x5 (nx, ny) bins (rows nx, columns ny) after
    clipping into the grid, and the fraction of cells that lay outside the grid."""
    nx = check_array("nx", nx, ndim=1)
    ny = check_array("ny", ny, ndim=1)
    if nx.size != ny.size:
        raise InputError(f"nx and ny must have the same length, got {nx.size} and {ny.size}")
    if np.any(nx < 0) or np.any(ny < 0):
        raise InputError("nx and ny must be >= 0 (envelope SD times spatial frequency)")
    ref = ringach2002_nxny_histogram()
    outside = ((nx < ref.nx_edges[0]) | (nx > ref.nx_edges[-1])
               | (ny < ref.ny_edges[0]) | (ny > ref.ny_edges[-1]))
    flat = bin_index(nx, ref.nx_edges) * 5 + bin_index(ny, ref.ny_edges)
    counts = np.bincount(flat, minlength=25).reshape(5, 5)
    return counts / nx.size, float(outside.mean())


def _total_variation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return 0.5 * np.abs(p - q).reshape(*p.shape[:-2], -1).sum(axis=-1)


def nxny_distance(nx, ny, *, n_bootstrap: int = 1000, seed: int = 0) -> dict:
    """Total-variation distance of a model (nx, ny) population to Ringach (2002).

    ``nx``, ``ny``: per-cell sigma_x * f and sigma_y * f (dimensionless, >= 0; drop failed
    fits first). Returns a dict (all dimensionless):

    * ``distance``: TV between the model's full histogram and Ringach's;
    * ``model_79_median``: median TV to Ringach of 79-cell draws from the model histogram
      (directly comparable with the null, which has the same sample size);
    * ``null_median``, ``null_95``: median and 95th percentile of the null
      TV(79 cells drawn from Ringach, Ringach);
    * ``p_value``: (1 + #{null >= distance}) / (1 + n_bootstrap), small when the model is
      farther from V1 than 79-cell sampling noise explains;
    * ``outside_fraction``: fraction of model cells outside [0.1, 1.585]^2 (clipped in);
    * ``n_model``, ``n_reference`` (79), ``model_probabilities`` (5x5).
    """
    n_bootstrap = check_int("n_bootstrap", n_bootstrap)
    seed = check_int("seed", seed, minimum=0)
    p, outside = nxny_histogram(nx, ny)
    ref = ringach2002_nxny_histogram()
    q = ref.probabilities
    rng = np.random.default_rng(seed)
    null_draws = rng.multinomial(ref.n_cells, q.ravel(), size=n_bootstrap).reshape(-1, 5, 5)
    null = _total_variation(null_draws / ref.n_cells, q)
    model_draws = rng.multinomial(ref.n_cells, p.ravel(), size=n_bootstrap).reshape(-1, 5, 5)
    model_79 = _total_variation(model_draws / ref.n_cells, q)
    distance = float(_total_variation(p, q))
    return {
        "distance": distance,
        "model_79_median": float(np.median(model_79)),
        "null_median": float(np.median(null)),
        "null_95": float(np.percentile(null, 95)),
        "p_value": float((1 + np.sum(null >= distance)) / (1 + n_bootstrap)),
        "outside_fraction": outside,
        "n_model": int(np.size(nx)),
        "n_reference": ref.n_cells,
        "model_probabilities": p,
    }
