"""Batched, bounded Levenberg-Marquardt least squares in torch.

Each of B independent problems minimises the sum of squared residuals over its N data points,

    cost_b(p) = sum_n (model(p)_bn - target_bn)^2,

over P parameters.  Bounded parameters ``lo <= p <= hi`` are optimised through the smooth
reparametrisation ``p = lo + (hi - lo) * sigmoid(z)`` (unbounded ones are ``p = z``), so the
iteration itself is unconstrained and always stays inside the box.  Each iteration solves the
Marquardt-scaled normal equations ``(J'J + lam diag(J'J)) dz = -J'r`` for every problem at
once, keeps the step where it lowers the cost (then lowers ``lam`` by Nielsen's rule) and
otherwise keeps the old point (``lam *= 4``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator

import torch

from ..progress import progress_bar

Model = Callable[..., "tuple[torch.Tensor, list[torch.Tensor]]"]


@dataclass
class Box:
    """Per-parameter bounds (P,); +-inf where a parameter is free."""

    lo: torch.Tensor
    hi: torch.Tensor

    def __post_init__(self):
        self.bounded = torch.isfinite(self.lo) & torch.isfinite(self.hi)
        self.width = torch.where(self.bounded, self.hi - self.lo, torch.ones_like(self.lo))
        self.offset = torch.where(self.bounded, self.lo, torch.zeros_like(self.lo))

    def to_params(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Parameters p and the diagonal derivative dp/dz, both (B, P)."""
        s = torch.sigmoid(z)
        p = torch.where(self.bounded, self.offset + self.width * s, z)
        dp = torch.where(self.bounded, self.width * s * (1.0 - s), torch.ones_like(z))
        return p, dp

    def to_free(self, p: torch.Tensor, margin: float = 1e-3) -> torch.Tensor:
        """Unconstrained z for parameters p, which are first pulled ``margin`` (relative) inside the box."""
        u = ((p - self.offset) / self.width).clamp(margin, 1.0 - margin)
        return torch.where(self.bounded, torch.log(u) - torch.log1p(-u), p)


@dataclass
class LMState:
    """Where a batch of problems stands: free parameters, cost, damping."""

    z: torch.Tensor
    cost: torch.Tensor
    lam: torch.Tensor

    def select(self, index: torch.Tensor) -> "LMState":
        return LMState(self.z[index], self.cost[index], self.lam[index])


@contextlib.contextmanager
def single_threaded(device: torch.device) -> Iterator[None]:
    """Run torch with one intra-op thread on a CPU (restored on exit; a no-op elsewhere).

    The fits evaluate many small chunks (2^15 values); torch's intra-op threading of such
    small ops was measured 10-30x slower than one thread on an oversubscribed machine, while
    one thread runs at a predictable speed.  This changes a process-wide torch setting for
    the duration of the fit.
    """
    if device.type != "cpu":
        yield
        return
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n_threads)


