"""Noise models of the population encoding models: the likelihood each minimises and its link.

``poisson``: spike counts (or trial-averaged counts, as a quasi-likelihood); the loss per
stimulus and cell is ``rate - y log(rate)`` (the negative log-likelihood without the ``log y!``
term, which does not depend on the model), in nats.

``gaussian``: calcium signals, inferred rates and other continuous responses; the loss is
``(y - prediction)^2 / (2 var_c)`` with ``var_c`` the variance of cell ``c``'s training
responses, a fixed noise variance that puts every cell's loss on the same scale (so one
regularisation grid suits all cells).

``auto`` (the default of :func:`effcode.encoding.fit_encoding_model`) picks ``poisson`` when
every response is a non-negative integer and ``gaussian`` otherwise.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_choice

NOISE_MODELS = ("poisson", "gaussian")

#: output nonlinearities of the readout models: ``rate = g(eta)``
OUTPUTS = ("exp", "softplus", "linear")


def choose_noise(noise: str, responses: np.ndarray) -> str:
    """``noise``, with ``"auto"`` resolved from the responses (counts -> poisson, else gaussian)."""
    check_choice("noise", noise, ("auto", *NOISE_MODELS))
    if noise != "auto":
        return noise
    counts = bool(np.all(responses >= 0) and np.all(responses == np.round(responses)))
    return "poisson" if counts else "gaussian"


def canonical_output(noise: str) -> str:
    """The canonical link's inverse: ``exp`` for Poisson, the identity for Gaussian noise."""
    return "exp" if noise == "poisson" else "linear"


def apply_output(output: str, eta):
    """``g(eta)`` for a torch tensor: exp, softplus or the identity."""
    import torch

    if output == "exp":
        return torch.exp(eta)
    if output == "softplus":
        return torch.nn.functional.softplus(eta)
    return eta


def loss_per_cell(noise: str, output: str, eta, y, scale):
    """Mean loss over stimuli of each cell, (cells,) (nats per stimulus up to constants).

    ``eta`` and ``y`` are (n, cells) tensors; ``scale`` (cells,) is the Gaussian noise variance
    (ignored for Poisson)."""
    import torch

    if noise == "poisson":
        if output == "exp":   # exact, and overflow-safe in the log domain
            return torch.mean(torch.exp(eta) - y * eta, dim=0)
        rate = apply_output(output, eta)
        return torch.mean(rate - y * torch.log(rate + 1e-8), dim=0)
    return torch.mean((apply_output(output, eta) - y) ** 2, dim=0) / (2 * scale)


def initial_offset(noise: str, output: str, mean: np.ndarray) -> np.ndarray:
    """The output offset that predicts each cell's mean response when the input terms are zero."""
    if output == "exp":
        return np.log(mean)
    if output == "softplus":
        return np.log(np.expm1(mean))
    return mean
