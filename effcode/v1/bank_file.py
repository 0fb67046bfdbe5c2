"""Filter banks brought from outside effcode: arrays, ``.npy`` / ``.npz`` files and PyTorch checkpoints,
read as the (K, p, p) array the scorer fits.

Accepted forms (:func:`load_filter_bank`):

* an array (or a path to a ``.npy`` file) shaped (K, p, p) (also (K, h, w): the Gabor fit takes rectangular
  filters); (K, p·p) when p·p is a square (each row a flattened p x p filter); or (out, in, k, k), a
  convolution weight with square kernels;
* a ``.npz`` file: its ``layer`` entry, else its only array, else its ``filters`` entry (the layout of
  :meth:`effcode.learners.FilterBank.to_arrays`);
* any other file is read with ``torch.load`` (``weights_only=True``: tensors and plain containers, no
  pickled code): a tensor, a state dict (``torch.save(model.state_dict())``) or a checkpoint dict that
  holds one (searched depth-first in insertion order, e.g. ``{"epoch": 3, "model": state_dict}``).  The
  weight taken is the one named ``layer`` (``"conv1.weight"``, or ``"conv1"`` for its weight), else the
  **first 4-D tensor whose key ends in** ``weight`` in insertion order, which for a network defined
  input-first (as ``nn.Module`` attributes and ``nn.Sequential`` are) is the first convolution.

**Colour.**  A convolution weight (out, in, k, k) with ``in`` > 1 channels is combined into one
luminance filter per unit by :data:`CHANNEL_RULE`: the channels' mean, that is the filter's response to an
achromatic stimulus (the same image in every channel: R = G = B), which is what grating or noise
physiology with grey stimuli would measure, divided by the channel count (the Gabor fit is blind to
scale).  ``channel_weights`` replaces the equal weights, e.g. :data:`BT601` (0.299, 0.587, 0.114) to
weight the channels as ITU-R BT.601 luminance weights the channels of an image.  A model trained on
per-channel normalised inputs sees R = G = B stimuli as slightly coloured; the rule ignores that.

torch is imported only when a torch file is read.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError

#: ITU-R BT.601 luminance weights of the R, G and B channels of an image
BT601 = (0.299, 0.587, 0.114)

#: how the input channels of a convolution weight are combined, in words (the docs and the CLI help say it)
CHANNEL_RULE = ("input channels are averaged with equal weights: the unit's response to an achromatic (R = G = B) "
                "stimulus, up to scale")

#: file suffixes read with numpy; every other file is read with torch.load
NUMPY_SUFFIXES = (".npy", ".npz")


def combine_channels(weight: np.ndarray, channel_weights: Sequence[float] | None = None,
                     source: str = "weight") -> np.ndarray:
    """One (out, k, k) luminance filter per unit of an (out, in, k, k) convolution ``weight``.

    Parameters
    ----------
    weight : (out, in, k, k) array
        A convolution weight, output channels first.
    channel_weights : sequence of ``in`` floats, optional
        Weight of each input channel; default: equal weights ``1 / in`` (:data:`CHANNEL_RULE`).
    source : str
        What ``weight`` is, for error messages.

    Returns
    -------
    (out, k, k) float32 array
    """
    n_channels = weight.shape[1]
    if channel_weights is None:
        mix = np.full(n_channels, 1.0 / n_channels)
    else:
        mix = np.asarray(channel_weights, dtype=np.float64).ravel()
        if mix.size != n_channels or not np.all(np.isfinite(mix)):
            raise InputError(f"channel_weights must be {n_channels} finite numbers for {source} "
                             f"with {n_channels} input channels, got {list(mix)}")
    return np.einsum("oikl,i->okl", weight.astype(np.float64), mix).astype(np.float32)


def filter_array(array, *, channel_weights: Sequence[float] | None = None, source: str = "filters") -> np.ndarray:
    """The (K, p, p) float32 filters of an array of any accepted shape (module docstring).

    Parameters
    ----------
    array : array-like
        (K, p, p), (K, h, w), (K, p·p) or a convolution weight (out, in, k, k).
    channel_weights : sequence of float, optional
        How a convolution weight's input channels are combined (:func:`combine_channels`).
    source : str
        What ``array`` is, for error messages.

    Returns
    -------
    (K, p, p) float32 array

    Raises
    ------
    InputError
        Naming ``source``, for any other shape, non-square convolution kernels, or values that are not
        finite numbers.
    """
    try:
        arr = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{source} must be an array of numbers ({exc})") from None
    if arr.ndim == 2:
        side = math.isqrt(arr.shape[1])
        if side * side != arr.shape[1] or side == 0:
            raise InputError(f"{source} has shape {arr.shape}: a 2-D bank must be (K, p*p) with p*p a square "
                             "number of pixels per row")
        arr = arr.reshape(arr.shape[0], side, side)
    elif arr.ndim == 4:
        if arr.shape[2] != arr.shape[3]:
            raise InputError(f"{source} has non-square kernels {arr.shape[2]}x{arr.shape[3]} (shape {arr.shape}); "
                             "expected (out, in, k, k)")
        arr = combine_channels(arr, channel_weights, source)
    elif arr.ndim != 3:
        raise InputError(f"{source} has shape {arr.shape}; expected (K, p, p), (K, p*p) or a convolution "
                         "weight (out, in, k, k)")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(f"{source} has shape {arr.shape}; expected at least one filter of at least 1x1 pixels")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{source} holds NaN or infinite values")
    return arr.astype(np.float32)


def _npz_entry(path: Path, layer: str | None) -> np.ndarray:
    with np.load(path, allow_pickle=False) as data:
        names = list(data.files)
        if layer is not None:
            if layer not in names:
                raise InputError(f"{path} has no array {layer!r}; its arrays: {names}")
            return data[layer]
        if len(names) == 1:
            return data[names[0]]
        if "filters" in names:
            return data["filters"]
    raise InputError(f"{path} holds {len(names)} arrays {names} and none named 'filters'; name one with layer "
                     "(--layer KEY)")


def _is_tensor(value) -> bool:
    return hasattr(value, "detach") and hasattr(value, "shape")


def _state_dict_of(obj) -> Mapping | None:
    """The first mapping holding tensors in ``obj`` (itself, else its values depth-first in insertion
    order), or None."""
    if not isinstance(obj, Mapping):
        return None
    if any(_is_tensor(v) for v in obj.values()):
        return obj
    for value in obj.values():
        found = _state_dict_of(value)
        if found is not None:
            return found
    return None


def _conv_weight(state: Mapping, layer: str | None, source: str) -> tuple[str, np.ndarray]:
    """``(key, array)`` of the convolution weight of a state dict: the entry ``layer`` (or
    ``layer + ".weight"``), else the first 4-D tensor whose key ends in ``weight``."""
    if layer is not None:
        key = next((k for k in (layer, f"{layer}.weight") if k in state and _is_tensor(state[k])), None)
        if key is None:
            raise InputError(f"{source} has no tensor {layer!r}; 4-D tensors there: "
                             f"{[k for k, v in state.items() if _is_tensor(v) and v.ndim == 4]}")
    else:
        key = next((k for k, v in state.items() if _is_tensor(v) and v.ndim == 4 and str(k).endswith("weight")),
                   None)
        if key is None:
            raise InputError(f"{source} has no 4-D convolution weight (out, in, k, k); its tensors: "
                             f"{[f'{k} {tuple(v.shape)}' for k, v in state.items() if _is_tensor(v)][:8]}")
    weight = state[key].detach().cpu().float().numpy()
    if weight.ndim != 4:
        raise InputError(f"{source}: {key!r} has shape {weight.shape}; expected a convolution weight "
                         "(out, in, k, k)")
    return str(key), weight


def _torch_entry(path: Path, layer: str | None) -> tuple[str, np.ndarray]:
    import pickle

    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise InputError(f"{path} is not a file torch.load(weights_only=True) reads: not a PyTorch file, or one "
                         "that pickles code (a whole model); save model.state_dict() instead") from None
    except Exception as exc:   # torch.load fails on foreign bytes in many ways (KeyError, RuntimeError, ...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise InputError(f"{path} is not a file torch.load(weights_only=True) reads ({type(exc).__name__}: "
                         f"{first}); expected .npy, .npz, or a PyTorch tensor, state dict or checkpoint dict "
                         "(save model.state_dict())") from None
    if _is_tensor(obj):
        return "tensor", obj.detach().cpu().float().numpy()
    state = _state_dict_of(obj)
    if state is None:
        raise InputError(f"{path} holds no tensors: expected a tensor, a state dict or a checkpoint dict "
                         "holding one")
    return _conv_weight(state, layer, str(path))


def read_bank_file(path: str | os.PathLike, *, layer: str | None = None) -> tuple[str, np.ndarray]:
    """The raw array of a bank file and which entry of the file it is (module docstring).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npy``, ``.npz`` or PyTorch file.
    layer : str, optional
        The entry to take (an ``.npz`` key or a state-dict key).

    Returns
    -------
    entry : str
        ``"array"`` for a ``.npy`` file, the ``.npz`` key, or the state-dict key.
    array : ndarray
        The entry as stored (before :func:`filter_array`).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no filter-bank file {str(path)!r}" + (" (it is a folder)" if path.is_dir() else ""))
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            return "array", np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise InputError(f"{path} is not a readable .npy array ({exc})") from None
    if suffix == ".npz":
        try:
            return layer or "filters", _npz_entry(path, layer)
        except (ValueError, OSError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"{path} is not a readable .npz archive ({exc})") from None
    return _torch_entry(path, layer)


