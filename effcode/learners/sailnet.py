r"""SAILnet (Zylberberg, Murphy & DeWeese 2011): sparse coding with spiking neurons and local plasticity.

K leaky integrate-and-fire units see a patch x (d,) through feed-forward weights Q
(K, d) and inhibit each other through non-negative lateral weights W (K, K, zero
diagonal).  While the patch is shown, unit i's membrane potential u_i follows

.. math::  \tau\,\frac{du_i}{dt} = -u_i + \sum_j Q_{ij} x_j - \sum_{m \ne i} W_{im}\, s_m(t),

integrated with Euler steps of ``dt`` for ``n_timesteps`` steps (a presentation of
``n_timesteps * dt`` time units; u starts at 0).  s_m(t) ∈ {0, 1} marks whether unit m
spiked at the previous step: a unit spikes when u_i ≥ θ_i and its potential is then
reset to 0.  Unit i's output n_i is its spike count over the presentation.  In
discrete time, with η = dt/τ:

.. math::  u \leftarrow (1-\eta)\,u + \eta\,(Qx - W s),\qquad s = [u \ge \theta],
           \qquad n \mathrel{+}= s,\qquad u \leftarrow u\,(1 - s).

**Learning.**  After each batch of B patches the three local rules of the paper are
applied with batch means (as in the authors' released MATLAB code):

.. math::  \Delta W_{im} = \alpha\,(\langle n_i n_m\rangle - p^2),\quad
           W \leftarrow \max(W, 0),\ W_{ii} = 0            \quad\text{(anti-Hebbian, Földiák)}

           \Delta Q_{ij} = \beta\,\langle n_i\,(x_j - n_i Q_{ij})\rangle \quad\text{(Hebbian, Oja)}

           \Delta\theta_i = \gamma\,(\langle n_i\rangle - p)       \quad\text{(homeostatic threshold)}

with p the target spike count per unit per patch.  Each rule uses only quantities
available at the synapse (pre- and post-synaptic spike counts, the input, the weight
itself).  The paper shows that, with sparse and decorrelated outputs, these rules
approximately minimise the error of the linear generative model x ≈ Σ_i n_i Q_i
under the constraints ⟨n_i⟩ = p and ⟨n_i n_m⟩ = p².

**Units.**  Patches are normalised before they reach the network (``normalize``):
``"patch"`` (the paper's) gives each patch zero mean and unit variance across its
pixels; ``"global"`` divides every patch by s, the root-mean-square pixel value of
the first training batch (``scale_``), keeping relative contrast.  Q (``components_``)
is in those normalised pixel units; θ (``thresholds_``) and u in units of the drive
Qx; W (``lateral_``) in units of drive per spike; spike counts n (``transform``) are
integers in [0, ``n_timesteps``], stored as float32.

**Defaults.**  The paper's model on the paper's input: Olshausen-Field-whitened
16x16 patches, each normalised to zero mean and unit variance; target rate p = 0.05
spikes per unit per patch; Euler step η = dt/τ = 0.1 for 50 steps (a presentation of
five membrane time constants); initial thresholds 2, lateral weights 0 and random
unit-norm Q; and the learning rates α = 1, β = 0.01, γ = 0.1 applied to batch means of
100 patches, all as in the authors' released MATLAB code (github.com/jzlab/SAILnet,
``init.m`` and ``activities.m``), which trains 25,000 batches.  Two choices differ,
for speed: 3,000 batches (300,000 patches) instead of 25,000, and 256 units (the
released code's complete network) rather than the overcomplete network of the
paper's figures (about 75 spikes per patch at p = 0.05, its Fig. 2 caption, i.e. on
the order of 1,500 units).  On the CPU the network is simulated by a compiled kernel that
adds the inhibition of the units that fired only (:mod:`effcode.learners.lif`; same spike
counts as the dense simulation, 7x faster for 576 units of 12x12).  On the default images,
``learn_filters("sailnet", "default", patch_size=16, random_state=0)`` trains in about
15 s of one CPU thread (35-50 s with the dense simulation) and gives median Gabor R²
0.95 (all 256 units ≥ 0.7, 99% ≥ 0.8;
``effcode.v1.score_population(bank, population="basis")``), a mean rate of 0.051
spikes per unit per patch over the last 100 batches (1.6% of unit-patch pairs spike),
``reconstruction_error`` 0.74 and ``decoder_gain`` 0.42.  Already after 1,500
batches (half the training) the median R² is 0.94.  On the non-default
sets ``dead_leaves`` and ``noisy_photos`` the defaults give median R² 0.91 and 0.94.

**Filters.**  ``filters_``, ``basis_`` and ``components_`` are all Q (K, d): the
feed-forward weights, which the paper shows as the units' receptive fields.
By the Oja rule Q_i tends to ⟨n_i x⟩/⟨n_i²⟩, the spike-triggered average scaled to
be the unit's decoding vector in the linear generative model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ..errors import DivergenceError, InputError
from ..validation import (check_array, check_choice, check_float, check_int, check_memory, check_random_state,
                          resolve_device)
from .base import LEARNERS, StreamedPatchLearner, data_scale, output_dtype
from .lif import lif_spike_counts

NORMALIZATIONS = ("patch", "global")


@dataclass
class _Settings:
    """Validated hyper-parameters of the network and its plasticity."""

    p: float
    alpha: float
    beta: float
    gamma: float
    eta: float  # dt / tau
    n_timesteps: int
    initial_threshold: float
    normalize: str
    device: torch.device


def _normalise_patches(X: torch.Tensor) -> torch.Tensor:
    """Each row with zero mean and unit variance (a constant row becomes zeros)."""
    centred = X - X.mean(dim=1, keepdim=True)
    std = centred.pow(2).mean(dim=1, keepdim=True).sqrt()
    return centred / std.clamp_min(1e-8)


class _Network:
    """Q, W, θ and the plasticity step, all torch on one device."""

    def __init__(self, Q: torch.Tensor, W: torch.Tensor, theta: torch.Tensor, settings: _Settings):
        self.settings = settings
        self.Q, self.W, self.theta = Q, W, theta
        self.n_steps = 0

    def spike_counts(self, X: torch.Tensor) -> torch.Tensor:
        """Spike counts (B, K) of the LIF network shown the normalised patches X (B, d): on the CPU by
        the compiled simulation that sums the inhibition over the units that fired
        (:mod:`effcode.learners.lif`, 6-11x faster at SAILnet's firing rates), elsewhere by
        :meth:`dense_spike_counts`."""
        if X.device.type != "cpu":
            return self.dense_spike_counts(X)
        s = self.settings
        drive = (X @ self.Q.T).numpy()
        return torch.from_numpy(lif_spike_counts(drive, self.W.numpy(), self.theta.numpy(), s.eta, s.n_timesteps))

    def dense_spike_counts(self, X: torch.Tensor) -> torch.Tensor:
        """:meth:`spike_counts` by a dense torch simulation, all patches at once: the inhibition W s
        is a (B, K) x (K, K) product at every step."""
        s = self.settings
        drive = X @ self.Q.T
        u = torch.zeros_like(drive)
        spikes = torch.zeros_like(drive)
        counts = torch.zeros_like(drive)
        lateral = self.W.T.contiguous()
        for _ in range(s.n_timesteps):
            u = (1.0 - s.eta) * u + s.eta * (drive - spikes @ lateral)
            spikes = (u >= self.theta).to(drive.dtype)
            counts += spikes
            u = u * (1.0 - spikes)
        return counts

    def step(self, X: torch.Tensor) -> dict:
        """One plasticity step on the normalised batch X (B, d); returns the step's record."""
        s = self.settings
        self.n_steps += 1
        with torch.no_grad():
            n = self.spike_counts(X)
            batch = X.shape[0]
            rate = n.mean(dim=0)
            decoded = n @ self.Q
            # the generative model's decoding with its best single gain c (see history_)
            gain = (decoded * X).sum() / decoded.pow(2).sum().clamp_min(torch.finfo(X.dtype).tiny)
            residual = X - gain * decoded
            # the three local rules, from the same spike counts
            W = self.W + s.alpha * (n.T @ n / batch - s.p ** 2)
            W.fill_diagonal_(0.0)
            W.clamp_(min=0.0)
            Q = self.Q + s.beta * (n.T @ X / batch - n.pow(2).mean(dim=0)[:, None] * self.Q)
            theta = self.theta + s.gamma * (rate - s.p)
            if not (torch.isfinite(Q).all() and torch.isfinite(W).all() and torch.isfinite(theta).all()):
                raise DivergenceError(
                    f"SAILnet weights became NaN/Inf at update {self.n_steps}; likely cause: learning rates "
                    f"alpha={s.alpha}, beta={s.beta}, gamma={s.gamma} too large, or NaN/Inf in the patches")
            change = torch.linalg.vector_norm(Q - self.Q)
            self.Q, self.W, self.theta = Q, W, theta
            x_energy = X.pow(2).sum().clamp_min(torch.finfo(X.dtype).tiny)
            return {
                "firing_rate": float(rate.mean()),
                "sparsity": float((n > 0).to(X.dtype).mean()),
                "reconstruction_error": float(residual.pow(2).sum() / x_energy),
                "decoder_gain": float(gain),
                "threshold": float(theta.mean()),
                "lateral": float(W.mean()),
                "weight_change": float(change),
            }


class SAILnet(StreamedPatchLearner):
    r"""SAILnet: spiking LIF units with local Hebbian, anti-Hebbian and homeostatic plasticity.

    See the module docstring for the dynamics, the rules and the units.

    Parameters
    ----------
    n_components : int, default=256
        Number of units K.
    p : float, default=0.05
        Target spike count per unit per patch (the paper's 0.05).
    alpha : float, default=1.0
        Rate of the lateral (anti-Hebbian) rule, per spike² of correlation.
    beta : float, default=0.01
        Rate of the feed-forward (Oja) rule.
    gamma : float, default=0.1
        Rate of the threshold rule, drive units per spike.
    tau : float, default=1.0
        Membrane time constant; only dt/tau matters, and it must be in (0, 1].
    dt : float, default=0.1
        The Euler step, in the time unit of ``tau``.
    n_timesteps : int, default=50
        Euler steps per patch presentation (a presentation lasts n_timesteps·dt).
    initial_threshold : float, default=2.0
        Starting θ of every unit, in drive units.
    normalize : {"patch", "global"}, default="patch"
        ``"patch"`` (zero mean, unit variance per patch, as in the paper) or ``"global"`` (divide
        by the RMS of the first training batch).
    batch_size : int, default=100
        Patches per plasticity step.
    n_steps : int, default=3000
        Plasticity steps made by ``fit``; ``fit_images`` streams ``n_steps * batch_size`` patches.
    random_state : int, RandomState, Generator or None, default=0
        Seed of the initial weights and of batch order (scikit-learn's convention).
    device : str or torch.device, default="cpu"
        Torch device for all computation.
    progress : bool, default=False
        Show a progress bar in ``fit`` / ``fit_images``.

    Attributes
    ----------
    components_ : ndarray of shape (K, d), float32
        Feed-forward weights Q; ``basis_`` and ``filters_`` hold the same values.
    lateral_ : ndarray of shape (K, K), float32
        Inhibitory weights W (≥ 0, zero diagonal), drive units per spike.
    thresholds_ : ndarray of shape (K,), float32
        Thresholds θ, drive units.
    scale_ : float
        RMS of the first training batch (used by ``normalize="global"``).
    history_ : dict
        Per-step lists: ``firing_rate`` (mean spikes per unit per patch), ``sparsity`` (fraction
        of (patch, unit) pairs with at least one spike), ``reconstruction_error``
        (||X - c n Q||² / ||X||² on the normalised patches: the paper's linear generative model
        x ≈ n Q with the batch's least-squares gain c), ``decoder_gain`` (that c), ``threshold``
        (mean θ), ``lateral`` (mean W), ``weight_change`` (Frobenius norm of the change of Q).
    n_steps_ : int
        Plasticity steps made.

    Notes
    -----
    SAILnet follows local plasticity rules rather than the gradient of a loss; Zylberberg et al.
    (2011) show that the rules approximately solve

    .. math::  \min_Q\ \mathbb{E}_x \lVert x - Q^\top n(x) \rVert^2 \quad \text{s.t.}\quad
               \langle n_i \rangle = p,\quad \langle n_i n_m \rangle = p^2 \ (i \ne m),

    where x is a normalised patch (``normalize``) and :math:`n(x)` (K,) the units' spike counts
    (the module docstring gives the dynamics and the three rules).  Units: ``components_`` (Q)
    in normalised patch units per spike, ``thresholds_`` in drive units, ``lateral_`` in drive
    units per spike; ``transform`` returns spike counts per patch presentation.

    ``fit_images`` (whitened patches streamed from images, each then normalised as ``normalize``
    says; checkpoint and resume) is :meth:`effcode.learners.base.StreamedPatchLearner.fit_images`.
    """

    progress_label = "SAILnet"
    state_attribute = "_network"
    bank_state = ("thresholds_", "lateral_", "scale_", "n_steps_")

    def __init__(self, n_components: int = 256, *, p: float = 0.05, alpha: float = 1.0, beta: float = 0.01,
                 gamma: float = 0.1, tau: float = 1.0, dt: float = 0.1, n_timesteps: int = 50,
                 initial_threshold: float = 2.0, normalize: str = "patch", batch_size: int = 100,
                 n_steps: int = 3000, random_state: int = 0, device="cpu", progress: bool = False):
        self.n_components = n_components
        self.p = p
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.tau = tau
        self.dt = dt
        self.n_timesteps = n_timesteps
        self.initial_threshold = initial_threshold
        self.normalize = normalize
        self.batch_size = batch_size
        self.n_steps = n_steps
        self.random_state = random_state
        self.device = device
        self.progress = progress

    # ----------------------------------------------------------------- fitting

    def _settings(self) -> _Settings:
        self._check_stream_sizes()
        tau = check_float("tau", self.tau, minimum=0.0, strict_minimum=True)
        dt = check_float("dt", self.dt, minimum=0.0, strict_minimum=True)
        if dt > tau:
            raise InputError(f"dt must be <= tau (Euler steps longer than the membrane time constant are "
                             f"unstable), got dt={dt}, tau={tau}")
        return _Settings(
            p=check_float("p", self.p, minimum=0.0, strict_minimum=True),
            alpha=check_float("alpha", self.alpha, minimum=0.0),
            beta=check_float("beta", self.beta, minimum=0.0, strict_minimum=True),
            gamma=check_float("gamma", self.gamma, minimum=0.0),
            eta=dt / tau,
            n_timesteps=check_int("n_timesteps", self.n_timesteps),
            initial_threshold=check_float("initial_threshold", self.initial_threshold, minimum=0.0,
                                          strict_minimum=True),
            normalize=check_choice("normalize", self.normalize, NORMALIZATIONS),
            device=resolve_device(self.device),
        )

    def _prepare(self, X: torch.Tensor) -> torch.Tensor:
        """Patches as the network sees them (see ``normalize``)."""
        if self.normalize == "patch":
            return _normalise_patches(X)
        return X / self.scale_

    def _start(self, X: torch.Tensor, settings: _Settings) -> None:
        """Fresh state: data scale from X, random unit-norm Q, W = 0, θ = initial_threshold."""
        k, d, b = self.n_components, X.shape[1], self.batch_size
        # float32: W and its update (2 x K x K), Q and its update (2 x K x d), potentials and spikes (6 x B x K)
        check_memory(4.0 * (2 * k * k + 2 * k * d + 6 * b * k), f"SAILnet with {k} units",
                     "lower n_components (n_filters) or batch_size")
        self.scale_ = data_scale(X, "SAILnet")
        self._rng = check_random_state(self.random_state, "random_state")
        k, d = self.n_components, X.shape[1]
        Q = self._rng.standard_normal((k, d))
        Q /= np.linalg.norm(Q, axis=1, keepdims=True)
        device = settings.device
        self._network = _Network(torch.from_numpy(Q.astype(np.float32)).to(device),
                                 torch.zeros(k, k, dtype=torch.float32, device=device),
                                 torch.full((k,), settings.initial_threshold, dtype=torch.float32, device=device),
                                 settings)
        self.n_features_in_ = d
        self.history_: dict[str, list[float]] = {"firing_rate": [], "sparsity": [], "reconstruction_error": [], "decoder_gain": [],
                         "threshold": [], "lateral": [], "weight_change": []}

    def _silencing_parameter(self) -> str:
        return f"initial_threshold={self.initial_threshold} (or gamma={self.gamma}, which raises thresholds)"

    def _step_size_parameter(self) -> str:
        return f"beta={self.beta} (the feed-forward learning rate)"

    def _loss_history(self):
        """SAILnet descends no loss function; its reconstruction error by the linear generative model falls
        as the feed-forward weights learn the patches' structure."""
        return self.history_.get("reconstruction_error", [])

    def _update(self, batch: torch.Tensor) -> None:
        record = self._network.step(self._prepare(batch))
        for key, value in record.items():
            self.history_[key].append(value)
        self._publish()

    def _publish(self) -> None:
        net = self._network
        weights = net.Q.cpu().numpy().copy()
        self.components_ = weights
        self.basis_ = weights
        self.filters_ = weights
        self.lateral_ = net.W.cpu().numpy().copy()
        self.thresholds_ = net.theta.cpu().numpy().copy()
        self.n_steps_ = net.n_steps

    def _training_state(self) -> dict:
        net = self._network
        return {"scale": self.scale_, "n_features": self.n_features_in_,
                "Q": net.Q.cpu(), "W": net.W.cpu(), "theta": net.theta.cpu(), "n_steps": net.n_steps,
                "history": {key: list(values) for key, values in self.history_.items()}}

    def _load_state(self, state: dict, settings: _Settings) -> None:
        device = settings.device
        net = _Network(state["Q"].to(device), state["W"].to(device), state["theta"].to(device), settings)
        net.n_steps = state["n_steps"]
        self._network, self.scale_, self.n_features_in_ = net, state["scale"], state["n_features"]
        self.history_ = {key: list(values) for key, values in state["history"].items()}
        self._publish()

    # ----------------------------------------------------------------- using the model

    def _normalised_counts(self, X, batch_size: int):
        """(normalised patches, spike counts) tensors of X (n, d), ``batch_size`` rows at a time."""
        data = self._check_fitted_table(X, dtype=np.float32)
        net = self._network
        batch_size = check_int("batch_size", batch_size)
        with torch.no_grad():
            for start in range(0, data.shape[0], batch_size):
                chunk = torch.from_numpy(np.ascontiguousarray(data[start:start + batch_size]))
                patches = self._prepare(chunk.to(net.settings.device))
                yield patches, net.spike_counts(patches)

    def transform(self, X, batch_size: int = 65536) -> np.ndarray:
        """Spike counts (n, K), integers in [0, n_timesteps], of the trained network shown X (n, d)
        (float64 for float64 X, else float32).

        Parameters
        ----------
        X : array_like
            Patches, shape (n, d).
        batch_size : int, default 65536
            Patches run through the network at a time.
        """
        counts = [n.cpu().numpy() for _, n in self._normalised_counts(X, batch_size)]
        return np.concatenate(counts).astype(output_dtype(X), copy=False)

    def objective_score(self, X, y=None, batch_size: int = 65536) -> float:
        r"""The negative relative reconstruction error of the linear generative model on X (n, d):
        higher is better, 0 is perfect, -1 explains nothing.  Its spike counts depend on the
        thresholds and lateral weights, so :meth:`score` (a shared sparsity budget) ranks models across
        hyperparameters.

        SAILnet descends no loss function (its rules are local); the quantity its learning lowers is
        the error of decoding the normalised patches :math:`\hat X` from the spike counts N,

        .. math::  -\min_g \lVert \hat X - g\, N Q \rVert^2 / \lVert \hat X \rVert^2,

        with one decoding gain g for all units (the ``reconstruction_error`` of ``history_``).
        Dimensionless.  ``y`` is ignored.

        Parameters
        ----------
        X : array_like
            Patches, shape (n, d).
        y : None
            Ignored.
        batch_size : int, default 65536
            Patches run through the network at a time.
        """
        dot = decoded_energy = patch_energy = 0.0
        for patches, counts in self._normalised_counts(X, batch_size):
            decoded = (counts @ self._network.Q).double()
            patches = patches.double()
            dot += float((decoded * patches).sum())
            decoded_energy += float(decoded.pow(2).sum())
            patch_energy += float(patches.pow(2).sum())
        explained = dot * dot / decoded_energy if decoded_energy > 0 else 0.0
        return -(patch_energy - explained) / patch_energy if patch_energy > 0 else 0.0

    def inverse_transform(self, counts) -> np.ndarray:
        """The linear generative model's patches (n, d) = ``counts @ components_``, in normalised patch units.

        Parameters
        ----------
        counts : array_like
            Spike counts, shape (n, K).
        """
        check_is_fitted(self, "components_")
        counts = check_array("counts", counts, ndim=2, dtype=np.float32)
        if counts.shape[1] != self.components_.shape[0]:
            raise InputError(f"counts must have {self.components_.shape[0]} columns, got shape {counts.shape}")
        return counts @ self.components_


LEARNERS.register("sailnet", SAILnet)

__all__ = ["SAILnet"]
