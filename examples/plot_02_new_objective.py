r"""
Write and register a new sparsity objective
===========================================

Sparse coding (and the sparse CNN) take their penalty S(a) from a registry,
:data:`effcode.objectives.OBJECTIVES`. A new penalty is a small subclass of
:class:`~effcode.objectives.Objective` with two methods: ``penalty`` (S, elementwise) and
``prox``, the proximal map used by ISTA/FISTA/LCA inference,

.. math::  \operatorname{prox}(v) = \arg\min_x \tfrac12 (x - v)^2 + t\, S(x),
           \qquad t = \text{step}\cdot\lambda.

Here we add a *rectified* hard-sparse penalty: codes are non-negative firing rates, and
each active unit costs the same, however strongly it fires,

.. math::  S(a) = \begin{cases} 0 & a = 0 \\ 1 & a > 0 \\ +\infty & a < 0. \end{cases}

For v ≤ 0 the minimiser is 0. For v > 0 the two candidates are x = 0 (cost v²/2) and
x = v (cost t), so the prox keeps v exactly when v > √(2t): a one-sided hard threshold.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

import effcode
from effcode.objectives import OBJECTIVES, Objective, make_objective

# %%
# The objective
# -------------
# ``name`` is the registry key, ``penalty`` returns S elementwise (``value``, inherited,
# multiplies its sum by λ) and ``prox`` the thresholding map. A penalty with extra
# parameters validates them in ``__init__`` and lists them in ``params``.


@OBJECTIVES.register("rectified_l0")
class RectifiedL0(Objective):
    """S(a) = 1 for a > 0, 0 for a = 0, +inf for a < 0; prox = v where v > sqrt(2 t), else 0."""

    name = "rectified_l0"

    def penalty(self, a):
        active = (a > 0).to(a.dtype)
        return torch.where(a < 0, torch.full_like(a, float("inf")), active)

    def prox(self, v, step, dim=-1):
        threshold = (2.0 * step * self.lam) ** 0.5
        return torch.where(v > threshold, v, torch.zeros_like(v))


print(OBJECTIVES.names())

# %%
# Check the prox against a brute-force minimisation
# -------------------------------------------------
# The proximal map must be the minimiser it claims to be. On a fine grid of candidate x
# (non-negative, since S is infinite below 0) the grid minimiser and ``prox`` agree to the
# grid spacing; effcode's contract test in ``tests/test_objectives.py`` does the same for
# every registered penalty.

objective = make_objective("rectified_l0", lam=0.5)
step = 1.0
v = torch.linspace(-3, 3, 601, dtype=torch.float64)
x = torch.linspace(0, 4, 4001, dtype=torch.float64)
energy = 0.5 * (x[None, :] - v[:, None]) ** 2 + step * objective.lam * objective.penalty(x)[None, :]
brute_force = x[energy.argmin(dim=1)]
print("largest |prox - grid minimiser|:", float((objective.prox(v, step) - brute_force).abs().max()))
print("threshold sqrt(2 t) =", (2 * step * objective.lam) ** 0.5)

fig, ax = plt.subplots(figsize=(5, 4), layout="constrained")
ax.plot(v, objective.prox(v, step), label="prox (rectified_l0)")
ax.plot(v, make_objective("l0", lam=0.5).prox(v, step), "--", label="prox (l0, signed)")
ax.set(xlabel="input v", ylabel="output", title="thresholding maps, t = 0.5")
ax.legend()

# %%
# Learn a dictionary with it
# --------------------------
# Once registered, the name works wherever an objective is asked for:
# ``SparseCoding(objective="rectified_l0")``, ``learn_filters(..., objective=...)``, the
# sparse CNN and sweeps. With only positive codes, an edge of either polarity needs its
# own atom, so the dictionary learns pairs of opposite-sign atoms. Quick sizes: 64 atoms
# of 8x8 pixels, 80 updates.

banks = {name: effcode.learn_filters("sparse_coding", "default", patch_size=8, n_filters=64, n_patches=80 * 256,
                                     batch_size=256, objective=name, lam=2.0, random_state=0)
         for name in ("l0", "rectified_l0")}
for name, bank in banks.items():
    r2 = effcode.gabor.fit_gabors(bank.basis)["r2"]
    print(f"{name:>13s}: {float(bank.history['sparsity'][-1]):.1%} of the codes active, "
          f"{float(bank.history['reconstruction_error'][-1]):.1%} of the patch energy unexplained, "
          f"median Gabor R² {np.nanmedian(r2):.2f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), layout="constrained")
for ax, (name, bank) in zip(axes, banks.items()):
    effcode.plots.filter_mosaic(bank.basis, order="index", ax=ax, colorbar=False, title=name)

# %%
# The penalty also enters the learner's recorded settings, so a run made with it can be
# told apart from one made with a built-in penalty:

print({key: banks["rectified_l0"].config[key] for key in ("method", "objective", "lam")})
