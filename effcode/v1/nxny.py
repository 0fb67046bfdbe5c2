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
from numpy.typing import ArrayLike

from ..errors import InputError
from ..validation import check_array, check_int, seed_alias
from .reference import bin_index, ringach2002_nxny_histogram


def nxny_counts(nx: ArrayLike, ny: ArrayLike) -> tuple[np.ndarray, float]:
    """Counts of cells in Ringach's 5x5 (nx, ny) bins (rows nx, columns ny) after clipping into
    the grid, and the fraction of cells that lay outside the grid.

    Parameters
    ----------
    nx : array_like
        ``sigma_x * freq`` per unit: the envelope's width across the bars in cycles (dimensionless, non-negative).
    ny : array_like
        ``sigma_y * freq`` per unit: the envelope's width along the bars in cycles (dimensionless, non-negative).
    """
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


def nxny_histogram(nx: ArrayLike, ny: ArrayLike) -> tuple[np.ndarray, float]:
    """Fractions of cells in Ringach's 5x5 (nx, ny) bins (see :func:`nxny_counts`).

    Parameters
    ----------
    nx : array_like
        ``sigma_x * freq`` per unit: the envelope's width across the bars in cycles (dimensionless, non-negative).
    ny : array_like
        ``sigma_y * freq`` per unit: the envelope's width along the bars in cycles (dimensionless, non-negative).
    """
    counts, outside = nxny_counts(nx, ny)
    return counts / max(1, counts.sum()), outside


def _total_variation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return 0.5 * np.abs(p - q).reshape(*p.shape[:-2], -1).sum(axis=-1)


@seed_alias
def nxny_distance(nx: ArrayLike, ny: ArrayLike, *, n_bootstrap: int = 1000, random_state: int = 0) -> dict:
    """Total-variation distance of a model (nx, ny) population to Ringach (2002), with a
    two-sample permutation test (module docstring).

    ``nx``, ``ny``: per-unit sigma_x * f and sigma_y * f (dimensionless, >= 0; at least one unit).
    ``n_bootstrap``: number of random splits of the pooled units (the permutation null).
    Returns a dict (all dimensionless):

    * ``distance``: TV between the model's histogram and Ringach's;
    * ``p_value``: permutation p-value, small when the two populations differ by more than
      sampling noise of ``n_model`` and 79 units explains (calibrated: under the null it is
      at most 0.05 in at most 5% of draws, up to the discreteness of TV);
    * ``p_floor``: the smallest p-value the test can return, 1 / (n_bootstrap + 1) (a p equal to
      it reads "p < 1/(B+1)": :func:`effcode.v1.stats.format_p`);
    * ``null_median``, ``null_95``: median and 95th percentile of TV between groups of
      ``n_model`` and 79 units under the null (this population's own yardstick);
    * ``outside_fraction``: fraction of model units outside [0.1, 1.585]^2 (clipped in);
    * ``n_model``, ``n_reference`` (79), ``model_probabilities`` (5x5).

    Parameters
    ----------
    nx : array_like
        ``sigma_x * freq`` per unit: the envelope's width across the bars in cycles (dimensionless, non-negative).
    ny : array_like
        ``sigma_y * freq`` per unit: the envelope's width along the bars in cycles (dimensionless, non-negative).
    n_bootstrap : int, default 1000
        Random splits of the pooled model and reference units drawn for the permutation null;
        the smallest p-value is ``1 / (n_bootstrap + 1)``.
    random_state : int, default 0
        Seed of the random splits.
    """
    counts, outside = nxny_counts(nx, ny)
    return counts_distance(counts, n_bootstrap=n_bootstrap, random_state=random_state, outside_fraction=outside)