def load_filter_bank(source: ArrayLike | str | os.PathLike[str], *, layer: str | None = None,
                     channel_weights: Sequence[float] | None = None) -> np.ndarray:
    """The (K, p, p) float32 filters of a bank in any accepted form (module docstring).

    Parameters
    ----------
    source : array-like, str or os.PathLike
        An array, or a path to a ``.npy``, ``.npz`` or PyTorch file.
    layer : str, optional
        The entry to take: an ``.npz`` key, or a state-dict key (``"features.0.weight"``; ``"conv1"``
        stands for ``"conv1.weight"``).  Default: see the module docstring.
    channel_weights : sequence of float, optional
        How the input channels of a convolution weight are combined (default: equal weights).

    Returns
    -------
    (K, p, p) float32 array

    Raises
    ------
    InputError
        One line naming the input: a missing or unreadable file, no 4-D convolution weight, a shape that is
        not a filter bank, non-square filters.
    """
    if isinstance(source, (str, os.PathLike)):
        entry, array = read_bank_file(source, layer=layer)
        return filter_array(array, channel_weights=channel_weights, source=f"{source} [{entry}]")
    if layer is not None:
        raise InputError("layer names an entry of a file; it cannot be used with an array")
    return filter_array(source, channel_weights=channel_weights)
