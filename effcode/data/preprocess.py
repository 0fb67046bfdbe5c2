"""Preprocessing: log luminance, Olshausen-Field whitening of whole images, PCA/ZCA whitening of patches.

Units: images are 2-D arrays indexed (row, column) in pixels; spatial frequency is in cycles per
pixel (0.5 = Nyquist).  See ``docs/data.md`` for the maths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence, TypeVar

import numpy as np
import scipy.fft
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, OneToOneFeatureMixin, TransformerMixin

from ..errors import InputError
from ..validation import check_array, check_choice, check_float, check_int
from .sources import Image

if TYPE_CHECKING:   # torch is imported where it is used, so that importing effcode.data stays light
    import torch

#: numpy arrays and torch tensors, returned as the type given
ArrayT = TypeVar("ArrayT", np.ndarray, "torch.Tensor")

WHITENING_METHODS = ("olshausen_field", "none")
PAD_MODES = ("symmetric", "periodic")


def log_luminance(array: ArrayLike, eps: float = 0.01) -> np.ndarray:
    """Natural log of luminance, ``log(L + eps * mean(L))``.

    ``eps`` is relative to the image mean so the result does not depend on the luminance unit;
    the default 0.01 is about one 8-bit grey level for a mid-grey image, so black pixels stay
    finite without dominating.  Output in nats (log units of the input luminance); float64, one
    new array (the logarithm is taken in place).

    Parameters
    ----------
    array : array_like
        The luminance image.
    eps : float, default 0.01
        Offset added before the logarithm, as a fraction of the image mean.
    """
    lum = check_array("image", array, ndim=2)
    eps = check_float("eps", eps, minimum=0.0, strict_minimum=True)
    if lum.min() < 0:
        raise InputError(f"log_luminance needs non-negative luminance, got minimum {lum.min():.4g} "
                         "(an already-whitened image?)")
    mean = lum.mean()
    if mean <= 0:
        raise InputError("log_luminance got an all-zero image; expected positive luminance")
    out = lum + eps * mean
    return np.log(out, out=out)


def _filter_gain(radius: np.ndarray, f0: float) -> np.ndarray:
    """``R(f) = |f| exp(-(|f|/f0)^4)`` at the radial frequencies ``radius`` (cycles/pixel)."""
    return radius * np.exp(-((radius / f0) ** 4))


def olshausen_field_filter(shape: tuple[int, int], f0: float = 0.4) -> np.ndarray:
    """The whitening/low-pass filter ``R(f) = |f| exp(-(|f|/f0)^4)`` on the FFT grid of ``shape``.

    ``|f| = sqrt(fx^2 + fy^2)`` in cycles/pixel (``numpy.fft.fftfreq`` ordering); ``f0`` in cycles/pixel.

    Parameters
    ----------
    shape : tuple of int
        The (H, W) of the FFT grid.
    f0 : float, default 0.4
        Roll-off frequency of the filter, cycles per pixel.
    """
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    return _filter_gain(np.hypot(fy, fx), f0)


#: rows of the filter evaluated at once by :func:`_multiply_by_filter` (about this many values per block)
_FILTER_BLOCK_VALUES = 1 << 16


def _multiply_by_filter(coefficients: np.ndarray, freq_rows: np.ndarray, freq_cols: np.ndarray, f0: float) -> None:
    """Multiply ``coefficients`` in place by ``R(hypot(freq_rows[i], freq_cols[j]))``, a block of rows
    at a time, so the filter never exists at full size (frequencies in cycles/pixel)."""
    rows_per_block = max(1, _FILTER_BLOCK_VALUES // max(1, len(freq_cols)))
    for start in range(0, len(freq_rows), rows_per_block):
        block = slice(start, start + rows_per_block)
        coefficients[block] *= _filter_gain(np.hypot(freq_rows[block, None], freq_cols[None, :]), f0)


def whiten_olshausen_field(array: ArrayLike, f0: float = 0.4, pad: str = "symmetric") -> np.ndarray:
    """Whiten an image as in Olshausen & Field (1996, 1997): multiply its 2-D Fourier spectrum by
    ``|f| exp(-(|f|/f0)^4)``.

    The ramp ``|f|`` flattens the ~1/f amplitude spectrum of natural images; the quartic exponential
    rolls off above ``f0`` (cycles/pixel; 0.4 cycles/pixel = 200 cycles/picture for 512 pixels, their
    value) to suppress noise and aliasing near Nyquist.  Works for any shape (odd, non-square).

    Edges (``pad``): ``"symmetric"`` (default) filters the mean-subtracted image as if it were mirrored
    into a (2H, 2W) array whose periodic extension is continuous, and returns the original region -
    this removes the horizontal/vertical "cross" artefact the FFT's wrap-around edge would otherwise
    create.  The mirrored array is never built: its FFT is the image's type-II cosine transform (DCT)
    on the frequencies ``k / (2H)`` and ``l / (2W)``, and an even filter keeps it mirrored, so the DCT,
    the filter and the inverse DCT give the same values on H x W pixels.  ``"periodic"`` filters the
    image as is with a real FFT (right for images that are already periodic).

    Memory: float64 throughout, in place where possible and the filter built a block of rows at a
    time; about 24 bytes per pixel beyond the input (1.5 GB for an 8000 x 8000 image).  Output:
    float64, same shape, mean 0, in input units times cycles/pixel.

    Parameters
    ----------
    array : array_like
        The 2-D image.
    f0 : float, default 0.4
        Roll-off frequency of the filter, cycles per pixel.
    pad : {"symmetric", "periodic"}, default "symmetric"
        Edges: "symmetric" filters the image as if mirrored (no wrap-around cross artefact),
        "periodic" as is, for images that are already periodic.
    """
    image = check_array("image", array, ndim=2)
    f0 = check_float("f0", f0, minimum=0.0, strict_minimum=True)
    pad = check_choice("pad", pad, PAD_MODES)
    rows, cols = image.shape
    centred = image - image.mean()
    if pad == "symmetric":
        coefficients = scipy.fft.dctn(centred, type=2, norm="ortho", overwrite_x=True)
        del centred
        _multiply_by_filter(coefficients, np.arange(rows) / (2 * rows), np.arange(cols) / (2 * cols), f0)
        return scipy.fft.idctn(coefficients, type=2, norm="ortho", overwrite_x=True)
    spectrum = scipy.fft.rfft2(centred, overwrite_x=True)
    del centred
    _multiply_by_filter(spectrum, np.fft.fftfreq(rows), np.fft.rfftfreq(cols), f0)
    return scipy.fft.irfft2(spectrum, s=(rows, cols), overwrite_x=True)


def _as_arrays(images) -> list[tuple[np.ndarray, str, bool]]:
    """(array, name, already whitened) for a list of Images/arrays, one 2-D array or an (n, H, W) stack."""
    if isinstance(images, Image):
        images = [images]
    elif isinstance(images, np.ndarray):
        images = [images] if images.ndim == 2 else list(images)
    items = []
    for i, image in enumerate(images):
        if isinstance(image, Image):
            items.append((check_array(f"image {image.id}", image.array, ndim=2), image.id, image.whitened))
        else:
            items.append((check_array(f"images[{i}]", image, ndim=2), f"images[{i}]", False))
    if not items:
        raise InputError("images is empty; expected at least one 2-D image")
    return items


def whiten_images(images: Sequence[Image | np.ndarray], method: str = "olshausen_field", log: bool = False,
                  f0: float = 0.4) -> list[np.ndarray]:
    """Whiten each image and scale it to mean 0, variance 1.

    Steps per image: optional :func:`log_luminance` (``log=True``), then :func:`whiten_olshausen_field`
    (``method="olshausen_field"``, cut-off ``f0`` in cycles/pixel) or nothing (``"none"``), then
    ``(x - mean) / std``.  Images flagged ``Image.whitened`` (Olshausen's ``IMAGES.mat``) are only
    standardised: neither log nor whitening is applied twice.  Accepts :class:`Image` objects or
    arrays; returns a list of 2-D float64 arrays (dimensionless, unit variance).

    Parameters
    ----------
    images : sequence of Image or ndarray
        The 2-D images.
    method : {"olshausen_field", "none"}, default "olshausen_field"
        The whitening applied before standardising.
    log : bool, default False
        Whether to take the log luminance first.
    f0 : float, default 0.4
        Roll-off frequency of the whitening filter, cycles per pixel.
    """
    method = check_choice("method", method, WHITENING_METHODS)
    out = []
    for array, name, already_whitened in _as_arrays(images):
        if not np.ptp(array) > 0:
            raise InputError(f"{name} is constant (zero variance); whitening needs image structure")
        x = array
        if not already_whitened:
            if log:
                x = log_luminance(x)
            if method == "olshausen_field":
                x = whiten_olshausen_field(x, f0=f0)
        # standardise in place, on a copy only when x is still the caller's array
        x = x - x.mean() if x is array else np.subtract(x, x.mean(), out=x)
        std = x.std()
        if not std > 0:
            raise InputError(f"{name} has zero variance after preprocessing")
        out.append(np.divide(x, std, out=x))
    return out


def remove_dc(patches: ArrayT) -> ArrayT:
    """Subtract each patch's mean (its DC component): (n, d) or (n, h, w) -> same shape.

    Works on numpy arrays and torch tensors (returned as the same type).

    Parameters
    ----------
    patches : ndarray or torch.Tensor
        The patches, shape (n, d) or (n, h, w).
    """
    axes = tuple(range(1, patches.ndim))
    if not axes:
        raise InputError(f"patches must have a leading patch axis, got shape {tuple(patches.shape)}")
    if isinstance(patches, np.ndarray):
        return patches - patches.mean(axis=axes, keepdims=True)
    return patches - patches.mean(dim=axes, keepdim=True)


def normalize_variance(x: ArrayT, axis: int | None = None) -> ArrayT:
    """Divide ``x`` by its standard deviation along ``axis`` (all entries when None) so variance is 1.

    The mean is not removed (std is computed about the mean).  Slices with zero variance are left
    unchanged.  Numpy arrays and torch tensors (returned as the same type).

    Parameters
    ----------
    x : ndarray or torch.Tensor
        The values to scale.
    axis : int or None, default None
        The axis the standard deviation is taken along (None: over all entries).
    """
    if isinstance(x, np.ndarray):
        std = x.std(axis=axis, keepdims=True)
        return x / np.where(std > 0, std, 1.0)
    import torch

    std = x.std(dim=axis, keepdim=True, correction=0) if axis is not None else x.std(correction=0)
    return x / torch.where(std > 0, std, torch.ones_like(std))


class PatchWhitener(TransformerMixin, BaseEstimator):
    """PCA or ZCA whitening of (n, d) patches, with optional dimension reduction.

    With covariance ``C = U diag(lam) U^T`` of the centred patches (eigenvalues descending) and the
    top-k eigenpairs kept (``k = n_components`` or d), the whitening matrices are

    * PCA: ``W = diag(lam_k + e)^(-1/2) U_k^T``   (k, d) - outputs in the eigenbasis;
    * ZCA: ``W = U_k diag(lam_k + e)^(-1/2) U_k^T`` (d, d) - symmetric, outputs stay in pixel space,

    where ``e = eps * mean(lam)`` (``eps`` is relative to the average variance per dimension, so it
    is independent of the data's scale).  ``transform(X) = (X - mean_) W^T`` has identity
    covariance on the kept subspace (up to ``lam/(lam + e)``).

    Attributes (after fit): ``mean_`` (d,), ``components_`` (k, d) rows = eigenvectors,
    ``explained_variance_`` (k,) eigenvalues in squared input units, ``whitening_`` as above,
    ``dewhitening_`` its pseudo-inverse ((d, k) for PCA, (d, d) for ZCA):
    ``inverse_transform(Z) = Z dewhitening_^T + mean_``.

    Parameters
    ----------
    kind : {"pca", "zca"}, default "pca"
        The whitening: outputs in the eigenbasis (PCA) or in pixel space (ZCA).
    n_components : int or None, default None
        How many leading eigenpairs to keep (None: all d).
    eps : float, default 1e-5
        Regulariser added to the eigenvalues, relative to their mean.
    """

    def __init__(self, kind: str = "pca", n_components: int | None = None, eps: float = 1e-5):
        self.kind = kind
        self.n_components = n_components
        self.eps = eps

    def fit(self, X, y=None):
        kind = check_choice("kind", self.kind, ("pca", "zca"))
        X = check_array("patches", X, ndim=2)
        n, d = X.shape
        if n < 2:
            raise InputError(f"patches must hold at least 2 rows to estimate a covariance, got {n}")
        k = d if self.n_components is None else check_int("n_components", self.n_components, maximum=d)
        eps = check_float("eps", self.eps, minimum=0.0)
        self.mean_ = X.mean(axis=0)
        centred = X - self.mean_
        eigvals, eigvecs = np.linalg.eigh(centred.T @ centred / n)
        order = np.argsort(eigvals)[::-1][:k]
        lam = np.clip(eigvals[order], 0.0, None)
        vectors = eigvecs[:, order]
        # fix each eigenvector's sign (largest |entry| positive) so results are reproducible
        signs = np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(k)])
        vectors = vectors * np.where(signs == 0, 1.0, signs)
        scale = lam + eps * np.clip(eigvals, 0.0, None).mean()
        if np.any(scale <= 0):
            raise InputError("patches have zero variance in a kept direction; use n_components or eps > 0")
        self.components_ = vectors.T
        self.explained_variance_ = lam
        self.whitening_ = vectors.T / np.sqrt(scale)[:, None]
        self.dewhitening_ = vectors * np.sqrt(scale)[None, :]
        if kind == "zca":
            self.whitening_ = vectors @ self.whitening_
            self.dewhitening_ = self.dewhitening_ @ vectors.T
        self.n_components_ = k
        self.n_features_in_ = d
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "whitening_"):
            raise InputError("PatchWhitener is not fitted; call fit(patches) first")

    def _check_fitted_input(self, name, X, inverse=False):
        self._check_fitted()
        width = self.whitening_.shape[0] if inverse else self.n_features_in_
        X = check_array(name, X, ndim=2)
        if X.shape[1] != width:
            raise InputError(f"{name} must have {width} columns, got shape {X.shape}")
        return X

    def transform(self, X):
        """Whitened patches: (n, k) for PCA, (n, d) for ZCA.

        Parameters
        ----------
        X : array_like
            Patches, shape (n, d), in input units.
        """
        X = self._check_fitted_input("patches", X)
        return (X - self.mean_) @ self.whitening_.T

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of :meth:`transform`'s columns, as a ``Pipeline`` passes them on.

        PCA: one per kept component, ``patchwhitener0``, ``patchwhitener1``, ... (``n_components_`` names).
        ZCA: outputs stay in pixel space, so the input names: ``input_features``, else the column names
        seen by ``fit``, else ``x0``, ``x1``, ... (``n_features_in_`` names).

        Parameters
        ----------
        input_features : array_like of str or None, default None
            The input column names (ZCA only; None: those seen by ``fit``).
        """
        self._check_fitted()
        if self.kind == "zca":
            return OneToOneFeatureMixin.get_feature_names_out(self, input_features)
        return ClassNamePrefixFeaturesOutMixin.get_feature_names_out(self, input_features)

    @property
    def _n_features_out(self) -> int:
        """Columns of :meth:`transform`'s output (AttributeError before ``fit``)."""
        return self.whitening_.shape[0]

    def inverse_transform(self, Z):
        """Patches in input units from whitened ones (exact when nothing was discarded).

        Parameters
        ----------
        Z : array_like
            Whitened patches, as :meth:`transform` returns them.
        """
        Z = self._check_fitted_input("whitened patches", Z, inverse=True)
        return Z @ self.dewhitening_.T + self.mean_
