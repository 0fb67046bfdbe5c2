"""Seeded random sampling of square patches from a list of images, streamed in batches."""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import InputError
from ..validation import check_float, check_int, check_random_state, resolve_device, seed_alias
from .preprocess import _as_arrays
from .sources import Image


def _window_variances(image: np.ndarray, p: int) -> np.ndarray:
    """Variance of the p*p pixels of every p x p window (rows-p+1, cols-p+1), via integral images."""
    x = image - image.mean()

    def window_mean(values):
        c = np.zeros((values.shape[0] + 1, values.shape[1] + 1))
        c[1:, 1:] = values.cumsum(0).cumsum(1)
        return (c[p:, p:] - c[:-p, p:] - c[p:, :-p] + c[:-p, :-p]) / (p * p)

    return np.clip(window_mean(x * x) - window_mean(x) ** 2, 0.0, None)


class PatchSampler:
    """Random ``patch_size`` x ``patch_size`` patches from ``images``, reproducible from ``seed``.

    Every valid top-left position of every image is equally likely: an image is drawn with
    probability proportional to its number of positions ``(H-p+1)(W-p+1)``, then a position
    uniformly within it.  Patches are returned flattened row-major, shape (n, p*p), in the
    images' units, as ``dtype`` numpy arrays or, when ``device`` is given, torch tensors on it.

    ``min_variance``: if set, patches whose pixel variance is below ``min_variance`` times the
    mean patch variance (the exact average over all valid positions of all images, computed at
    construction) are rejected and redrawn - e.g. 0.1 drops flat sky.  The threshold (squared
    image units) is ``variance_threshold_`` and the accepted fraction of positions
    ``accepted_fraction_``.

    The sampler is a stream: successive calls continue from the generator's state, so a new
    sampler with the same seed repeats the same sequence.  Without ``min_variance`` the sequence
    does not depend on how it is requested (``sample(1000)`` equals ``sample(400)`` followed by
    ``sample(600)`` or ``batches(1000)`` concatenated, whatever ``batch_size``); with rejection
    it is reproducible for the same sequence of calls.  Only one batch (``batch_size`` patches)
    of intermediate data is held at a time.

    Parameters
    ----------
    images : sequence of Image or ndarray
        The 2-D images patches are cut from.
    patch_size : int
        Side p of the square patches, in pixels.
    batch_size : int, default 4096
        Patches drawn per batch.
    random_state : int, default 0
        Seed of the stream of positions.
    min_variance : float or None, default None
        Fraction of the mean patch variance below which a patch is redrawn, e.g. 0.1 drops flat
        sky (None: keep every patch).
    device : str or torch.device or None, default None
        Where to return torch tensors (None: numpy arrays).
    dtype : numpy dtype, default numpy.float32
        The floating type of the patches.
    """

    @seed_alias
    def __init__(self, images, patch_size: int, *, batch_size: int = 4096, random_state=0, min_variance=None,
                 device=None, dtype=np.float32):
        self.patch_size = check_int("patch_size", patch_size)
        self.batch_size = check_int("batch_size", batch_size)
        self.dtype = np.dtype(dtype)
        if not np.issubdtype(self.dtype, np.floating):
            raise InputError(f"dtype must be a floating type, got {self.dtype}")
        self.device = None if device is None else resolve_device(device)
        self._rng = check_random_state(random_state)
        p = self.patch_size
        self._images = []
        for array, name, _ in _as_arrays(images):
            if array.shape[0] < p or array.shape[1] < p:
                raise InputError(f"patch_size {p} is larger than {name} of shape {array.shape}")
            self._images.append(array)
        self._windows = [sliding_window_view(a, (p, p)) for a in self._images]
        self._valid_rows = np.array([a.shape[0] - p + 1 for a in self._images])
        self._valid_cols = np.array([a.shape[1] - p + 1 for a in self._images])
        positions = self._valid_rows * self._valid_cols
        self.n_positions_ = int(positions.sum())
        self._first_position = np.concatenate([[0], np.cumsum(positions)[:-1]])
        self.min_variance = min_variance
        self.variance_threshold_ = None
        self.accepted_fraction_ = 1.0
        if min_variance is not None:
            fraction = check_float("min_variance", min_variance, minimum=0.0)
            variances = [_window_variances(a, p) for a in self._images]
            mean_variance = sum(v.sum() for v in variances) / self.n_positions_
            self.variance_threshold_ = fraction * mean_variance
            accepted = sum(int((v >= self.variance_threshold_).sum()) for v in variances)
            self.accepted_fraction_ = accepted / self.n_positions_
            if accepted == 0:
                raise InputError(f"min_variance={fraction} rejects every patch; use a smaller fraction")

    @property
    def n_features(self) -> int:
        return self.patch_size ** 2

    def _extract(self, which: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Patches (m, p, p) float64 at top-left (rows, cols) of images ``which``, grouped per image."""
        out = np.empty((len(which), self.patch_size, self.patch_size))
        order = np.argsort(which, kind="stable")
        sorted_which = which[order]
        starts = np.flatnonzero(np.r_[True, sorted_which[1:] != sorted_which[:-1]])
        for start, stop in zip(starts, np.r_[starts[1:], len(order)]):
            sel = order[start:stop]
            out[sel] = self._windows[sorted_which[start]][rows[sel], cols[sel]]
        return out

    def _draw(self, m: int) -> np.ndarray:
        """Exactly ``m`` accepted patches, (m, p*p) in ``self.dtype``."""
        out = np.empty((m, self.n_features), dtype=self.dtype)
        filled = 0
        while filled < m:
            need = m - filled
            # one uniform draw per patch picks a global position, so the stream of positions does
            # not depend on how it is cut into batches (53-bit uniforms: bias < n_positions / 2**53)
            position = np.minimum((self._rng.random(need) * self.n_positions_).astype(np.int64),
                                  self.n_positions_ - 1)
            which = np.searchsorted(self._first_position, position, side="right") - 1
            rows, cols = np.divmod(position - self._first_position[which], self._valid_cols[which])
            patches = self._extract(which, rows, cols).reshape(need, -1)
            if self.variance_threshold_ is not None:
                patches = patches[patches.var(axis=1) >= self.variance_threshold_]
            out[filled:filled + len(patches)] = patches
            filled += len(patches)
        return out

    def _to_output(self, array: np.ndarray):
        if self.device is None:
            return array
        import torch

        return torch.from_numpy(array).to(self.device)

    def batches(self, n_total: int) -> Iterator:
        """Yield ``n_total`` patches in batches of ``batch_size`` (the last one may be smaller).

        Parameters
        ----------
        n_total : int
            How many patches to yield in all.
        """
        n_total = check_int("n_total", n_total)
        for start in range(0, n_total, self.batch_size):
            yield self._to_output(self._draw(min(self.batch_size, n_total - start)))

    def sample(self, n: int):
        """``n`` patches, shape (n, patch_size**2).

        Parameters
        ----------
        n : int
            How many patches to draw.
        """
        n = check_int("n", n)
        out = np.empty((n, self.n_features), dtype=self.dtype)
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            out[start:stop] = self._draw(stop - start)
        return self._to_output(out)


@seed_alias
def sample_patches(images: Sequence[Image | np.ndarray], patch_size: int, n: int, random_state: int = 0, **kwargs: Any
                  ) -> np.ndarray:
    """``n`` random patches (n, patch_size**2):
    ``PatchSampler(images, patch_size, random_state=random_state, **kwargs).sample(n)``.

    Parameters
    ----------
    images : sequence of Image or ndarray
        The 2-D images patches are cut from.
    patch_size : int
        Side p of the square patches, in pixels.
    n : int
        How many patches to draw.
    random_state : int, default 0
        Seed of the positions.
    **kwargs
        Further keyword arguments of :class:`PatchSampler`.
    """
    return PatchSampler(images, patch_size, random_state=random_state, **kwargs).sample(n)
