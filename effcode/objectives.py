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

import math

import torch

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
    """

    name: str = ""
    elementwise: bool = True

    def __init__(self, lam: float):
        self.lam = check_float("lam", lam, minimum=0.0)

    def params(self) -> dict:
        """The penalty's parameters besides ``lam`` (for records and reprs)."""
        return {}

    def penalty(self, a: torch.Tensor) -> torch.Tensor:
        """S(a) elementwise (same shape as ``a``)."""
        raise NotImplementedError

    def value(self, a: torch.Tensor) -> torch.Tensor:
        """lam * sum of S(a) over all entries, a scalar tensor."""
        return self.lam * self.penalty(a).sum()

    def prox(self, v: torch.Tensor, step, dim: int = -1) -> torch.Tensor:
        """argmin_x 0.5 (x - v)^2 + step * lam * S(x)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}(lam={self.lam!r}{extra})"


@OBJECTIVES.register("l1")
class L1(Objective):
    r"""S(a) = |a|; prox = soft threshold :math:`\operatorname{sign}(v)\max(|v| - t, 0)`, t = step·lam."""

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
    """

    name = "l0"

    def penalty(self, a):
        return (a != 0).to(a.dtype)

    def prox(self, v, step, dim=-1):
        threshold = torch.sqrt(torch.as_tensor(2.0 * step * self.lam, dtype=v.dtype, device=v.device))
        return torch.where(v.abs() > threshold, v, torch.zeros_like(v))


@OBJECTIVES.register("cauchy")
class Cauchy(Objective):
    r"""S(a) = log(1 + a²/sigma²), the Cauchy-prior penalty of Olshausen & Field (1996).

    The prox has no simple closed form.  For v >= 0 (odd symmetry gives v < 0) the
    stationary points of :math:`\tfrac12(x-v)^2 + t\log(1+x^2/\sigma^2)` solve the cubic

    .. math::  x^3 - v x^2 + (\sigma^2 + 2t) x - v\sigma^2 = 0,

    whose real roots all lie in [0, v].  We take every real root in closed form
    (Cardano's formula, or the trigonometric form when there are three), polish
    each with two Newton steps, and return the root with the lowest objective.
    Because S is not convex, the prox can jump (from near 0 to near v) as |v| grows.
    Computed in float64 and cast back to the input dtype.
    """

    name = "cauchy"

    def __init__(self, lam: float, sigma: float = 1.0):
        super().__init__(lam)
        self.sigma = check_float("sigma", sigma, minimum=0.0, strict_minimum=True)

    def params(self):
        return {"sigma": self.sigma}

    def penalty(self, a):
        return torch.log1p((a / self.sigma) ** 2)

    def prox(self, v, step, dim=-1):
        t = torch.as_tensor(step * self.lam, dtype=torch.float64, device=v.device)
        w = v.detach().to(torch.float64).abs()
        s2 = self.sigma ** 2
        c = s2 + 2.0 * t  # cubic x^3 + b x^2 + c x + d with b = -w, d = -w s2
        p = c - w * w / 3.0  # depressed cubic y^3 + p y + q, x = y + w/3
        q = -2.0 * w ** 3 / 27.0 + w * c / 3.0 - w * s2
        disc = q * q / 4.0 + p ** 3 / 27.0
        # one real root (disc > 0): Cardano
        root_disc = torch.sqrt(torch.clamp(disc, min=0))
        one = _cbrt(-q / 2.0 + root_disc) + _cbrt(-q / 2.0 - root_disc)
        # three real roots (disc <= 0, hence p <= 0): trigonometric form
        m = 2.0 * torch.sqrt(torch.clamp(-p / 3.0, min=0))
        safe_p = torch.where(p < 0, p, torch.full_like(p, -1.0))
        arg = torch.clamp(3.0 * q / (2.0 * safe_p) * torch.sqrt(-3.0 / safe_p), -1.0, 1.0)
        phi = torch.arccos(arg) / 3.0
        three = [m * torch.cos(phi - 2.0 * math.pi * k / 3.0) for k in range(3)]
        candidates = torch.stack([torch.where(disc > 0, one, y) for y in three]) + w / 3.0
        candidates = torch.clamp(candidates, min=0) if candidates.numel() else candidates
        candidates = torch.minimum(candidates, w.expand_as(candidates))
        for _ in range(2):  # Newton polish on the cubic, kept only where it helps
            f = ((candidates - w) * candidates + c) * candidates - w * s2
            df = (3.0 * candidates - 2.0 * w) * candidates + c
            moved = candidates - f / torch.where(df.abs() > 1e-300, df, torch.ones_like(df))
            f_moved = ((moved - w) * moved + c) * moved - w * s2
            candidates = torch.where(f_moved.abs() < f.abs(), moved, candidates)
        energy = 0.5 * (candidates - w) ** 2 + t * torch.log1p(candidates ** 2 / s2)
        best = torch.gather(candidates, 0, energy.argmin(dim=0, keepdim=True))[0]
        return (torch.sign(v.detach()).to(torch.float64) * best).to(v.dtype)


@OBJECTIVES.register("topk")
class TopK(Objective):
    r"""k-winners-take-all along ``dim``: S = 0 if at most k entries of each slice are non-zero, +inf otherwise.

    The prox is the projection onto that set: keep the k entries of largest |v|
    along ``dim`` and zero the rest (``lam`` and ``step`` do not enter).  ``value``
    returns 0 for codes that satisfy the constraint (what ``prox`` produces) and
    +inf otherwise; it checks along the last dimension.  Default k = 10.
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


def _cbrt(x: torch.Tensor) -> torch.Tensor:
    """Real cube root (odd), for tensors that may be negative."""
    return torch.sign(x) * x.abs().pow(1.0 / 3.0)


def make_objective(name: str, lam: float, **params) -> Objective:
    """The registered objective ``name`` with weight ``lam`` and its extra ``params``.

    >>> make_objective("l1", 0.5).prox(torch.tensor([2.0, -0.2]), step=1.0)
    tensor([1.5000, 0.0000])
    """
    factory = OBJECTIVES.get(name)
    try:
        return factory(lam, **params)
    except TypeError as exc:
        raise InputError(f"bad parameters for objective {name!r}: {exc}") from None


__all__ = ["OBJECTIVES", "Objective", "make_objective", "L1", "NonNegL1", "L0", "Cauchy", "TopK"]