def _normal_equations(model: Model, box: Box, target: torch.Tensor, z: torch.Tensor):
    """Cost (B,), J'J (B, P, P) and J'r (B, P) at free parameters z, J = d residual / d z.

    All three come from one Gram matrix of [J_p, r] per problem.  On a CPU the batch is
    evaluated in chunks of 2^15 values, which keeps the temporaries in cache: several times
    faster than one pass over a large batch.
    """
    b, n = target.shape
    chunk = b if z.device.type != "cpu" else max(1, 2 ** 15 // n)

    grams = []
    for i in range(0, b, chunk):
        values, columns = model(box.to_params(z[i:i + chunk])[0], jacobian=True)
        stacked = torch.stack(columns + [values - target[i:i + chunk]], dim=1)      # (chunk, P + 1, N)
        grams.append(stacked @ stacked.transpose(1, 2))
    gram = torch.cat(grams)
    # Chain rule through the reparametrisation: J_z = J_p diag(dp/dz).
    dp = box.to_params(z)[1]
    jtj = gram[:, :-1, :-1] * dp[:, :, None] * dp[:, None, :]
    grad = gram[:, :-1, -1] * dp
    cost = gram[:, -1, -1]
    return torch.where(torch.isfinite(cost), cost, torch.full_like(cost, torch.inf)), jtj, grad


def levenberg_marquardt(model: Model, box: Box, target: torch.Tensor, z: torch.Tensor, n_iter: int, *,
                        lam: torch.Tensor | None = None, rtol: float = 1e-6, progress: bool | None = False,
                        desc: str = "fit") -> LMState:
    """Run up to ``n_iter`` LM iterations from free parameters ``z`` (B, P) towards ``target`` (B, N).

    ``model(p, jacobian=True)`` returns values (B, N) and the P columns (B, N) of the
    Jacobian in the natural parameters.  A problem stops (and is no longer evaluated) once
    an accepted step lowers its cost by less than ``rtol`` (relative) or its damping
    exceeds 1e6.  Returns the final :class:`LMState`; ``cost`` is the sum of squared residuals.
    """
    z = z.clone()
    lam = torch.full(z.shape[:1], 1e-2, dtype=z.dtype, device=z.device) if lam is None else lam.clone()
    cost, jtj, grad = _normal_equations(model, box, target, z)
    eye = torch.eye(z.shape[1], dtype=z.dtype, device=z.device)
    active = torch.arange(z.shape[0], device=z.device)
    for _ in progress_bar(range(n_iter), progress=progress, desc=desc, leave=False):
        if active.numel() == 0:
            break
        z_a, cost_a, lam_a, jtj_a, grad_a = z[active], cost[active], lam[active], jtj[active], grad[active]
        diag = torch.diagonal(jtj_a, dim1=1, dim2=2)
        scale = diag.clamp_min(1e-12 * diag.amax(-1, keepdim=True).clamp_min(1e-30))
        # Solve the scaled system, which keeps the damping meaningful across parameter units.
        inv_sqrt = scale.rsqrt()
        scaled = jtj_a * inv_sqrt[:, :, None] * inv_sqrt[:, None, :]
        chol, info = torch.linalg.cholesky_ex(scaled + (lam_a[:, None, None] + 1e-9) * eye)
        step = -torch.cholesky_solve((grad_a * inv_sqrt).unsqueeze(-1), chol).squeeze(-1) * inv_sqrt
        ok_solve = (info == 0) & torch.isfinite(step).all(-1)
        step = torch.where(ok_solve[:, None], step, torch.zeros_like(step))
        cost_new, jtj_new, grad_new = _normal_equations(model, box, target[active], z_a + step)
        accept = ok_solve & (cost_new < cost_a)
        # Nielsen's damping update from the ratio of actual to predicted decrease.
        predicted = lam_a * (step * step * scale).sum(-1) - (grad_a * step).sum(-1)
        rho = (cost_a - cost_new) / predicted.clamp_min(1e-30)
        factor = torch.clamp(1.0 - (2.0 * rho - 1.0) ** 3, min=1.0 / 3.0)
        lam_a = torch.where(accept, lam_a * factor, lam_a * 4.0).clamp(1e-9, 1e9)
        done = (accept & (cost_a - cost_new <= rtol * cost_a)) | (lam_a > 1e6)
        z[active] = torch.where(accept[:, None], z_a + step, z_a)
        jtj[active] = torch.where(accept[:, None, None], jtj_new, jtj_a)
        grad[active] = torch.where(accept[:, None], grad_new, grad_a)
        cost[active] = torch.where(accept, cost_new, cost_a)
        lam[active] = lam_a
        active = active[~done]
    return LMState(z, cost, lam)


def multistart(model: Model, box: Box, target: torch.Tensor, starts: torch.Tensor, n_iter: int, *,
               n_explore: int, progress: bool | None = False, desc: str = "fit") -> tuple[torch.Tensor, torch.Tensor]:
    """Fit every problem from S starting points and keep the best.

    ``target`` is (K, N) and ``starts`` (K, S, P) natural parameters.  All K*S problems run
    ``n_explore`` iterations; then only the lowest-cost start of each problem continues for
    the remaining ``n_iter - n_explore``.  Returns the parameters (K, P) and cost (K,).
    """
    k, s, p = starts.shape
    state = levenberg_marquardt(model, box, target.repeat_interleave(s, 0), box.to_free(starts.reshape(k * s, p)),
                                min(n_explore, n_iter), progress=progress, desc=f"{desc} (all starts)")
    best = state.cost.reshape(k, s).argmin(1) + s * torch.arange(k, device=starts.device)
    state = state.select(best)
    if n_iter > n_explore:
        state = levenberg_marquardt(model, box, target, state.z, n_iter - n_explore, lam=state.lam,
                                    progress=progress, desc=f"{desc} (best start)")
    return box.to_params(state.z)[0], state.cost
