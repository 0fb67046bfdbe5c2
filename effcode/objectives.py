r"""Sparsity penalties S(a) and their proximal (thresholding) maps.

Sparse coding minimises, over codes ``a`` (and a dictionary Phi),

.. math::  E(a) = \tfrac12 \lVert x - \Phi a \rVert^2 + \lambda \textstyle\sum_i S(a_i).

Every penalty here is an :class:`Objective` with two methods:

* ``value(a)``: :math:`\lambda \sum S(a)` over *all* entries of ``a``, a scalar
  torch tensor (differentiable wherever S is);
* ``prox(v, step, dim=-1)``: the proximal map of ``step * lam * S``,

  .. math::  \operatorname{prox}(v) = \arg\min_x \tfrac12 (x - v)^2 + \text{step}\,\lambda\, S(x),

  applied elementwise (or along ``dim`` for ``topk``).  Proximal-gradient
  inference (ISTA/FISTA) alternates a gradient step on the quadratic term with
  this map; LCA uses it as its activation function.

Registered names (``OBJECTIVES.names()``): ``l1``, ``nonneg_l1``, ``l0``,
``cauchy``, ``topk``.  A new penalty is one subclass of :class:`Objective` plus
``OBJECTIVES.register("name", Class)``; see ``docs/objectives.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from . import prox_kernels
from .errors import InputError
from .registry import Registry
from .validation import check_float, check_int

#: name -> Objective subclass; ``make_objective(name, lam, **params)`` builds one.
OBJECTIVES: Registry = Registry("objective")


class Objective:
    """Base class: a penalty ``lam * S`` with its proximal map.

    Subclasses set ``name`` and implement :meth:`penalty` (elementwise S) and
    :meth:`prox`.  Extra parameters (``sigma``, ``k``) have defaults, are
    validated in ``__init__`` and listed in :meth:`params`.  ``elementwise`` is
    False for penalties that couple the entries of a slice (``topk``).

    Parameters
    ----------
    lam : float
        Weight of the penalty, non-negative.
    """

    name: str = ""
    elementwise: bool = True

    def __init__(self, lam: float):
        self.lam = check_float("lam", lam, minimum=0.0)

    def params(self) -> dict:
        """The penalty's parameters besides ``lam`` (for records and reprs)."""
        return {}

    def penalty(self, a: torch.Tensor) -> torch.Tensor:
        """S(a) elementwise (same shape as ``a``).

        Parameters
        ----------
        a : torch.Tensor
            Codes.
        """
        raise NotImplementedError

    def value(self, a: torch.Tensor) -> torch.Tensor:
        """lam * sum of S(a) over all entries, a scalar tensor.

        Parameters
        ----------
        a : torch.Tensor
            Codes.
        """
        return self.lam * self.penalty(a).sum()

    def prox(self, v: torch.Tensor, step, dim: int = -1) -> torch.Tensor:
        """argmin_x 0.5 (x - v)^2 + step * lam * S(x).

        Parameters
        ----------
        v : torch.Tensor
            The point whose proximal map is taken.
        step : float or torch.Tensor
            The step size t multiplying the weighted penalty.
        dim : int, default -1
            The axis of a slice, for penalties that couple entries.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}(lam={self.lam!r}{extra})"


@OBJECTIVES.register("l1")
class L1(Objective):
    r"""S(a) = :math:`|a|`; prox = soft threshold :math:`\operatorname{sign}(v)\max(|v| - t, 0)`, t = step·lam.

    Parameters
    ----------
    lam : float
        Weight of the penalty, non-negative.
    """

    name = "l1"

    def penalty(self, a):
        return a.abs()

    def prox(self, v, step, dim=-1):
        t = step * self.lam
        return v - torch.clamp(v, -t, t)  # = sign(v) max(|v| - t, 0) in two operations


@OBJECTIVES.register("nonneg_l1")
class NonNegL1(Objective):
    r"""S(a) = a for a >= 0 and +inf for a < 0; prox = one-sided threshold :math:`\max(v - t, 0)`.

    ``prox`` always returns non-negative codes; ``value`` is +inf if any entry is negative.

    Parameters
    ----------
    lam : float
        Weight of the penalty, non-negative.
    """

    name = "nonneg_l1"

    def penalty(self, a):
        return torch.where(a >= 0, a, torch.full_like(a, float("inf")))

    def prox(self, v, step, dim=-1):
        return torch.clamp(v - step * self.lam, min=0)


@OBJECTIVES.register("l0")
class L0(Objective):
    r"""S(a) = 1 if a != 0 else 0 (counts active units); prox = hard threshold.

    The minimiser of :math:`\tfrac12(x-v)^2 + t\,[x \ne 0]` is ``v`` where
    :math:`|v| > \sqrt{2t}` and 0 otherwise, t = step·lam.  Few active units, in
    the spirit of Rehn & Sommer (2007).  ``value`` is piecewise constant (zero
    gradient); the problem is non-convex, so inference finds a local minimum.

    Parameters
    ----------
    lam : float
        Weight of the penalty, non-negative.
    """

    name = "l0"

    def penalty(self, a):
        return (a != 0).to(a.dtype)

    def threshold(self, step):
        """The hard threshold of the prox at ``step``: entries of absolute value above it are kept.

        Parameters
        ----------
        step : float or torch.Tensor
            The step size of the prox.
        """
        return (2.0 * step * self.lam) ** 0.5

    def prox(self, v, step, dim=-1):
        return torch.where(v.abs() > self.threshold(step), v, torch.zeros_like(v))


@OBJECTIVES.register("cauchy")
class Cauchy(Objective):
    r"""S(a) = log(1 + a²/sigma²), the Cauchy-prior penalty of Olshausen & Field (1996).

    The prox has no simple closed form.  For v >= 0 (odd symmetry gives v < 0) the
    stationary points of :math:`\tfrac12(x-v)^2 + t\log(1+x^2/\sigma^2)`, t = step·lam,
    are the real roots of the cubic

    .. math::  f(x) = x^3 - v x^2 + (\sigma^2 + 2t) x - v\sigma^2,

    all in [0, v]; the minimiser is the smallest or the largest root.  f is concave
    on [0, v/3] and convex on [v/3, v], with f(0) < 0 < f(v), so Newton's method
    started at 0 climbs monotonically to the smallest root and started at v
    descends monotonically to the largest (when a root lies in the other half the
    other start finds it).  We run ``NEWTON_STEPS`` = 12 steps from both starts at
    once and keep the candidate with the lower energy.  Because S is not convex,
    the prox jumps (from near 0 to near v) as :math:`|v|` grows past a threshold.
    Computed in the input dtype, elementwise operations only.  CPU tensors that do not
    require grad take a compiled kernel (:func:`effcode.prox_kernels.cauchy_prox`) with the
    same mathematics, whose Newton runs stop per entry once they no longer move.

    Parameters
    ----------
    lam : float
        Weight of the penalty, non-negative.
    sigma : float, default 1.0
        Scale of the Cauchy penalty, in code units.
    """

    name = "cauchy"
    NEWTON_STEPS = 12

    def __init__(self, lam: float, sigma: float = 1.0):
        super().__init__(lam)
        self.sigma = check_float("sigma", sigma, minimum=0.0, strict_minimum=True)

    def params(self):
        return {"sigma": self.sigma}

    def penalty(self, a):
        return torch.log1p((a / self.sigma) ** 2)

    def prox(self, v, step, dim=-1):
        """The prox elementwise; compiled for CPU float tensors without grad, torch otherwise.

        Parameters
        ----------
        v : torch.Tensor
            The point whose proximal map is taken.
        step : float or torch.Tensor
            The step size t multiplying the weighted penalty.
        dim : int, default -1
            Ignored (the penalty is elementwise).
        """
        t = self._compiled_step(v, step)
        if t is None:
            return self._prox_torch(v, step)
        flat = v.detach().contiguous().reshape(-1).numpy()
        x = prox_kernels.cauchy_prox(flat, t, self.sigma ** 2, self.NEWTON_STEPS)
        return torch.from_numpy(x).reshape(v.shape)

    def _compiled_step(self, v, step):
        """step·lam as the compiled kernel takes it (one value, or one per entry of v in v's dtype), or
        None where the torch path must run: a non-CPU or grad-requiring tensor, another dtype, or a
        step that is not a CPU tensor broadcastable to v without enlarging it."""
        if not isinstance(v, torch.Tensor) or v.device.type != "cpu" or v.requires_grad or \
                v.dtype not in (torch.float32, torch.float64):
            return None
        dtype = np.float32 if v.dtype == torch.float32 else np.float64
        if not isinstance(step, torch.Tensor):
            return np.array([float(step) * self.lam], dtype=dtype)
        if step.device.type != "cpu" or step.requires_grad or not step.dtype.is_floating_point:
            return None
        try:
            if torch.broadcast_shapes(step.shape, v.shape) != v.shape:
                return None
        except RuntimeError:
            return None
        if step.numel() == 1:
            return np.array([float(step) * self.lam], dtype=dtype)
        t = (step.detach().to(v.dtype) * self.lam).expand(v.shape).contiguous().reshape(-1)
        return t.numpy()

    def _prox_torch(self, v, step):
        t = step * self.lam
        s2 = self.sigma ** 2
        w = v.abs()
        c = s2 + 2.0 * t
        constant = w * s2
        x = torch.stack([w, torch.zeros_like(w)])  # starts for the largest and smallest root
        for _ in range(self.NEWTON_STEPS):
            f = ((x - w) * x + c) * x - constant
            slope = (3.0 * x - 2.0 * w) * x + c
            x = x - f / slope
        x = torch.minimum(torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0).clamp_min(0), w)
        large, small = x[0], x[1]
        # energy(large) - energy(small)
        difference = 0.5 * ((large - w) ** 2 - (small - w) ** 2) + t * torch.log((s2 + large * large) /
                                                                             (s2 + small * small))
        return torch.sign(v) * torch.where(difference <= 0, large, small)


@OBJECTIVES.register("topk")
class TopK(Objective):
    r"""k-winners-take-all along ``dim``: S = 0 if at most k entries of each slice are non-zero, +inf otherwise.

    The prox is the projection onto that set: keep the k entries of largest :math:`|v|`
    along ``dim`` and zero the rest (``lam`` and ``step`` do not enter).  ``value``
    returns 0 for codes that satisfy the constraint (what ``prox`` produces) and
    +inf otherwise; it checks along the last dimension.  Default k = 10.

    Parameters
    ----------
    lam : float, default 0.0
        Weight of the penalty (it does not enter the prox).
    k : int, default 10
        Entries kept per slice.
    """

    name = "topk"
    elementwise = False

    def __init__(self, lam: float = 0.0, k: int = 10):
        super().__init__(lam)
        self.k = check_int("k", k, minimum=1)

    def params(self):
        return {"k": self.k}

    def penalty(self, a):
        raise InputError("the topk objective is a constraint per slice, it has no elementwise penalty")

    def value(self, a):
        active = (a != 0).sum(dim=-1) if a.ndim else (a != 0).to(torch.int64)
        feasible = bool((active <= self.k).all())
        zero = (a * 0).sum()
        return zero if feasible else zero + float("inf")

    def prox(self, v, step=None, dim=-1):
        size = v.shape[dim]
        if self.k >= size:
            return v
        idx = v.abs().topk(self.k, dim=dim).indices
        return torch.zeros_like(v).scatter(dim, idx, v.gather(dim, idx))


def make_objective(name: str, lam: float, **params: Any) -> Objective:
    """The registered objective ``name`` with weight ``lam`` and its extra ``params``.

    Parameters
    ----------
    name : str
        The registered objective, e.g. ``"l1"``.
    lam : float
        Weight of the penalty.
    **params
        Its extra parameters, e.g. ``sigma`` or ``k``.

    Examples
    --------
    >>> make_objective("l1", 0.5).prox(torch.tensor([2.0, -0.2]), step=1.0)
    tensor([1.5000, 0.0000])
    """
    factory = OBJECTIVES.get(name)
    try:
        return factory(lam, **params)
    except TypeError as exc:
        raise InputError(f"bad parameters for objective {name!r}: {exc}") from None


__all__ = ["OBJECTIVES", "Objective", "make_objective", "L1", "NonNegL1", "L0", "Cauchy", "TopK"]
