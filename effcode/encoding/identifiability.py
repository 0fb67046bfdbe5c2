"""Symmetries that make network weights non-identifiable, and matching filters up to them.

* :func:`permute_hidden`: reorder the hidden units between two layers (any elementwise
  nonlinearity in between) - the network's function is unchanged;
* :func:`rescale_hidden`: multiply hidden unit ``j``'s incoming weights and bias by ``s_j > 0``
  and divide its outgoing weights by ``s_j`` - unchanged through a ReLU (``relu(s z) = s relu(z)``);
* :func:`match_filters`: the best one-to-one pairing of two filter sets, up to order and sign.

Layers are ``torch.nn.Linear`` or ``torch.nn.Conv2d`` (hidden units = output features/channels
of the first, input features/channels of the second).  Anything between them that acts on each
unit separately and commutes with positive scaling (ReLU, average or max pooling) keeps both
symmetries.
"""

from __future__ import annotations

import copy

import numpy as np
from numpy.typing import ArrayLike
import torch
from scipy.optimize import linear_sum_assignment

from ..errors import InputError
from ..validation import check_array

_LAYERS = (torch.nn.Linear, torch.nn.Conv2d)


def _check_pair(first, second):
    if not (isinstance(first, _LAYERS) and isinstance(second, _LAYERS)):
        raise InputError("first and second must be torch.nn.Linear or torch.nn.Conv2d layers, got "
                         f"{type(first).__name__} and {type(second).__name__}")
    if first.weight.shape[0] != second.weight.shape[1]:
        raise InputError(f"first has {first.weight.shape[0]} outputs but second takes {second.weight.shape[1]} inputs")
    return first.weight.shape[0]


@torch.no_grad()
def permute_hidden(first: torch.nn.Linear | torch.nn.Conv2d, second: torch.nn.Linear | torch.nn.Conv2d, perm: ArrayLike
                  ) -> tuple:
    """Copies of ``(first, second)`` with hidden unit ``perm[j]`` moved to position ``j``.

    Parameters
    ----------
    first : torch.nn.Linear or torch.nn.Conv2d
        The layer into the hidden units.
    second : torch.nn.Linear or torch.nn.Conv2d
        The layer out of the hidden units.
    perm : array_like
        The permutation of the hidden units.
    """
    n = _check_pair(first, second)
    perm = np.asarray(perm)
    if perm.shape != (n,) or not np.array_equal(np.sort(perm), np.arange(n)):
        raise InputError(f"perm must be a permutation of range({n}), got {perm!r}")
    a, b = copy.deepcopy(first), copy.deepcopy(second)
    idx = torch.as_tensor(perm, device=a.weight.device)
    a.weight.copy_(first.weight[idx])
    if a.bias is not None and first.bias is not None:   # a is a copy of first: both or neither
        a.bias.copy_(first.bias[idx])
    b.weight.copy_(second.weight[:, idx])
    return a, b


@torch.no_grad()
def rescale_hidden(first: torch.nn.Linear | torch.nn.Conv2d, second: torch.nn.Linear | torch.nn.Conv2d,
                   scales: ArrayLike) -> tuple:
    """Copies of ``(first, second)`` with hidden unit ``j`` scaled by ``scales[j] > 0`` on the way
    in and by ``1 / scales[j]`` on the way out.

    Parameters
    ----------
    first : torch.nn.Linear or torch.nn.Conv2d
        The layer into the hidden units.
    second : torch.nn.Linear or torch.nn.Conv2d
        The layer out of the hidden units.
    scales : array_like
        Positive scale per hidden unit.
    """
    n = _check_pair(first, second)
    scales = check_array("scales", scales, ndim=1)
    if scales.shape != (n,) or np.any(scales <= 0):
        raise InputError(f"scales must be {n} positive numbers, got shape {scales.shape}")
    a, b = copy.deepcopy(first), copy.deepcopy(second)
    s = torch.as_tensor(scales, dtype=a.weight.dtype, device=a.weight.device)
    shape_in = (n,) + (1,) * (a.weight.ndim - 1)
    shape_out = (1, n) + (1,) * (b.weight.ndim - 2)
    a.weight.mul_(s.view(shape_in))
    if a.bias is not None:
        a.bias.mul_(s)
    b.weight.div_(s.view(shape_out))
    return a, b


def _unit_rows(name: str, a) -> np.ndarray:
    a = check_array(name, a, ndim=(2, 3))
    a = a.reshape(a.shape[0], -1)
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise InputError(f"{name} contains an all-zero filter")
    return a / norms


def match_filters(a: ArrayLike, b: ArrayLike) -> dict[str, np.ndarray]:
    """Pair the filters of ``a`` and ``b`` ((K, h, w) or (K, d), same K) up to order and sign.

    The pairing maximises the summed absolute cosine similarity ``|<a_j, b_perm[j]>| / (|a_j||b_perm[j]|)``
    (Hungarian algorithm).  Returns ``perm`` (K,), ``sign`` (K,) (+1/-1 so that
    ``sign[j] * b[perm[j]]`` best matches ``a[j]``), ``matched`` (K,) the paired absolute cosines and
    ``identity`` (K,) the absolute cosines of ``a[j]`` with ``b[j]`` in their stored order.

    Parameters
    ----------
    a : array_like
        The first filter set, shape (K, h, w) or (K, d).
    b : array_like
        The second filter set, the same shape as ``a``.
    """
    ua, ub = _unit_rows("a", a), _unit_rows("b", b)
    if ua.shape != ub.shape:
        raise InputError(f"a {ua.shape} and b {ub.shape} must hold the same number of filters of the same size")
    cos = ua @ ub.T
    rows, perm = linear_sum_assignment(-np.abs(cos))
    matched = cos[rows, perm]
    return {"perm": perm, "sign": np.where(matched < 0, -1.0, 1.0), "matched": np.abs(matched),
            "identity": np.abs(np.diag(cos))}