@seed_alias
def counts_distance(counts, *, n_bootstrap: int = 1000, random_state: int = 0, outside_fraction: float = 0.0) -> dict:
    """:func:`nxny_distance` of a population given as its 5x5 bin counts (rows nx, columns ny)."""
    n_bootstrap = check_int("n_bootstrap", n_bootstrap)
    random_state = check_int("random_state", random_state, minimum=0)
    counts = np.asarray(counts)
    if counts.shape != (5, 5) or counts.dtype.kind not in "iu" or np.any(counts < 0):
        raise InputError(f"counts must be a 5x5 array of non-negative integers, got shape {counts.shape}")
    n_model = int(counts.sum())
    if n_model == 0:
        raise InputError("nx and ny must hold at least one unit")
    ref = ringach2002_nxny_histogram()
    pooled = (counts + ref.counts).ravel()
    rng = np.random.default_rng([random_state, 2002])
    model_part = rng.multivariate_hypergeometric(pooled, n_model, size=n_bootstrap)
    null = _total_variation((model_part / n_model).reshape(-1, 5, 5),
                            ((pooled - model_part) / ref.n_cells).reshape(-1, 5, 5))
    p = counts / n_model
    distance = float(_total_variation(p, ref.probabilities))
    return {
        "distance": distance,
        "p_value": float((1 + np.sum(null >= distance - 1e-12)) / (1 + n_bootstrap)),
        "p_floor": 1.0 / (1 + n_bootstrap),
        "null_median": float(np.median(null)),
        "null_95": float(np.percentile(null, 95)),
        "outside_fraction": float(outside_fraction),
        "n_model": n_model,
        "n_reference": ref.n_cells,
        "model_probabilities": p,
    }


def interval_bins(lo, hi, edges) -> tuple[np.ndarray, np.ndarray]:
    """First and last bin (after clipping into the grid) that the intervals [lo, hi] touch."""
    return bin_index(np.asarray(lo, dtype=float), edges), bin_index(np.asarray(hi, dtype=float), edges)


