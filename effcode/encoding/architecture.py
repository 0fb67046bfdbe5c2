"""Measurable properties of convolutional architectures.

* translation equivariance of a convolution, and what pooling does to it
  (:func:`equivariance_error`, :func:`invariance_error`);
* weight sharing: a convolution against a locally connected layer (:class:`LocallyConnected2d`,
  :func:`parameter_count`);
* receptive fields that grow with depth and dilation (:func:`conv_stack`,
  :func:`input_gradient_map`, :func:`receptive_field_widths`);
* the weight gradient of a convolution as a cross-correlation of its input with the
  back-propagated error (:func:`conv_weight_gradient`).

Images are torch tensors (N, C, H, W); a shift ``(dy, dx)`` is a circular translation by dy
rows and dx columns (:func:`translate`).
"""

from __future__ import annotations

import itertools
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike
import torch
from scipy.signal import correlate2d

from ..errors import InputError
from ..validation import check_array, check_choice, check_int, seed_alias


def translate(x: torch.Tensor, dy: int, dx: int, mode: str = "circular") -> torch.Tensor:
    """``T_a x``: shift the last two axes by ``dy`` rows and ``dx`` columns.

    ``mode="circular"`` wraps around; ``"zeros"`` fills the uncovered rows/columns with zeros.

    Parameters
    ----------
    x : torch.Tensor
        The tensor to shift along its last two axes.
    dy : int
        Shift along the rows, pixels.
    dx : int
        Shift along the columns, pixels.
    mode : {"circular", "zeros"}, default "circular"
        Whether to wrap around or fill with zeros.
    """
    check_choice("mode", mode, ("circular", "zeros"))
    dy, dx = int(dy), int(dx)
    out = torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
    if mode == "zeros":
        out = out.clone()
        rows = slice(0, dy) if dy >= 0 else slice(x.shape[-2] + dy, None)
        cols = slice(0, dx) if dx >= 0 else slice(x.shape[-1] + dx, None)
        out[..., rows, :] = 0
        out[..., :, cols] = 0
    return out


def _crop(x: torch.Tensor, margin: int) -> torch.Tensor:
    return x[..., margin:x.shape[-2] - margin, margin:x.shape[-1] - margin] if margin else x


def _relative(diff: torch.Tensor, ref: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(diff) / torch.linalg.vector_norm(ref))


@torch.no_grad()
def equivariance_error(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, dy: int, dx: int, *, stride: int = 1,
                       margin: int = 0, mode: str = "circular") -> float:
    """Relative equivariance error of ``f`` for the input shift ``a = (dy, dx)``.

    ``min_b |f(T_a x) - T_b f(x)| / |f(x)|`` (Frobenius norms over the output with ``margin``
    pixels cut from each border), the minimum over output shifts ``b`` whose components are the
    floor or ceiling of ``a / stride``; ``mode`` is the shift's boundary (:func:`translate`).
    0 when ``f`` commutes with the shift: exactly for a circularly padded convolution and
    circular shifts; for a zero-padded one with zero-filled shifts, once ``margin`` exceeds the
    kernel radius plus the shift; for a stride-``s`` map only when ``a`` is a multiple of ``s``.

    Parameters
    ----------
    f : callable
        The map under test, tensor to tensor.
    x : torch.Tensor
        The input.
    dy : int
        Shift along the rows, pixels.
    dx : int
        Shift along the columns, pixels.
    stride : int, default 1
        The total stride of ``f``.
    margin : int, default 0
        Pixels cut from each border of the output before the norms.
    mode : {"circular", "zeros"}, default "circular"
        The boundary of the input shift.
    """
    stride = check_int("stride", stride)
    margin = check_int("margin", margin, minimum=0)
    moved, ref = f(translate(x, dy, dx, mode)), f(x)
    if 2 * margin >= min(ref.shape[-2:]):
        raise InputError(f"margin {margin} leaves nothing of the {tuple(ref.shape[-2:])} output to compare")
    candidates = itertools.product({int(np.floor(dy / stride)), int(np.ceil(dy / stride))},
                                   {int(np.floor(dx / stride)), int(np.ceil(dx / stride))})
    return min(_relative(_crop(moved - translate(ref, by, bx, mode), margin), _crop(ref, margin))
               for by, bx in candidates)


@torch.no_grad()
def invariance_error(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, dy: int, dx: int) -> float:
    """Relative invariance error ``|f(T_a x) - f(x)| / |f(x)|`` (0 for a shift-invariant ``f``).

    Parameters
    ----------
    f : callable
        The map under test, tensor to tensor.
    x : torch.Tensor
        The input.
    dy : int
        Shift along the rows, pixels.
    dx : int
        Shift along the columns, pixels.
    """
    ref = f(x)
    return _relative(f(translate(x, dy, dx)) - ref, ref)


