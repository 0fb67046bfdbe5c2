"""A simulated population shaped like Antolík et al. (2016): the ``antolik2016_sim`` recordings.

The S1 Dataset of Antolík et al. (2016) holds, per region, 31 x 31 natural-image stimuli, the
inferred spike rates of every cell to each training image (one presentation) and to 50 test
images presented several times.  :func:`simulate_antolik2016` builds recordings of the same shapes
with a known ground truth:

* regions (:data:`REGION_SHAPES`): 1,800 training images and 103 cells (10 test repeats); 1,260
  and 55 (8 repeats); 1,800 and 102 (12 repeats); 50 test images each;
* stimuli: 31 x 31 crops of the natural images (the default image set unless given), each crop's
  mean removed and divided by its standard deviation (unit RMS contrast: a stand-in for the
  contrast normalisation of the early visual pathway, which keeps the rates' tails realistic);
* cells: a fraction ``complex_fraction`` (default 0.4) of energy-model complex cells (a quadrature
  pair of Gabors, 10% baseline) and the rest threshold-linear LN simple cells (a Gabor, threshold at
  half a standard deviation of the drive); orientation uniform, spatial frequency uniform in
  0.1 - 0.2 cycles/pixel, envelope ``sigma = 0.4 / frequency`` pixels (2 - 4 pixels), centre
  within 5 pixels of the image centre; each cell's mean rate is ``mean_spikes`` (default 1 spike
  per presentation);
* calcium-like noise (:func:`calcium_like`): spikes ``s ~ Poisson(rate)``; each spike's calcium
  transient has a random amplitude, so the inferred rate is ``s * g`` with ``g ~ Gamma(shape 4,
  mean 1)`` (multiplicative noise, coefficient of variation 0.5); deconvolution leaves additive
  noise ``e ~ N(0, 0.2^2)``; and the inferred rate is non-negative: ``y = max(0, s * g + e)``.
  The responses are continuous and not Poisson, as inferred rates are (so models fit them with
  the Gaussian likelihood, like the real data).

The ground truth of every cell is its rate (``train_rate``, ``test_rate``) and its filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..data import Image, PatchSampler, load_images
from ..errors import InputError
from ..validation import check_float, check_int, seed_alias
from .datasets import DATASETS, Recordings
from .neurons import ComplexCell, SimpleCell, complex_gabor

#: per region: training images, cells, test repeats (Antolík et al. 2016, S1 Dataset)
REGION_SHAPES = {1: (1800, 103, 10), 2: (1260, 55, 8), 3: (1800, 102, 12)}
N_TEST = 50
SIDE = 31
#: calcium-like noise: shape of the gamma amplitude per spike, and the additive noise's standard deviation
GAMMA_SHAPE = 4.0
ADDITIVE_STD = 0.2


@dataclass
class SimulatedRegion:
    """One simulated region: its :class:`~.datasets.Recordings` and the ground truth.

    Parameters
    ----------
    recordings : Recordings
        The simulated recordings.
    cells : list
        The simulated neurons, one per column of the responses.
    kinds : ndarray
        The kind of each cell (simple or complex).
    train_rate : ndarray
        True rates on the training images, shape (n, cells).
    test_rate : ndarray
        True rates on the test images, shape (m, cells).
    """

    recordings: Recordings
    cells: list
    kinds: np.ndarray
    train_rate: np.ndarray
    test_rate: np.ndarray

    def subset(self, n_cells: int) -> "SimulatedRegion":
        """The region with its first ``n_cells`` simple and complex cells in the same proportion (for quick runs).

        Parameters
        ----------
        n_cells : int
            How many cells to keep.
        """
        n_complex = int(round(n_cells * np.mean(self.kinds == "complex")))
        keep = np.concatenate([np.flatnonzero(self.kinds == "simple")[:n_cells - n_complex],
                               np.flatnonzero(self.kinds == "complex")[:n_complex]])
        rec = self.recordings
        recordings = Recordings(name=rec.name, train_stimuli=rec.train_stimuli,
                                train_responses=rec.train_responses[..., keep], test_stimuli=rec.test_stimuli,
                                test_responses=rec.test_responses[..., keep],
                                description=f"{rec.description}, {len(keep)} of its cells")
        return SimulatedRegion(recordings=recordings, cells=[self.cells[i] for i in keep], kinds=self.kinds[keep],
                               train_rate=self.train_rate[:, keep], test_rate=self.test_rate[:, keep])

    def true_response(self, images) -> np.ndarray:
        """The cells' true rates (n, cells) to images (n, 31, 31).

        Parameters
        ----------
        images : array_like
            Images, shape (n, 31, 31).
        """
        return true_rates(self.cells, images)


def true_rates(cells, images) -> np.ndarray:
    """The rates (n, cells) of simulated ``cells`` to images (n, H, W)."""
    flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    return np.stack([c.rate(flat) for c in cells], axis=1)


def calcium_like(rate: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Inferred-rate-like responses to ``rate`` (any shape): ``max(0, Poisson(rate) * Gamma + Normal)``.

    Parameters
    ----------
    rate : ndarray
        Expected spike counts, any shape.
    rng : numpy.random.Generator
        The source of the noise.
    """
    spikes = rng.poisson(rate)
    amplitude = rng.gamma(GAMMA_SHAPE, 1.0 / GAMMA_SHAPE, size=spikes.shape)
    return np.maximum(spikes * amplitude + rng.normal(0.0, ADDITIVE_STD, size=spikes.shape), 0.0)


