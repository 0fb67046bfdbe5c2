r"""A convolutional sparse autoencoder trained on whole whitened images (large random crops).

**Model.**  K atoms :math:`d_k` of size s x s (unit Euclidean norm) synthesise an image
x (H x W) from K activation maps :math:`a_k` of size (H - s + 1) x (W - s + 1)::

    x_hat = sum_k  d_k * a_k        (transposed convolution, every atom at every position)

Before any use, x is divided by s_x, the root-mean-square pixel value of the training
images (``scale_``; 1 for the output of :func:`effcode.data.whiten_images`), so ``lam``
is the weight for unit-RMS images.  The loss of one unit-RMS image is the convolutional
sparse-coding energy

.. math::  E(x, a) = \frac{1}{M}\Big[\tfrac12 \sum_{p \in \Omega}
           \big(x_p - \textstyle\sum_k (d_k * a_k)_p\big)^2 + \lambda \sum_{k, q} S(a_{k,q})\Big],

with S a penalty from :mod:`effcode.objectives` (``l1``: ``S(a) = |a|``), q running over the
activation positions and :math:`\Omega` the *interior* of the image: pixels at least
s - 1 from every edge, which every atom position that could cover them can reach
(``M = |Omega| = (H - 2s + 2)(W - 2s + 2)`` pixels).  Pixels in the border strip are
covered by fewer atom positions and are left out, so the edge of a crop is never
mistaken for image structure.  The loss is therefore half the mean squared error per
interior pixel plus lam times the penalty per interior pixel; both are dimensionless
for unit-RMS images.  Training minimises the mean of E over random crops.

**Encoder.**  The activations are computed by ``n_iter`` unrolled FISTA (accelerated
proximal-gradient) steps on E, starting from a = 0, with the decoder's own atoms (tied
weights):

.. math::  a^{(1)} = \phi\big(\eta\, D^\top [m \odot x]\big),\qquad
           a^{(t+1)} = \phi\Big(y^{(t)} + \eta\, D^\top \big[m \odot (x - D y^{(t)})\big]\Big),\qquad
           y^{(t)} = a^{(t)} + \beta_t\,(a^{(t)} - a^{(t-1)}),

where :math:`D^\top` is the correlation with the atoms (a convolution layer whose K
filters are the atoms), D the transposed convolution, m the interior mask,
:math:`\beta_t = (\tau_t - 1)/\tau_{t+1}` the FISTA momentum
(:math:`\tau_1 = 1,\ \tau_{t+1} = (1 + \sqrt{1 + 4\tau_t^2})/2`) and :math:`\phi` the nonlinearity:

* ``nonlinearity="prox"``: :math:`\phi(v) = \operatorname{prox}_{\eta\lambda S}(v)`, the
  objective's own thresholding map, ``objective.prox(v, step=eta)`` (soft threshold at
  eta·lam for ``l1``, one-sided threshold for ``nonneg_l1``, hard threshold for ``l0``,
  the Cauchy shrinkage for ``cauchy``; for ``topk`` the k largest ``|v|`` *across channels
  at each position* are kept);
* ``nonlinearity="rectified"``: :math:`\phi(v) = \max(\operatorname{prox}(v), 0)`,
  non-negative activations (firing rates).

The first step is one convolution layer (filters eta·d_k) followed by the
nonlinearity, a plain sparse autoencoder's encoder; the later steps let overlapping
atoms compete for the same structure ("explaining away").  On the default images one
step learns almost only horizontal and vertical low-frequency atoms and barely
reconstructs; three steps give atoms of all orientations (``docs/sparse_cnn.md``).  The step
is :math:`\eta = 1/L`, L the largest eigenvalue of :math:`D^\top D` (the maximum over
spatial frequencies of :math:`\sum_k |\hat d_k|^2`, evaluated on an 8s x 8s frequency
grid), recomputed from the atoms at every training step and held fixed within it.

**Learning.**  The atoms start as the K highest-energy of 4K random s x s patches of
the images.  Each step draws ``batch_size`` random ``crop_size`` x ``crop_size`` crops
(every crop of every image equally likely), encodes them, and moves the atoms with
Adam down the gradient of the mean E, back-propagated through the unrolled encoder;
then every atom is renormalised to unit norm, so the penalty cannot be lowered by
shrinking activations and growing atoms.  Adam's step size is ``learning_rate`` for the
first ``decay_start`` steps and then halves every ``half_life`` steps (an annealing phase,
:func:`learning_rate_at`).  The schedule depends on the step alone, so a training of N steps is
the first part of one of 2N steps (experiment 12 checks convergence that way).  Why anneal:
Adam moves every atom entry by about its step size whatever the gradient's size, so at a constant
0.01 the atoms never settle (median per-atom absolute cosine 0.09 between 1,500 and 3,000 steps on the
default images, seed 0), and a 1/t decay slow enough to reach the same loss leaves them turning
(0.94–0.98) while one fast enough to stop them ends 8–9% higher in relative loss
(``docs/sparse_cnn.md`` gives the table).

**Outputs.**  ``basis_`` (decoder atoms) and ``filters_`` (first-layer encoder
filters) are the same unit-norm arrays, (K, s*s), in the units of the unit-RMS images;
``components_`` is the same array.  :meth:`SparseCNN.transform` returns activation maps
(n, K, H - s + 1, W - s + 1) in the units of the input images (multiplied back by
``scale_``), so ``inverse_transform(transform(X))`` approximates X on the interior.

**Default lam = 2 (was 1).**  At lam = 1 about 14% of the activations were non-zero on 8-bit
photographs with sensor noise, dense enough for the atoms to model the noise: median Gabor R²
0.68 on ``noisy_photos:250`` (seed 0).  lam = 2 (about 5% active, the sparsity of
:class:`~effcode.learners.SparseCoding`'s default) gives 0.875 there, 0.876 on ``noisy_photos``
(was 0.85) and 0.893 on the default images (was 0.86); lam = 4 gives 0.857 on ``noisy_photos:250``.
On ``dead_leaves`` (synthetic occlusion images, no photograph) neither reaches 0.8 (0.645 at
lam = 1, 0.70 at lam = 2): there the atoms become centre-surround blobs and disc fragments, a
convolutional code's efficient answer to many small discs.  Measurements in ``docs/sparse_cnn.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.fft import next_fast_len
from sklearn.utils.validation import check_is_fitted

from ..errors import DivergenceError, InputError
from ..objectives import OBJECTIVES, Objective, make_objective
from ..progress import progress_bar
from ..validation import check_array, check_choice, check_float, check_int, check_random_state, resolve_device
from .base import LEARNERS, FilterLearner
from .selection import budget, description_length_score, matching_pursuit
from .training import IterativeLearner, data_fingerprint

NONLINEARITIES = ("prox", "rectified")
#: Adam's step size is constant for the first DECAY_START training steps (the default of ``decay_start``)
DECAY_START = 1000
#: after ``decay_start``, Adam's step size halves every HALF_LIFE steps (the default of ``half_life``)
HALF_LIFE = 50.0


@dataclass(frozen=True)
class _Settings:
    objective: Objective
    rectify: bool
    kernel_size: int
    device: torch.device


# ----------------------------------------------------------------- the model, as functions


def step_size(atoms: torch.Tensor) -> float:
    """eta = 1 / L, L = max over frequencies of ``sum_k |FFT(d_k)|²`` (largest eigenvalue of DᵀD).

    ``atoms`` is (K, 1, s, s); the spectrum is sampled on an 8s x 8s grid of frequencies, which
    underestimates L by less than 1 % (measured on random atoms; the steps stay stable).

    Parameters
    ----------
    atoms : torch.Tensor
        The atoms, shape (K, 1, s, s).
    """
    size = 8 * atoms.shape[-1]
    spectrum = torch.fft.rfft2(atoms[:, 0].detach(), s=(size, size)).abs().pow(2).sum(dim=0)
    return 1.0 / float(spectrum.max())


def interior_mask(height: int, width: int, kernel_size: int, device) -> torch.Tensor:
    """(1, 1, H, W) float mask: 1 on pixels at least s - 1 from every edge, 0 elsewhere.

    Parameters
    ----------
    height : int
        Image height H, pixels.
    width : int
        Image width W, pixels.
    kernel_size : int
        Atom side s, pixels.
    device : str or torch.device
        Where the mask is made.
    """
    mask = torch.zeros(1, 1, height, width, device=device)
    edge = kernel_size - 1
    mask[..., edge:height - edge, edge:width - edge] = 1.0
    return mask


class AtomConvolutions:
    r"""The two linear maps of the model for atoms (K, 1, s, s) and images of (H, W) pixels.

    ``correlate`` is :math:`D^\top`: images (B, 1, H, W) to maps (B, K, H - s + 1, W - s + 1),
    :math:`(D^\top r)_{k,p} = \sum_q r_{p+q}\, d_{k,q}` (``F.conv2d``); ``synthesise`` is D: maps
    to images, :math:`(Da)_p = \sum_k \sum_q a_{k,p-q}\, d_{k,q}` (``F.conv_transpose2d``).

    With ``fft`` (the default on the CPU) both are products of 2-D discrete Fourier transforms of
    size (N, M), the smallest sizes at least (H, W) with no prime factor above 5 (fast transforms;
    N = H for the 64-pixel training crops): the correlation is
    :math:`\mathcal F^{-1}[\hat r\,\overline{\hat d_k}]` cropped to the valid maps, the synthesis
    :math:`\mathcal F^{-1}[\sum_k \hat a_k \hat d_k]` cropped to (H, W).  Both are exact, not
    approximations: the circular indices never wrap, since p + q <= (H - s) + (s - 1) = H - 1 <= N - 1
    in the correlation and the synthesis of (H - s + 1)-pixel maps spans exactly H <= N pixels.
    On one CPU thread a training step of the default model (32 atoms of 16x16 on 64x64 crops,
    three encoder steps, the gradient through them) runs about 1.5x faster than with the direct
    convolutions, whose (K, 1) channel layout the CPU kernels handle poorly; the results agree
    to float32 rounding (relative 1e-6 on the loss and its gradient).  Other devices use the
    direct convolutions.

    Parameters
    ----------
    atoms : torch.Tensor
        The atoms, shape (K, 1, s, s).
    height : int
        Image height H, pixels.
    width : int
        Image width W, pixels.
    fft : bool or None, default None
        Whether to use Fourier transforms (None: on the CPU only).
    """

    def __init__(self, atoms: torch.Tensor, height: int, width: int, *, fft: bool | None = None):
        self.atoms = atoms
        self.shape = (int(height), int(width))
        self.fft = atoms.device.type == "cpu" if fft is None else bool(fft)
        if self.fft:
            self.fft_shape = tuple(next_fast_len(n, real=True) for n in self.shape)
            self.spectra = torch.fft.rfft2(atoms[:, 0], s=self.fft_shape)      # (K, N, M // 2 + 1)

    def correlate(self, images: torch.Tensor) -> torch.Tensor:
        if not self.fft:
            return F.conv2d(images, self.atoms)
        size = self.atoms.shape[-1]
        spectrum = torch.fft.rfft2(images, s=self.fft_shape) * self.spectra.conj()
        return torch.fft.irfft2(spectrum, s=self.fft_shape)[..., :self.shape[0] - size + 1, :self.shape[1] - size + 1]

    def synthesise(self, maps: torch.Tensor) -> torch.Tensor:
        if not self.fft:
            return F.conv_transpose2d(maps, self.atoms)
        spectrum = (torch.fft.rfft2(maps, s=self.fft_shape) * self.spectra).sum(dim=1, keepdim=True)
        return torch.fft.irfft2(spectrum, s=self.fft_shape)[..., :self.shape[0], :self.shape[1]]


def encode(x: torch.Tensor, atoms: torch.Tensor, objective: Objective, eta: float, n_iter: int,
           mask: torch.Tensor, rectify: bool = False) -> torch.Tensor:
    """Activations (B, K, H-s+1, W-s+1) of images x (B, 1, H, W): ``n_iter`` unrolled FISTA steps
    on the energy with atoms (K, 1, s, s), step ``eta`` and interior ``mask`` (module docstring;
    the convolutions by :class:`AtomConvolutions`).

    Parameters
    ----------
    x : torch.Tensor
        Images, shape (B, 1, H, W).
    atoms : torch.Tensor
        The atoms, shape (K, 1, s, s).
    objective : Objective
        The sparsity penalty and its weight.
    eta : float
        The FISTA step size.
    n_iter : int
        Unrolled FISTA steps.
    mask : torch.Tensor
        The interior mask, shape (1, 1, H, W).
    rectify : bool, default False
        Whether to keep the activations non-negative.
    """
    conv = AtomConvolutions(atoms, *x.shape[-2:])
    a = previous = y = None
    t = 1.0
    for _ in range(n_iter):
        residual = mask * (x if y is None else x - conv.synthesise(y))
        drive = eta * conv.correlate(residual)
        a, previous = objective.prox(drive if y is None else y + drive, eta, dim=1), a
        if rectify:
            a = torch.clamp(a, min=0)
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        y = a if previous is None else a + ((t - 1.0) / t_next) * (a - previous)
        t = t_next
    assert a is not None, "n_iter >= 1 (checked by the callers)"
    return a


def energy_terms(x: torch.Tensor, a: torch.Tensor, atoms: torch.Tensor, objective: Objective,
                 mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(half squared error, lam * penalty), each summed over the batch and divided by the
    number of interior pixels of one image (so their sum is B times the mean E).

    Parameters
    ----------
    x : torch.Tensor
        Images, shape (B, 1, H, W).
    a : torch.Tensor
        Activations, shape (B, K, H-s+1, W-s+1).
    atoms : torch.Tensor
        The atoms, shape (K, 1, s, s).
    objective : Objective
        The sparsity penalty and its weight.
    mask : torch.Tensor
        The interior mask, shape (1, 1, H, W).
    """
    n_interior = mask.sum()
    reconstruction = AtomConvolutions(atoms, *x.shape[-2:]).synthesise(a)
    half_sq_error = 0.5 * (mask * (x - reconstruction)).pow(2).sum() / n_interior
    penalty = objective.value(a.movedim(1, -1)) / n_interior  # channels last: topk checks dim -1
    return half_sq_error, penalty