class LocallyConnected2d(torch.nn.Module):
    """A convolution-shaped layer without weight sharing: one k x k filter bank (and bias) per
    output position.  Output ``(N, out, H_out, W_out)`` with ``H_out = H + 2 padding - k + 1``.

    ``weight``: (H_out * W_out, out, in * k * k), ``bias``: (H_out * W_out, out).

    Parameters
    ----------
    in_channels : int
        Input channels.
    out_channels : int
        Output channels.
    kernel_size : int
        Side k of each square filter, pixels.
    input_size : tuple of int
        The input's (H, W), which fixes the number of output positions.
    padding : int, default 0
        Zero padding added to every border, pixels.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, input_size: tuple[int, int],
                 padding: int = 0):
        super().__init__()
        self.kernel_size = check_int("kernel_size", kernel_size)
        self.padding = check_int("padding", padding, minimum=0)
        self.out_size = tuple(s + 2 * padding - kernel_size + 1 for s in input_size)
        if min(self.out_size) < 1:
            raise InputError(f"kernel_size {kernel_size} is larger than the padded input {input_size}")
        n_pos = self.out_size[0] * self.out_size[1]
        fan_in = in_channels * kernel_size ** 2
        self.weight = torch.nn.Parameter(torch.randn(n_pos, out_channels, fan_in) / np.sqrt(fan_in))
        self.bias = torch.nn.Parameter(torch.zeros(n_pos, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cols = torch.nn.functional.unfold(x, self.kernel_size, padding=self.padding)  # (N, in*k*k, P)
        out = torch.bmm(self.weight, cols.permute(2, 1, 0).contiguous()).permute(2, 1, 0) + self.bias.T.unsqueeze(0)
        return out.reshape(x.shape[0], -1, *self.out_size)

    @classmethod
    def from_conv(cls, conv: torch.nn.Conv2d, input_size: tuple[int, int]) -> "LocallyConnected2d":
        """The locally connected layer whose filters at every position are ``conv``'s (zero padding)."""
        k = conv.kernel_size[0]
        layer = cls(conv.in_channels, conv.out_channels, k, input_size, padding=int(conv.padding[0]))
        with torch.no_grad():
            layer.weight.copy_(conv.weight.reshape(conv.out_channels, -1).expand_as(layer.weight))
            if conv.bias is not None:
                layer.bias.copy_(conv.bias.expand_as(layer.bias))
            else:
                layer.bias.zero_()
        return layer


def parameter_count(module: torch.nn.Module) -> int:
    """Number of trainable scalars of ``module``.

    Parameters
    ----------
    module : torch.nn.Module
        The module whose trainable parameters are counted.
    """
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad))