def extreme_distance_counts(nx_bins: tuple[np.ndarray, np.ndarray],
                            ny_bins: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
    """The bin counts (5x5) nearest to and farthest from Ringach's histogram in TV, when each unit
    may sit in any bin of its rectangle ``[nx_lo..nx_hi] x [ny_lo..ny_hi]`` (bin indices).

    Units sharing a rectangle form a group g of m_g units; a determined unit's rectangle is one
    bin.  With counts c_b and target n q_b (q: Ringach's probabilities), n TV = sum_b |c_b - n q_b| / 2.

    * nearest (``"most"`` V1-like): integer x_gb >= 0 units of group g in bin b of its rectangle,
      sum_b x_gb = m_g, minimising sum_b t_b with t_b >= +-(c_b - n q_b) (a mixed-integer program);
    * farthest (``"least"`` V1-like): as sum_b (c_b - n q_b) = 0, n TV = sum_b max(c_b - n q_b, 0)
      = max over y in {0,1}^25 of sum_b y_b (c_b - n q_b).  For a chosen y, the best placement
      puts every group that can reach a bin with y_b = 1 into one, so the maximum is that of
      sum_b y_b (c0_b - n q_b) + sum_g z_g, z_g <= m_g, z_g <= m_g sum_{b in g} y_b, over binary y,
      with c0 the counts of the determined units.  Groups that reach no chosen bin are put in
      the first bin of their rectangle (which can only raise TV above that maximum, so the
      placement attains it).

    Returns ``{"most": counts, "least": counts}``, each (5, 5) int64 summing to the number of units.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    nx_lo, nx_hi = np.minimum(*nx_bins), np.maximum(*nx_bins)   # a rectangle is never empty
    ny_lo, ny_hi = np.minimum(*ny_bins), np.maximum(*ny_bins)
    rect = np.clip(np.stack([nx_lo, nx_hi, ny_lo, ny_hi], axis=1), 0, 4).astype(np.int64)
    groups, sizes = np.unique(rect, axis=0, return_counts=True)
    n = int(sizes.sum())
    target = n * ringach2002_nxny_histogram().probabilities.ravel()
    member = np.zeros((len(groups), 25), dtype=bool)
    for g, (i0, i1, j0, j1) in enumerate(groups):
        member[g].reshape(5, 5)[i0:i1 + 1, j0:j1 + 1] = True
    pairs = np.argwhere(member)                                       # (group, bin) of each x_gb
    n_x = len(pairs)

    # nearest: variables [x_gb..., t_b (25)]
    place = np.zeros((len(groups), n_x + 25))
    place[pairs[:, 0], np.arange(n_x)] = 1.0
    spread = np.zeros((25, n_x + 25))
    spread[pairs[:, 1], np.arange(n_x)] = 1.0                          # c_b = spread @ x
    above = -spread.copy()
    above[:, n_x:] = np.eye(25)                                        # t_b - c_b >= -n q_b
    below = spread.copy()
    below[:, n_x:] = np.eye(25)                                        # t_b + c_b >= n q_b
    solution = _solved(milp, np.r_[np.zeros(n_x), np.ones(25)],
                       constraints=[LinearConstraint(place, sizes, sizes), LinearConstraint(above, -target, np.inf),
                                    LinearConstraint(below, target, np.inf)],
                       integrality=np.r_[np.ones(n_x), np.zeros(25)], bounds=Bounds(0, np.inf))
    if solution is None:
        nearest = _greedy_counts(groups, sizes, member, target, nearest=True)
    else:
        nearest = np.bincount(pairs[:, 1], weights=np.round(solution[:n_x]), minlength=25)

    # farthest: variables [y_b (25), z_g]
    fixed = np.zeros(25)
    for g in np.flatnonzero(member.sum(1) == 1).tolist():
        fixed[np.flatnonzero(member[g])[0]] += sizes[g]
    open_groups = np.flatnonzero(member.sum(1) > 1)
    n_z = len(open_groups)
    reach = np.zeros((n_z, 25 + n_z))
    reach[:, :25] = -sizes[open_groups, None] * member[open_groups]
    reach[:, 25:] = np.eye(n_z)                                        # z_g - m_g sum y_b <= 0
    solution = _solved(milp, -np.r_[fixed - target, np.ones(n_z)],
                       constraints=[LinearConstraint(reach, -np.inf, 0.0)] if n_z else [],
                       integrality=np.r_[np.ones(25), np.zeros(n_z)],
                       bounds=Bounds(np.zeros(25 + n_z), np.r_[np.ones(25), sizes[open_groups]]))
    if solution is None:
        farthest = _greedy_counts(groups, sizes, member, target, nearest=False)
    else:
        chosen = np.round(solution[:25]).astype(bool)
        farthest = fixed.copy()
        for g in open_groups.tolist():
            reachable = np.flatnonzero(member[g] & chosen)
            farthest[reachable[0] if reachable.size else np.flatnonzero(member[g])[0]] += sizes[g]
    return {"most": nearest.reshape(5, 5).astype(np.int64), "least": farthest.reshape(5, 5).astype(np.int64)}


def _solved(milp, c, **problem) -> np.ndarray | None:
    """The solution of a mixed-integer program by scipy's HiGHS, retried without presolve when the first
    attempt returns none (HiGHS reports numerical trouble on some inputs); None when both fail."""
    for options in ({}, {"presolve": False}):
        result = milp(c, options=options, **problem)
        if result.x is not None:
            return result.x
    return None


def _greedy_counts(groups: np.ndarray, sizes: np.ndarray, member: np.ndarray, target: np.ndarray, *,
                   nearest: bool) -> np.ndarray:
    """A placement when the exact program fails: unit by unit, largest groups first, each into the bin of
    its rectangle with the largest shortfall below the target (``nearest``) or the largest excess above
    it.  Valid but not always extreme, so the bracket it gives can be narrower than the exact one."""
    counts = np.zeros(25)
    for g in np.argsort(-sizes, kind="stable"):
        bins = np.flatnonzero(member[g])
        for _ in range(int(sizes[g])):
            gap = target[bins] - counts[bins]
            counts[bins[np.argmax(gap if nearest else -gap)]] += 1
    return counts
