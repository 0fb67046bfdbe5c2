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
direction, and is "opposite" when the one-sided test the other way rejects (e.g. significantly
*fewer* subfields than V1).  Each test dict gives ``p_value`` (in the finding's direction),
``p_opposite``, ``effect`` (probability of superiority for 1 and 2; model fraction minus V1's for
3), ``direction`` (the effect's direction relative to V1, in words), ``holds``, ``opposite`` and
``n_model``.

**Brackets** (:func:`findings_bracket`).  Where units' (nx, ny) are known only to intervals,
each finding is tested at three placements of the units: ``"point"`` (fitted values),
``"least"`` (every unit at the upper end of both its intervals: most subfields, most elongated,
fewest blob-like units, i.e. least V1-like in the direction of every finding) and ``"most"``
(every unit at the lower ends).  Each test is monotone in every unit's value, so the two ends
bracket every placement within the intervals.  The conclusion is stated only when both ends
agree: "holds", "opposite", "does not hold" (neither significant in either direction at either
end), otherwise "undetermined".
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _st

from .reference import bin_index, ringach2002_nxny_histogram

#: upper edge of the second bin of Ringach's grid (10**-0.52): blob-like = nx and ny below it
BLOB_EDGE = float(np.logspace(-1, 0.2, 6)[2])
LEVEL = 0.05

#: the findings tested, by key (each is worded once, as a part of :data:`effcode.v1.claims.RINGACH2002`)
FINDINGS = ("more_subfields", "more_elongated", "fewer_blobs")


#: the conclusions a bracketed finding can reach
CONCLUSIONS = ("holds", "does not hold", "opposite", "undetermined")


def _larger_than_v1(values: np.ndarray, axis: str) -> dict:
    ref = ringach2002_nxny_histogram()
    counts, edges = ref.marginal(axis)
    model = bin_index(np.asarray(values, dtype=float), edges)
    v1 = np.repeat(np.arange(counts.size), counts)
    if model.size == 0:
        return {"p_value": math.nan, "p_opposite": math.nan, "effect": math.nan, "direction": "none",
                "holds": False, "opposite": False, "n_model": 0}
    u, p = _st.mannwhitneyu(model, v1, alternative="greater", method="asymptotic")
    p_less = float(_st.mannwhitneyu(model, v1, alternative="less", method="asymptotic")[1])
    effect = float(u / (model.size * v1.size))
    direction = "larger than V1" if effect > 0.5 else "smaller than V1" if effect < 0.5 else "equal to V1"
    return {"p_value": float(p), "p_opposite": p_less, "effect": effect, "direction": direction,
            "holds": bool(p < LEVEL and effect > 0.5), "opposite": bool(p_less < LEVEL and effect < 0.5),
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
        return {**out, "p_value": math.nan, "p_opposite": math.nan, "effect": math.nan, "direction": "none",
                "holds": False, "opposite": False}
    table = [[k, n - k], [k_v1, n_v1 - k_v1]]
    p = float(_st.fisher_exact(table, alternative="less")[1])
    p_more = float(_st.fisher_exact(table, alternative="greater")[1])
    effect = k / n - k_v1 / n_v1
    direction = "fewer than V1" if effect < 0 else "more than V1" if effect > 0 else "as many as V1"
    return {**out, "p_value": p, "p_opposite": p_more, "effect": effect, "direction": direction,
            "holds": bool(p < LEVEL), "opposite": bool(p_more < LEVEL)}


def ringach_findings(nx: ArrayLike, ny: ArrayLike) -> dict[str, dict]:
    """Every finding of :data:`FINDINGS` tested on one population's (nx, ny).

    Parameters
    ----------
    nx : array_like
        ``sigma_x * freq`` per unit: the envelope's width across the bars in cycles (dimensionless).
    ny : array_like
        ``sigma_y * freq`` per unit: the envelope's width along the bars in cycles (dimensionless).
    """
    return {"more_subfields": _larger_than_v1(np.asarray(nx), "nx"), "more_elongated": _larger_than_v1(np.asarray(ny), "ny"),
            "fewer_blobs": fewer_blobs(nx, ny)}


def conclusion(least: dict, most: dict) -> str:
    """What a finding's bracket says (module docstring): one of :data:`CONCLUSIONS`."""
    if least["holds"] and most["holds"]:
        return "holds"
    if least["opposite"] and most["opposite"]:
        return "opposite"
    if not (least["holds"] or most["holds"] or least["opposite"] or most["opposite"]):
        return "does not hold"
    return "undetermined"


def findings_bracket(point: tuple, least: tuple, most: tuple) -> dict[str, dict]:
    """Every finding of :data:`FINDINGS` at the three placements ``(nx, ny)`` of the module
    docstring: ``{name: {"least": test, "most": test, "point": test, "conclusion": str}}``.

    Parameters
    ----------
    point : tuple of array_like
        The fitted ``(nx, ny)`` of the units.
    least : tuple of array_like
        ``(nx, ny)`` with every unit at the upper end of both its intervals (least V1-like).
    most : tuple of array_like
        ``(nx, ny)`` with every unit at the lower end of both its intervals (most V1-like).
    """
    tests = {end: ringach_findings(*values) for end, values in (("least", least), ("most", most), ("point", point))}
    return {name: {**{end: tests[end][name] for end in tests},
                   "conclusion": conclusion(tests["least"][name], tests["most"][name])} for name in FINDINGS}