@seed_alias
def conv_stack(depth: int, *, kernel_size: int = 3, dilation: int | str = "1", channels: int = 4, random_state: int = 0
               ) -> torch.nn.Sequential:
    """``depth`` convolutions (``channels`` maps, 'same' zero padding) with ReLUs between them.

    ``dilation``: ``"1"``, ``"2"`` (every layer dilated by that factor) or ``"exponential"``
    (layer ``l`` dilated by ``2**(l-1)``).  Weights are PyTorch's default initialisation, seeded.
    The theoretical receptive field is ``1 + (kernel_size - 1) * sum(dilations)`` pixels wide.

    Parameters
    ----------
    depth : int
        How many convolutions.
    kernel_size : int, default 3
        Side of each square kernel, pixels.
    dilation : {"1", "2", "exponential"}, default "1"
        The dilation of every layer (1 or 2; 1, 2, 4, ... for "exponential"); the ints 1 and 2
        are accepted too.
    channels : int, default 4
        Feature maps per layer.
    random_state : int, default 0
        Seed of the initial weights.
    """
    depth = check_int("depth", depth)
    kernel_size = check_int("kernel_size", kernel_size)
    check_choice("dilation", str(dilation), ("1", "2", "exponential"))
    dilations = [2 ** l if dilation == "exponential" else int(dilation) for l in range(depth)]
    layers: list[torch.nn.Module] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_int("random_state", random_state, minimum=0))
        for l, d in enumerate(dilations):
            conv = torch.nn.Conv2d(1 if l == 0 else channels, channels, kernel_size, dilation=d,
                                   padding=d * (kernel_size // 2))
            layers += [conv, torch.nn.ReLU()] if l < depth - 1 else [conv]
    return torch.nn.Sequential(*layers)


def theoretical_receptive_field(net: torch.nn.Sequential) -> int:
    """Width in pixels of the input region that can influence one output unit of ``conv_stack``.

    Parameters
    ----------
    net : torch.nn.Sequential
        A network built by :func:`conv_stack`.
    """
    convs = [m for m in net if isinstance(m, torch.nn.Conv2d)]
    return 1 + sum((m.kernel_size[0] - 1) * m.dilation[0] for m in convs)


@seed_alias
def input_gradient_map(net: torch.nn.Module, size: int, *, n_samples: int = 16, random_state: int = 0) -> np.ndarray:
    """Mean ``|d y_centre / d x|`` over ``n_samples`` standard-normal inputs (1, size, size).

    ``y_centre`` is the sum over output channels at the central output pixel; the inputs are
    made on the device of ``net``'s parameters.  Returns a (size, size) float64 map (units:
    output per input unit) whose spread is the effective receptive field.

    Parameters
    ----------
    net : torch.nn.Module
        The network, taking (N, 1, size, size) inputs.
    size : int
        Side of the square input, pixels.
    n_samples : int, default 16
        Random inputs averaged over.
    random_state : int, default 0
        Seed of the random inputs.
    """
    size = check_int("size", size, minimum=3)
    n_samples = check_int("n_samples", n_samples)
    gen = torch.Generator().manual_seed(check_int("random_state", random_state, minimum=0))
    device = next(net.parameters()).device
    x = torch.randn(n_samples, 1, size, size, generator=gen).to(device).requires_grad_(True)
    out = net(x)
    out[:, :, out.shape[-2] // 2, out.shape[-1] // 2].sum().backward()
    grad = x.grad
    assert grad is not None, "backward() filled it"
    return grad.abs().mean(dim=(0, 1)).double().cpu().numpy()


def receptive_field_widths(grad_map: ArrayLike, *, rel_tol: float = 1e-9) -> dict[str, float]:
    """Sizes (pixels) of a receptive field from an input-gradient map (h, w).

    ``support``: the width along the central row of the pixels whose gradient exceeds
    ``rel_tol`` times the maximum (the theoretical receptive field, when the map is exact);
    ``effective``: twice the root-mean-square distance of the gradient mass from its centroid
    along the columns, ``2 sqrt(sum g (x - xbar)^2 / sum g)`` (the effective receptive field).

    Parameters
    ----------
    grad_map : array_like
        An input-gradient map, shape (h, w).
    rel_tol : float, default 1e-9
        Threshold of the support, relative to the map's maximum.
    """
    g = check_array("grad_map", grad_map, ndim=2)
    row = g[g.shape[0] // 2]
    above = np.flatnonzero(row > rel_tol * g.max())
    profile = g.sum(axis=0)
    x = np.arange(g.shape[1])
    centre = np.sum(profile * x) / profile.sum()
    return {"support": float(above[-1] - above[0] + 1),
            "effective": float(2 * np.sqrt(np.sum(profile * (x - centre) ** 2) / profile.sum()))}


def conv_weight_gradient(x: ArrayLike, grad_output: ArrayLike, *, kernel_size: int, padding: int = 0) -> np.ndarray:
    """The gradient of a loss with respect to a stride-1 convolution's weights, by cross-correlation.

    ``x``: the layer input (N, C_in, H, W); ``grad_output``: the back-propagated error
    ``dL/dy`` (N, C_out, H_out, W_out).  Returns ``dL/dW[o, i] = sum_n xcorr(x_pad[n, i],
    grad_output[n, o])`` restricted to the ``kernel_size`` x ``kernel_size`` valid lags, shape
    (C_out, C_in, k, k), computed with :func:`scipy.signal.correlate2d` (not autograd).

    Parameters
    ----------
    x : array_like
        The layer input, shape (N, C_in, H, W).
    grad_output : array_like
        The error back-propagated to the layer output, shape (N, C_out, H_out, W_out).
    kernel_size : int
        Side k of the square kernel, pixels.
    padding : int, default 0
        Zero padding of the input, pixels.
    """
    x = check_array("x", x, ndim=4)
    delta = check_array("grad_output", grad_output, ndim=4)
    k = check_int("kernel_size", kernel_size)
    padding = check_int("padding", padding, minimum=0)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    expected = tuple(s - k + 1 for s in xp.shape[-2:])
    if delta.shape[0] != x.shape[0] or delta.shape[-2:] != expected:
        raise InputError(f"grad_output must have shape ({x.shape[0]}, C_out, {expected[0]}, {expected[1]}), "
                         f"got {delta.shape}")
    out = np.zeros((delta.shape[1], x.shape[1], k, k))
    for n, o, i in itertools.product(range(x.shape[0]), range(delta.shape[1]), range(x.shape[1])):
        out[o, i] += correlate2d(xp[n, i], delta[n, o], mode="valid")
    return out