def learning_rate_at(step: int, learning_rate: float, decay_start: int | None, half_life: float) -> float:
    """Adam's step size at training step ``step`` (counted from 0): ``learning_rate`` for the first
    ``decay_start`` steps, then halved every ``half_life`` steps (None: constant throughout).  It depends on
    the step alone, so a training of N steps is the first part of a longer one."""
    if decay_start is None or step < decay_start:
        return learning_rate
    return learning_rate * 0.5 ** ((step - decay_start) / half_life)


def half_energy(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Half the squared pixel values of images x on the interior ``mask``, summed over the batch and
    divided by the number of interior pixels: the energy E of all-zero activations, in the units of
    :func:`energy_terms`."""
    return 0.5 * (mask * x).pow(2).sum() / mask.sum()


def _normalised(atoms: torch.Tensor) -> torch.Tensor:
    norms = atoms.flatten(1).norm(dim=1).clamp_min(1e-12)
    return atoms / norms.view(-1, 1, 1, 1)


# ----------------------------------------------------------------- the estimator


class SparseCNN(IterativeLearner, FilterLearner):
    r"""Convolutional sparse autoencoder trained on large crops of whitened images.

    Minimises, over the atoms, the mean over crops of
    E = [0.5 · sum over interior pixels (x - sum_k d_k * a_k)² + lam · sum S(a)] / M
    (M interior pixels, unit-norm atoms d_k, activations a from ``n_iter`` unrolled
    FISTA steps on E with tied weights; see the module docstring).

    Parameters
    ----------
    n_components : int, default=32
        Number of atoms / activation maps K.
    kernel_size : int, default=16
        Atom size s (pixels); ``fit_images(patch_size=...)`` sets it.
    lam : float, default=2.0
        Sparsity weight, for unit-RMS images.
    objective : str, default="l1"
        Penalty name from ``effcode.objectives.OBJECTIVES``.
    objective_params : dict or None, default=None
        Extra parameters of the penalty (``{"sigma": 1.0}`` for ``cauchy``, ``{"k": 2}`` for
        ``topk``); None: none.
    nonlinearity : {"prox", "rectified"}, default="prox"
        ``"prox"`` (the objective's proximal map) or ``"rectified"`` (that map followed by
        max(., 0)).
    n_iter : int, default=3
        Unrolled encoder steps (1 = a single convolution + nonlinearity).
    learning_rate : float, default=1e-2
        Adam step size on the atoms (atom entries are O(1/s)) for the first ``decay_start``
        training steps.
    decay_start : int or None, default=1000
        Training steps at the full ``learning_rate`` (None: throughout); after them it halves
        every ``half_life`` steps (:func:`learning_rate_at`; module docstring: why the atoms must
        be annealed).
    half_life : float, default=50.0
        Steps over which the learning rate halves after ``decay_start``.
    n_steps : int, default=1500
        Training steps, each on ``batch_size`` crops.
    crop_size : int, default=64
        Side of each square training crop in pixels (crop_size >= 2 * kernel_size, <= the
        smallest image side).
    batch_size : int, default=4
        Crops per training step.
    random_state : int, RandomState, Generator or None, default=0
        Seed of the initial atoms and of the crops (scikit-learn's convention).
    device : str or torch.device, default="cpu"
        Torch device for all computation.
    progress : bool, default=False
        Show a progress bar while training.

    Attributes
    ----------
    components_ : ndarray of shape (K, s*s), float32
        Unit-norm atoms: the decoder's synthesis functions and the encoder's first-layer filters;
        ``basis_`` and ``filters_`` hold the same values.
    step_size_ : float
        eta = 1/L of the final atoms (the encoder's first layer is ``eta · filters_``).
    scale_ : float
        RMS pixel value of the training images (units of the input).
    history_ : dict
        Per-step float arrays: ``loss`` (mean E), ``relative_loss`` (E relative to the crops' E
        with all-zero activations: 1 means nothing explained), ``reconstruction_error`` (half mean
        squared error per interior pixel), ``penalty`` (lam · S per interior pixel),
        ``active_fraction`` (fraction of non-zero activations).

    Notes
    -----
    With x a crop divided by the images' RMS (``scale_``), unit-norm atoms :math:`d_k` (s, s)
    and activation maps :math:`a_k`, training minimises the mean over crops of

    .. math::  E(x, a) = \frac{1}{M}\Big[\tfrac12 \sum_{p \in \Omega}
               \big(x_p - \textstyle\sum_k (d_k * a_k)_p\big)^2 + \lambda \sum_{k, q} S(a_{k,q})\Big]

    over the atoms, :math:`\Omega` being the crop's interior (M pixels) and a the output of
    ``n_iter`` unrolled FISTA steps on E with the same atoms (see the module docstring).
    ``transform`` returns the activation maps in the units of X; the atoms (``components_``)
    are unit-norm, dimensionless.
    """

    #: the learning-rate schedule and the crops depend on the step alone (:func:`learning_rate_at`)
    length_free_schedule = True

    def __init__(self, n_components: int = 32, *, kernel_size: int = 16, lam: float = 2.0, objective: str = "l1",
                 objective_params: dict | None = None, nonlinearity: str = "prox", n_iter: int = 3,
                 learning_rate: float = 1e-2, decay_start: int | None = DECAY_START,
                 half_life: float = HALF_LIFE, n_steps: int = 1500,
                 crop_size: int = 64, batch_size: int = 4, random_state: int = 0, device="cpu",
                 progress: bool = False):
        self.n_components = n_components
        self.kernel_size = kernel_size
        self.lam = lam
        self.objective = objective
        self.objective_params = objective_params
        self.nonlinearity = nonlinearity
        self.n_iter = n_iter
        self.learning_rate = learning_rate
        self.decay_start = decay_start
        self.half_life = half_life
        self.n_steps = n_steps
        self.crop_size = crop_size
        self.batch_size = batch_size
        self.random_state = random_state
        self.device = device
        self.progress = progress

    # ----------------------------------------------------------------- fitting

    def _settings(self) -> _Settings:
        check_int("n_components", self.n_components)
        kernel_size = check_int("kernel_size", self.kernel_size, minimum=2)
        check_int("n_iter", self.n_iter)
        check_int("n_steps", self.n_steps)
        check_int("batch_size", self.batch_size)
        check_int("crop_size", self.crop_size, minimum=2 * kernel_size)
        check_float("learning_rate", self.learning_rate, minimum=0.0, strict_minimum=True)
        if self.decay_start is not None:
            check_int("decay_start", self.decay_start, minimum=0)
        check_float("half_life", self.half_life, minimum=0.0, strict_minimum=True)
        check_choice("objective", self.objective, OBJECTIVES.names())
        nonlinearity = check_choice("nonlinearity", self.nonlinearity, NONLINEARITIES)
        if self.objective_params is not None and not isinstance(self.objective_params, dict):
            raise InputError(f"objective_params must be a dict or None, got {type(self.objective_params).__name__}")
        objective = make_objective(self.objective, self.lam, **(self.objective_params or {}))
        return _Settings(objective=objective, rectify=nonlinearity == "rectified", kernel_size=kernel_size,
                         device=resolve_device(self.device))

    def fit(self, X, y=None):
        """Fit on an array of images X (n, H, W), already preprocessed (e.g. whitened).

        Parameters
        ----------
        X : array_like
            Preprocessed images, shape (n, H, W).
        y : None
            Ignored.
        """
        images = check_array("X", X, ndim=3)
        return self._fit_arrays(list(images), n_steps=None, progress=self.progress)

    def fit_images(self, images, *, patch_size: int | None = None, n_patches: int | None = None,
                   progress: bool = False, checkpoint=None, checkpoint_every: int = 100):
        """Fit on random crops of whitened images (the default preprocessing).

        ``images`` (Image objects or 2-D arrays, any sizes) go through
        :func:`effcode.data.whiten_images` (Olshausen-Field whitening, unit variance).
        ``patch_size``, when given, becomes ``kernel_size``.  ``n_patches``, when given,
        is the number of crops to train on (``ceil(n_patches / batch_size)`` steps
        instead of ``n_steps``); a crop, not a kernel-sized patch, is this learner's sample.

        With ``checkpoint`` (a file path) the atoms, the Adam state, the crop generator and the
        history are saved there every ``checkpoint_every`` steps (loadable with
        ``weights_only=True``); an existing checkpoint of the same configuration is resumed,
        ending with the result of an uninterrupted run.

        Parameters
        ----------
        images : sequence of Image or ndarray
            The 2-D luminance images, of any sizes.
        patch_size : int or None, default None
            The kernel size to use (None: keep ``kernel_size``).
        n_patches : int or None, default None
            Crops to train on (None: ``n_steps`` batches).
        progress : bool, default False
            Whether to draw a progress bar.
        checkpoint : str or os.PathLike or None, default None
            File the state is saved to and resumed from (None: no checkpoint).
        checkpoint_every : int, default 100
            Steps between saves.
        """
        from ..data import whiten_images

        if patch_size is not None:
            self.kernel_size = check_int("patch_size", patch_size, minimum=2)
            if 2 * self.kernel_size > self.crop_size:   # named as the caller set it, not as crop_size's minimum
                raise InputError(f"patch_size={patch_size} needs training crops of at least {2 * patch_size} "
                                 f"pixels (twice the kernel), but crop_size is {self.crop_size}; expected "
                                 f"patch_size <= {self.crop_size // 2}, or a larger crop_size")
        n_steps = None
        if n_patches is not None:
            n_steps = -(-check_int("n_patches", n_patches) // check_int("batch_size", self.batch_size))
        checkpoints = self._checkpoints(checkpoint, checkpoint_every, length=check_int("n_steps", self.n_steps)
                                        if n_steps is None else n_steps,
                                        images=data_fingerprint(images))
        return self._fit_arrays(whiten_images(images), n_steps=n_steps, progress=progress or self.progress,
                                checkpoints=checkpoints)

    def _fit_arrays(self, arrays: list[np.ndarray], *, n_steps: int | None, progress: bool, checkpoints=None):
        settings = self._settings()
        s, crop, dev = settings.kernel_size, self.crop_size, settings.device
        for i, array in enumerate(arrays):
            if min(array.shape) < crop:
                raise InputError(f"crop_size={crop} does not fit image {i} of shape {array.shape}; "
                                 f"expected crop_size <= the smallest image side ({min(min(a.shape) for a in arrays)})")
        self.scale_ = rms_scale(arrays)
        if not self.scale_ > 0:
            raise InputError("the training images are all zero; expected image structure")
        images = [torch.as_tensor(a / self.scale_, dtype=torch.float32, device=dev) for a in arrays]
        self._rng = check_random_state(self.random_state, "random_state")
        atoms = _normalised(_initial_atoms(images, self.n_components, s, self._rng)).requires_grad_(True)
        optimizer = torch.optim.Adam([atoms], lr=self.learning_rate)
        mask = interior_mask(crop, crop, s, dev)
        n_positions = np.array([(a.shape[0] - crop + 1) * (a.shape[1] - crop + 1) for a in arrays], dtype=float)
        history: dict[str, list[float]] = {key: [] for key in ("loss", "relative_loss", "reconstruction_error", "penalty", "active_fraction")}
        total = self.n_steps if n_steps is None else n_steps
        checkpoints = checkpoints or self._checkpoints(None, 1)
        done = 0
        state = checkpoints.resume()
        if state is not None:
            with torch.no_grad():
                atoms.copy_(state["atoms"].to(dev))
            optimizer.load_state_dict(state["optimizer"])
            history = {key: list(values) for key, values in state["history"].items()}
            done = state["step"]

        def training_state() -> dict:
            return {"atoms": atoms.detach().cpu(), "optimizer": optimizer.state_dict(), "history": history}

        for step in progress_bar(range(done, total), progress=progress, desc="sparse CNN", initial=done, total=total):
            x = _draw_crops(images, n_positions, crop, self.batch_size, self._rng)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate_at(step, self.learning_rate, self.decay_start, self.half_life)
            eta = step_size(atoms)
            a = encode(x, atoms, settings.objective, eta, self.n_iter, mask, settings.rectify)
            half_sq_error, penalty = energy_terms(x, a, atoms, settings.objective, mask)
            loss = (half_sq_error + penalty) / self.batch_size
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                raise DivergenceError(
                    f"SparseCNN diverged at step {step} of {total} (loss = {loss_value}): learning_rate="
                    f"{self.learning_rate} is likely too large, or the images (RMS {self.scale_:.3g}) hold "
                    "extreme values")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                atoms.copy_(_normalised(atoms))
            history["loss"].append(loss_value)
            history["relative_loss"].append(loss_value * self.batch_size / float(half_energy(x, mask)))
            history["reconstruction_error"].append(half_sq_error.item() / self.batch_size)
            history["penalty"].append(penalty.item() / self.batch_size)
            history["active_fraction"].append(float((a != 0).float().mean()))
            checkpoints.completed(step + 1, training_state)
        self.history_ = {key: np.asarray(values) for key, values in history.items()}
        self._check_fit()
        return self._set_fitted(atoms.detach(), settings)

    def _silencing_parameter(self) -> str:
        return f"lam={self.lam}" if self.objective != "topk" else "the objective"

    def _loss_history(self):
        """The loss relative to the crops' own energy: the raw loss of a few random crops varies several-fold
        with their contrast, which would hide whether training lowers it."""
        return self.history_.get("relative_loss", [])

    def _set_fitted(self, atoms: torch.Tensor, settings: _Settings):
        self._atoms = atoms
        self._fitted = settings
        self.step_size_ = step_size(self._atoms)
        weights = self._atoms.reshape(self.n_components, -1).cpu().numpy().astype(np.float32)
        self.components_ = weights
        self.basis_ = weights
        self.filters_ = weights
        return self

    def set_atoms(self, atoms, *, scale: float = 1.0):
        """Make this estimator a fitted model with the given atoms, without training.

        ``atoms`` (K, s, s) or (K, s*s with s*s a square), unit norm: e.g. the ``basis`` of a saved
        :class:`~effcode.learners.FilterBank` of this learner, so that a cached bank can encode and
        reconstruct again.  ``scale`` is ``scale_``, the RMS pixel value of the training images
        (:func:`rms_scale` of them; 1 up to rounding for :func:`effcode.data.whiten_images` output).
        ``n_components`` and ``kernel_size`` are set from the atoms; ``lam``, ``objective``,
        ``n_iter`` and ``nonlinearity`` must be those the atoms were trained with.  No ``history_``.

        Parameters
        ----------
        atoms : array_like
            Unit-norm atoms, shape (K, s, s) or (K, s*s).
        scale : float, default 1.0
            The model's ``scale_``: the RMS pixel value of the images the atoms were trained on.
        """
        weights = check_array("atoms", atoms, ndim=(2, 3), dtype=np.float32)
        if weights.ndim == 2:
            side = math.isqrt(weights.shape[1])
            if side * side != weights.shape[1]:
                raise InputError(f"atoms of shape {weights.shape} are not square patches; expected (K, s, s)")
            weights = weights.reshape(-1, side, side)
        if weights.ndim != 3 or weights.shape[1] != weights.shape[2]:
            raise InputError(f"atoms must have shape (K, s, s), got {weights.shape}")
        norms = np.linalg.norm(weights.reshape(len(weights), -1), axis=1)
        if not np.allclose(norms, 1.0, atol=1e-3):
            raise InputError(f"atoms must have unit norm (this model's atoms do), got norms from "
                             f"{norms.min():.3g} to {norms.max():.3g}")
        self.scale_ = check_float("scale", scale, minimum=0.0, strict_minimum=True)
        self.n_components, self.kernel_size = int(weights.shape[0]), int(weights.shape[1])
        settings = self._settings()
        return self._set_fitted(torch.as_tensor(weights[:, None], device=settings.device), settings)

    # ----------------------------------------------------------------- using the model

    def _check_images(self, name: str, X) -> np.ndarray:
        images = check_array(name, X, ndim=3, dtype=np.float32)
        minimum = 2 * self._fitted.kernel_size - 1
        if min(images.shape[1:]) < minimum:
            raise InputError(f"{name} must have images of at least {minimum} x {minimum} pixels "
                             f"(2 * kernel_size - 1), got shape {images.shape}")
        return images

    def _encoded(self, X):
        """(unit-RMS image (1, 1, H, W), its activations (1, K, H', W')) tensors for each image of X (n, H, W),
        encoded with the fitted atoms and objective and the current ``n_iter``, and the interior mask."""
        check_is_fitted(self, "components_")
        n_iter = check_int("n_iter", self.n_iter)
        images = self._check_images("X", X)
        dev = self._fitted.device
        mask = interior_mask(images.shape[1], images.shape[2], self._fitted.kernel_size, dev)
        with torch.no_grad():
            for image in images:
                x = torch.as_tensor(image / self.scale_, device=dev)[None, None]
                yield x, encode(x, self._atoms, self._fitted.objective, self.step_size_, n_iter, mask,
                                self._fitted.rectify), mask

    def transform(self, X) -> np.ndarray:
        """Activation maps (n, K, H - s + 1, W - s + 1), float32, units of X, of images X (n, H, W).

        Runs the encoder with the fitted atoms and objective and the *current* ``n_iter``
        (``set_params(n_iter=...)`` encodes with more steps than were trained).
        ``get_feature_names_out()`` names the K maps (axis 1).

        Parameters
        ----------
        X : array_like
            Images, shape (n, H, W).
        """
        return np.stack([(a[0] * self.scale_).cpu().numpy() for _, a, _ in self._encoded(X)])

    def objective_score(self, X, y=None) -> float:
        r"""The negative mean energy per image of X (n, H, W), the training objective: higher is better.

        It compares models that share ``lam``, ``objective`` and ``n_components`` only; :meth:`score`
        ranks across them.

        :math:`-\frac1n \sum_x E(x / s, a)`, E the training loss of the module docstring (half the squared
        error plus lam times the penalty, per interior pixel, for unit-RMS images; s = ``scale_``) and a
        the activations :meth:`transform` computes.  Dimensionless.  ``y`` is ignored.

        Parameters
        ----------
        X : array_like
            Images, shape (n, H, W).
        y : None
            Ignored.
        """
        energies = [float(sum(energy_terms(x, a, self._atoms, self._fitted.objective, mask)))
                    for x, a, mask in self._encoded(X)]
        return -float(np.mean(energies))

    def score(self, X, y=None, *, n_nonzero: int | None = None) -> float:
        r"""Bits per pixel saved on the tiles of held-out images X (n, H, W) by k of the K atoms each:
        higher is better.

        The images are cut into non-overlapping s x s tiles (s = ``kernel_size``, from the top-left
        corner; a last partial row or column of tiles is left out), each tile x is approximated by
        orthogonal matching pursuit with k = ``n_nonzero`` of the K atoms, giving :math:`\hat x_k`, and

        .. math::  \mathrm{score}(X) = \tfrac12 \log_2 \frac{\sum_x \lVert x \rVert^2}
                   {\sum_x \lVert x - \hat x_k \rVert^2} - \frac{1}{s^2} \log_2 \binom{K}{k}.

        The value depends on the atoms and k only, so models fitted with different ``lam``, ``objective``
        or ``n_components`` compare on one footing (:mod:`effcode.learners.selection` gives the model).
        ``n_nonzero`` None: one tenth of s*s, rounded up.  The training objective is ``objective_score``.
        ``y`` is ignored.

        Parameters
        ----------
        X : array_like
            Held-out images, shape (n, H, W).
        y : None
            Ignored.
        n_nonzero : int or None, default None
            Atoms per tile k (None: one tenth of s*s, rounded up).
        """
        check_is_fitted(self, "components_")
        images = self._check_images("X", X).astype(np.float64)
        s = self._fitted.kernel_size
        n, height, width = images.shape
        rows, cols = height // s, width // s
        tiles = (images[:, :rows * s, :cols * s].reshape(n, rows, s, cols, s)
                 .transpose(0, 1, 3, 2, 4).reshape(-1, s * s))
        k = budget(s * s, n_nonzero)
        approximation = matching_pursuit(tiles, self.components_, k)
        return description_length_score(tiles, approximation, self.components_.shape[0], k)

    def transform_images(self, images) -> list[np.ndarray]:
        """Activation maps of images of any sizes, preprocessed as :meth:`fit_images` preprocesses them.

        ``images`` (Image objects or 2-D arrays, e.g. ``load_images("default")``) go through
        :func:`effcode.data.whiten_images`, then :meth:`transform` one at a time.  Returns a list
        with one float32 array (K, H - s + 1, W - s + 1) per image, in the order given.

        Parameters
        ----------
        images : sequence of Image or ndarray
            The 2-D luminance images, of any sizes.
        """
        from ..data import whiten_images

        return [self.transform(white[None])[0] for white in whiten_images(images)]

    def inverse_transform(self, codes) -> np.ndarray:
        """Images (n, H, W) = sum_k d_k * a_k of activation maps (n, K, H', W'), units of the maps.

        Only the interior (pixels at least s - 1 from the edges) is a complete reconstruction.

        Parameters
        ----------
        codes : array_like
            Activation maps, shape (n, K, H', W').
        """
        check_is_fitted(self, "components_")
        maps = check_array("codes", codes, ndim=4, dtype=np.float32)
        if maps.shape[1] != self.n_components:
            raise InputError(f"codes must have {self.n_components} channels (axis 1), got shape {maps.shape}")
        with torch.no_grad():
            a = torch.as_tensor(maps, device=self._fitted.device)
            size = self._fitted.kernel_size
            conv = AtomConvolutions(self._atoms, a.shape[-2] + size - 1, a.shape[-1] + size - 1)
            return conv.synthesise(a)[:, 0].cpu().numpy()


def rms_scale(arrays) -> float:
    """RMS pixel value of a list of images (``SparseCNN.scale_`` of a model trained on them).

    Parameters
    ----------
    arrays : sequence of ndarray
        The images.
    """
    return float(np.sqrt(np.mean([np.mean(np.square(a)) for a in arrays])))


def _initial_atoms(images: list[torch.Tensor], n_atoms: int, size: int, rng: np.random.Generator) -> torch.Tensor:
    """(K, 1, s, s): the K highest-energy of 4K random s x s patches of the images.

    Starting from data rather than noise makes every atom respond to the images from
    the first step; random noise atoms mostly stay silent and never learn.
    """
    n_positions = np.array([(im.shape[0] - size + 1) * (im.shape[1] - size + 1) for im in images], dtype=float)
    candidates = _draw_crops(images, n_positions, size, 4 * n_atoms, rng)
    energy = candidates.pow(2).sum(dim=(1, 2, 3))
    return candidates[torch.argsort(energy, descending=True, stable=True)[:n_atoms]]


def _draw_crops(images: list[torch.Tensor], n_positions: np.ndarray, crop: int, batch_size: int,
                rng: np.random.Generator) -> torch.Tensor:
    """(B, 1, crop, crop) crops, every crop position of every image equally likely."""
    which = rng.choice(len(images), size=batch_size, p=n_positions / n_positions.sum())
    crops = []
    for i in which:
        height, width = images[i].shape
        row = int(rng.integers(height - crop + 1))
        col = int(rng.integers(width - crop + 1))
        crops.append(images[i][row:row + crop, col:col + crop])
    return torch.stack(crops)[:, None]


LEARNERS.register("sparse_cnn", SparseCNN)

__all__ = ["AtomConvolutions", "SparseCNN", "encode", "energy_terms", "interior_mask", "rms_scale", "step_size"]
