"""Ringach's (2002) findings about model filters, as tests a population can pass or fail.

Ringach (2002, J Neurophysiol 88:455) compared V1 simple cells with the filters of ICA and
sparse coding and reported three differences:

1. **more subfields**: model filters have larger nx = sigma_x * f (more cycles under the
   envelope across the bars) than V1 cells;
2. **more elongated**: model filters have larger ny = sigma_y * f (longer along the bars);
3. **too few blob-like cells**: V1 has many cells with small nx and ny (near-circular,
   low-pass, one or two subfields), the models almost none.

Ringach's per-cell values are not public, only the 5x5 histogram, so each test works on the
histogram's bins (model values clipped into the edge bins, as in :func:`nxny_distance`):

* 1 and 2: a one-sided Mann–Whitney test on the binned marginal (ordered categories with ties)
  that the model's values are stochastically larger than V1's.  Effect size: the probability
  of superiority P(model > V1) + P(tie) / 2 over random (model unit, V1 cell) pairs
  (0.5 = no difference, 1 = every model unit larger);
* 3: **blob-like** is both nx and ny below ``BLOB_EDGE`` = 0.302 (the first two bins of the grid,
  where 19 of the 79 V1 cells lie); a one-sided Fisher exact test that the model's fraction is
  smaller than V1's, with a Wilson 95% interval of the model's fraction.

A finding "holds" for a population when its test rejects at the 5% level in the stated
direction.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _st

from .reference import bin_index, ringach2002_nxny_histogram

#: upper edge of the second bin of Ringach's grid (10**-0.52): blob-like = nx and ny below it
BLOB_EDGE = float(np.logspace(-1, 0.2, 6)[2])
LEVEL = 0.05

#: the findings tested, with their one-line statements
FINDINGS = {
    "more_subfields": "model units have more subfields (larger nx) than V1 cells",
    "more_elongated": "model units are more elongated (larger ny) than V1 cells",
    "fewer_blobs": f"model populations have fewer blob-like units (nx and ny < {BLOB_EDGE:.2f}) than V1",
}


def _larger_than_v1(values: np.ndarray, axis: str) -> dict:
    ref = ringach2002_nxny_histogram()
    counts, edges = ref.marginal(axis)
    model = bin_index(np.asarray(values, dtype=float), edges)
    v1 = np.repeat(np.arange(counts.size), counts)
    if model.size == 0:
        return {"p_value": math.nan, "effect": math.nan, "holds": False, "n_model": 0}
    u, p = _st.mannwhitneyu(model, v1, alternative="greater", method="asymptotic")
    effect = float(u / (model.size * v1.size))
    return {"p_value": float(p), "effect": effect, "holds": bool(p < LEVEL and effect > 0.5),
            "n_model": int(model.size)}


def wilson_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion k / n."""
    if n == 0:
        return math.nan, math.nan
    z = float(_st.norm.ppf(0.5 + level / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def blob_like(nx, ny) -> np.ndarray:
    """Whether each unit is blob-like: nx and ny both below :data:`BLOB_EDGE`."""
    return (np.asarray(nx, dtype=float) < BLOB_EDGE) & (np.asarray(ny, dtype=float) < BLOB_EDGE)


def v1_blob_count() -> tuple[int, int]:
    """(blob-like cells, all cells) of Ringach's histogram."""
    ref = ringach2002_nxny_histogram()
    return int(ref.counts[:2, :2].sum()), ref.n_cells


def fewer_blobs(nx, ny) -> dict:
    """Test 3 of the module docstring: fraction of blob-like units against V1's."""
    k = int(blob_like(nx, ny).sum())
    n = int(np.size(nx))
    k_v1, n_v1 = v1_blob_count()
    lo, hi = wilson_interval(k, n)
    out = {"fraction": k / n if n else math.nan, "lo": lo, "hi": hi, "n_model": n,
           "v1_fraction": k_v1 / n_v1}
    if n == 0:
        return {**out, "p_value": math.nan, "holds": False}
    p = float(_st.fisher_exact([[k, n - k], [k_v1, n_v1 - k_v1]], alternative="less")[1])
    return {**out, "p_value": p, "holds": bool(p < LEVEL)}


def ringach_findings(nx, ny) -> dict[str, dict]:
    """Every finding of :data:`FINDINGS` tested on one population's (nx, ny)."""
    return {"more_subfields": _larger_than_v1(nx, "nx"), "more_elongated": _larger_than_v1(ny, "ny"),
            "fewer_blobs": fewer_blobs(nx, ny)}