def natural_crops(images, n: int, random_state) -> np.ndarray:
    """``n`` crops of 31 x 31 pixels, each with mean 0 and unit standard deviation (near-flat crops rejected)."""
    crops = PatchSampler(images, SIDE, random_state=random_state, min_variance=0.1).sample(n).astype(np.float64)
    crops -= crops.mean(axis=1, keepdims=True)
    return (crops / crops.std(axis=1, keepdims=True)).reshape(n, SIDE, SIDE)


def _cell(kind: str, rng, x_train: np.ndarray, mean_spikes: float):
    freq = rng.uniform(0.1, 0.2)
    centre = (SIDE - 1) / 2 + rng.uniform(-5, 5, 2)
    g = complex_gabor(SIDE, theta=rng.uniform(0, np.pi), freq=freq, sigma=0.4 / freq, x0=centre[0], y0=centre[1],
                      phase=rng.uniform(0, 2 * np.pi))
    if kind == "complex":
        cell = ComplexCell(g.real, g.imag)
        cell.baseline = 0.1 * mean_spikes
        cell.gain = 0.9 * mean_spikes / cell.energy(x_train).mean()
        return cell
    drive = x_train @ g.real.ravel()
    threshold = 0.5 * drive.std()
    return SimpleCell(g.real, "relu", gain=mean_spikes / np.maximum(drive - threshold, 0).mean(), offset=threshold)


@seed_alias
def simulate_antolik2016(images: Sequence[Image | np.ndarray] | None = None, *, random_state: int = 0,
                         regions: Sequence[int] = (1, 2, 3), complex_fraction: float = 0.4, mean_spikes: float = 1.0
                        ) -> list[SimulatedRegion]:
    """Simulated recordings of the shapes of Antolík et al. (2016), with ground truth (module docstring).

    ``images``: the natural images the crops come from (default: the ``default`` image set);
    ``regions``: which of :data:`REGION_SHAPES`; the same ``random_state`` (an int) gives the same recordings.

    Parameters
    ----------
    images : sequence of Image or ndarray, or None, default None
        The natural images the crops come from (None: the default set).
    random_state : int, default 0
        Seed of the cells, crops and noise.
    regions : sequence of int, default (1, 2, 3)
        Which regions of :data:`REGION_SHAPES` to simulate.
    complex_fraction : float, default 0.4
        Fraction of the cells that are complex.
    mean_spikes : float, default 1.0
        Mean spike count per stimulus of a cell.
    """
    seed = check_int("random_state", random_state, minimum=0)
    complex_fraction = check_float("complex_fraction", complex_fraction, minimum=0.0, maximum=1.0)
    mean_spikes = check_float("mean_spikes", mean_spikes, minimum=0.0, strict_minimum=True)
    images = load_images("default") if images is None else images
    out = []
    for region in regions:
        if region not in REGION_SHAPES:
            raise InputError(f"regions: antolik2016_sim has regions {tuple(REGION_SHAPES)}, got {region!r}")
        n_train, n_cells, repeats = REGION_SHAPES[region]
        rng = np.random.default_rng([seed, 2016, region])
        crops = natural_crops(images, n_train + N_TEST, rng.integers(2 ** 31))
        train, test = crops[:n_train], crops[n_train:]
        x_train = train.reshape(n_train, -1)
        n_complex = int(round(complex_fraction * n_cells))
        kinds = np.array(["simple"] * (n_cells - n_complex) + ["complex"] * n_complex)
        cells = [_cell(kind, rng, x_train, mean_spikes) for kind in kinds]
        train_rate, test_rate = true_rates(cells, train), true_rates(cells, test)
        recordings = Recordings(
            name=f"antolik2016_sim region {region}", train_stimuli=train,
            train_responses=calcium_like(train_rate, rng), test_stimuli=test,
            test_responses=calcium_like(np.broadcast_to(test_rate, (repeats, *test_rate.shape)), rng),
            description=f"simulated, shaped like Antolík et al. 2016 region {region} (seed {seed})")
        out.append(SimulatedRegion(recordings=recordings, cells=cells, kinds=kinds, train_rate=train_rate,
                                   test_rate=test_rate))
    return out


@DATASETS.register("antolik2016_sim")
def load_antolik2016_sim(argument: str | None = None, *, images=None) -> list[Recordings]:
    """The three simulated regions of :func:`simulate_antolik2016`; ``antolik2016_sim:SEED`` picks the seed."""
    try:
        value = int(argument) if argument is not None else 0
    except ValueError:
        raise InputError(f"antolik2016_sim:SEED takes an integer seed, got {argument!r}") from None
    return [region.recordings for region in simulate_antolik2016(images, random_state=value)]
