"""A fixed front end made of a learned effcode filter bank: the ``efficient`` encoding model's core.

Every filter ``f_k`` of the bank is convolved (valid, as a cross-correlation) with the
stimulus, giving ``s_k = f_k * x``; the front end's feature maps are then

* ``rectified``: ``max(s_k, 0)`` and ``max(-s_k, 0)`` (ON and OFF half-waves, 2K maps);
* ``energy``: ``s_k^2 + (f'_k * x)^2`` with ``f'_k`` the quadrature partner of ``f_k`` (K maps),
  the energy model of Adelson & Bergen (1985) built on each learned filter;
* ``subunit``: ``max(s_k, 0)^2`` and ``max(-s_k, 0)^2`` (2K maps): rectified-squared subunits at
  every position, which a cell's spatial readout pools (a subunit model, Vintch et al. 2015);
* ``rectified_energy`` (the fair front end of experiment 08): the ON and OFF half-waves of each
  filter and of its quadrature partner, ``max(+-s_k, 0)`` and ``max(+-s'_k, 0)``, beside the pair's
  energy ``s_k^2 + s'^2_k`` (5K maps).  Their difference ``max(s, 0) - max(-s, 0) = s`` makes every
  linear filter ``cos(phi) f_k + sin(phi) f'_k`` (any phase ``phi`` of a learned filter, at any
  position) a readout of the features, and the energy makes the pair's complex cell one; the
  per-cell readout learns the mix, so neither kind of cell is ruled out by construction.

The quadrature partner of a filter is its Hilbert transform along its preferred direction: the
filter's spectrum times ``i sign(k . u)`` (:func:`effcode.encoding.local_phase_shift` by 90
degrees), with ``u`` the direction of the largest non-zero Fourier amplitude of the filter.  For a
Gabor this is the Gabor of the same envelope and frequency, 90 degrees out of phase.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import InputError
from ..validation import check_array, check_choice
from .readouts import FactorisedReadout
from .stimuli import local_phase_shift

FRONT_ENDS = ("rectified", "energy", "subunit", "rectified_energy")

#: feature maps per filter of each front end
MAPS_PER_FILTER = {"rectified": 2, "energy": 1, "subunit": 2, "rectified_energy": 5}


def preferred_direction(filt: np.ndarray) -> float:
    """Direction ``theta`` (radians, x = column, y = row) of a filter's largest non-DC Fourier amplitude."""
    amplitude = np.abs(np.fft.fft2(filt))
    amplitude[0, 0] = 0.0
    i, j = np.unravel_index(np.argmax(amplitude), amplitude.shape)
    fy, fx = np.fft.fftfreq(filt.shape[0])[i], np.fft.fftfreq(filt.shape[1])[j]
    return float(np.arctan2(fy, fx))


def quadrature_partner(filt: np.ndarray) -> np.ndarray:
    """The filter 90 degrees out of phase along its preferred direction, with the filter's norm."""
    partner = local_phase_shift(filt, np.pi / 2, preferred_direction(filt))
    return partner * np.linalg.norm(filt) / max(np.linalg.norm(partner), 1e-12)


class FilterBankFrontEnd(torch.nn.Module):
    """Fixed (not trained) feature maps of a filter bank ``filters`` (K, k, k); see the module doc."""

    #: buffers (K, 1, k, k) float32: the unit-norm filters and, for ``"energy"``, their quadrature partners
    filters: torch.Tensor
    partners: torch.Tensor

    def __init__(self, filters: np.ndarray, mode: str):
        super().__init__()
        filters = check_array("filters", filters, ndim=3)
        if filters.shape[1] != filters.shape[2]:
            raise InputError(f"the filter bank must hold square filters (K, k, k), got shape {filters.shape}")
        self.mode = check_choice("front_end", mode, FRONT_ENDS)
        # unit-norm filters: the readout's regularisation then sees features on one scale
        filters = filters / np.maximum(np.linalg.norm(filters.reshape(len(filters), -1), axis=1), 1e-12)[:, None, None]
        self.register_buffer("filters", torch.as_tensor(filters[:, None], dtype=torch.float32))
        with_partners = self.mode in ("energy", "rectified_energy")
        partners = np.stack([quadrature_partner(f) for f in filters]) if with_partners else filters[:0]
        self.register_buffer("partners", torch.as_tensor(partners[:, None], dtype=torch.float32))

    @property
    def kernel_size(self) -> int:
        return int(self.filters.shape[-1])

    @property
    def out_channels(self) -> int:
        return len(self.filters) * MAPS_PER_FILTER[self.mode]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.nn.functional.conv2d(x, self.filters)
        if self.mode in ("energy", "rectified_energy"):
            q = torch.nn.functional.conv2d(x, self.partners)
            energy = s ** 2 + q ** 2
            if self.mode == "energy":
                return energy
            return torch.cat([torch.relu(s), torch.relu(-s), torch.relu(q), torch.relu(-q), energy], dim=1)
        halves = torch.cat([torch.relu(s), torch.relu(-s)], dim=1)
        return halves ** 2 if self.mode == "subunit" else halves


class FrontEndNetwork(torch.nn.Module):
    """The ``efficient`` model: a fixed :class:`FilterBankFrontEnd` and a trained :class:`FactorisedReadout`."""

    #: the features do not change during training, so the trainer computes them once
    fixed_features = True

    def __init__(self, front_end: FilterBankFrontEnd, readout_shape: tuple[int, int], n_cells: int,
                 offset: np.ndarray, generator: torch.Generator):
        super().__init__()
        self.front_end = front_end
        self.readout = FactorisedReadout(front_end.out_channels, *readout_shape, n_cells, offset, generator)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.front_end(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.features(x))
