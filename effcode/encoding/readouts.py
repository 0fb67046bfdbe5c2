"""Per-cell readouts of a shared feature space, and the convolutional core of the CNN model.

:class:`FactorisedReadout` is the readout of Klindt et al. (2017, NeurIPS): cell ``c`` reads the
feature maps ``F`` (n, C, h, w) through a spatial mask ``m_c`` (h, w), the "where", and feature
weights ``v_c`` (C,), the "what": ``eta_c = sum_{k,y,x} m_c[y, x] v_c[k] F[k, y, x] + b_c``.
Its parameters grow as ``h*w + C + 1`` per cell instead of ``C*h*w + 1`` for a dense readout.
The sparsity penalty is the L1 norm of each cell's full readout, ``|m_c|_1 |v_c|_1`` (the two
factors' rescalings cancel in it), averaged over cells.
"""

from __future__ import annotations

import numpy as np
import torch


class FactorisedReadout(torch.nn.Module):
    """``eta (n, cells)`` from feature maps ``(n, channels, height, width)``."""

    def __init__(self, channels: int, height: int, width: int, n_cells: int, offset: np.ndarray,
                 generator: torch.Generator):
        super().__init__()
        # start every cell at a uniform mask (all positions) and small random feature weights, so that
        # both factors get gradients from the first step
        mask = torch.full((n_cells, height * width), 1.0 / (height * width))
        mask += 0.1 * mask * torch.randn(mask.shape, generator=generator)
        self.mask = torch.nn.Parameter(mask)
        self.features = torch.nn.Parameter(torch.randn((n_cells, channels), generator=generator) / np.sqrt(channels))
        self.offset = torch.nn.Parameter(torch.as_tensor(offset, dtype=torch.float32).clone())
        #: the sum over the longer axis is taken first, the faster order (2.1x for 160 channels at 49
        #: positions on one CPU thread); positions first keeps the maps' own layout, channels first needs them
        #: as (n, positions, channels)
        self.where_first = height * width >= channels

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.read(self.layout(maps))

    def layout(self, maps: torch.Tensor) -> torch.Tensor:
        """Feature maps (n, channels, height, width) as :meth:`read` takes them: (n, channels, positions) when
        :attr:`where_first`, else (n, positions, channels) (a copy).  A fixed front end's features are laid
        out once, before training.

        Parameters
        ----------
        maps : torch.Tensor
            Feature maps, shape (n, channels, height, width).
        """
        flat = maps.flatten(2)
        return flat if self.where_first else flat.transpose(1, 2).contiguous()

    def read(self, x: torch.Tensor) -> torch.Tensor:
        """``eta`` (n, cells) of features laid out by :meth:`layout`.

        Parameters
        ----------
        x : torch.Tensor
            Features as :meth:`layout` returns them.
        """
        if self.where_first:
            pooled = x @ self.mask.T                                              # (n, channels, cells): "where"
            return torch.einsum("nkc,ck->nc", pooled, self.features) + self.offset   # "what"
        weighted = x @ self.features.T                                           # (n, positions, cells): "what"
        return (weighted * self.mask.T).sum(1) + self.offset                     # "where"

    def l1_penalty(self) -> torch.Tensor:
        """Mean over cells of ``|m_c|_1 |v_c|_1``."""
        return torch.mean(self.mask.abs().sum(1) * self.features.abs().sum(1))

    def spatial_masks(self, height: int, width: int) -> np.ndarray:
        """Masks as images, (cells, height, width)."""
        return self.mask.detach().cpu().numpy().reshape(-1, height, width)


class ConvNetwork(torch.nn.Module):
    """The CNN model: a shared core (conv ``kernel_size`` x ``kernel_size`` with ``n_channels``
    maps, ReLU, 1x1 conv to ``hidden_channels`` maps, ReLU) and a :class:`FactorisedReadout`.

    The 1x1 layer combines rectified filter outputs, which an energy-like (phase-invariant) cell
    needs.  Convolutions are valid: the maps are ``side - kernel_size + 1`` pixels wide.  The
    layers are attributes ``conv``, ``mix`` and ``readout`` (experiment 11 permutes and rescales
    the hidden channels between ``conv`` and ``mix``)."""

    def __init__(self, n_channels: int, kernel_size: int, hidden_channels: int, readout_shape: tuple[int, int],
                 n_cells: int, offset: np.ndarray, generator: torch.Generator):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, n_channels, kernel_size)
        self.mix = torch.nn.Conv2d(n_channels, hidden_channels, 1)
        self.readout = FactorisedReadout(hidden_channels, *readout_shape, n_cells, offset, generator)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.mix(torch.relu(self.conv(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.features(x))

    def smoothness_penalty(self) -> torch.Tensor:
        """Squared differences between neighbouring pixels of the first-layer kernels relative to
        the kernels' squared norm (a scale-free Laplacian-type prior, as Klindt et al. 2017 put on
        their first layer)."""
        w = self.conv.weight
        rough = torch.sum(torch.diff(w, dim=-1) ** 2) + torch.sum(torch.diff(w, dim=-2) ** 2)
        return rough / (torch.sum(w ** 2) + 1e-12)
