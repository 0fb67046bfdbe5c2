"""A compiled helper of the sparse-inference kernels (:mod:`.coordinate_descent`, :mod:`.lca_kernel`):
keep the few largest scores seen in one pass over the atoms, sorted."""

from __future__ import annotations

from .. import numba_cache  # first: a read-only installation caches elsewhere, or not at all
import numba


@numba.njit(cache=numba_cache.CACHE, nogil=True, inline="always")
def keep_largest(score, index, scores, indices, n_kept, capacity):
    """Insert ``(score, index)`` into the first ``n_kept`` entries of ``scores`` / ``indices``, a list sorted
    by decreasing score of at most ``capacity`` entries, and return its new length.  A score not above the
    smallest of a full list is dropped; among equal scores the one inserted first stays ahead."""
    if n_kept == capacity and score <= scores[capacity - 1]:
        return n_kept
    position = min(n_kept, capacity - 1)
    while position > 0 and scores[position - 1] < score:
        scores[position] = scores[position - 1]
        indices[position] = indices[position - 1]
        position -= 1
    scores[position] = score
    indices[position] = index
    return min(n_kept + 1, capacity)
