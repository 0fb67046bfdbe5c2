"""Encoding models fitted by maximum Poisson likelihood: a GLM and a small CNN.

Both take stimuli ``X`` (n, p*p) (flattened square patches) and spike counts ``y`` (n,), and
``predict(X)`` returns the predicted mean count per bin (spikes/bin).  Fitting minimises the
mean Poisson negative log-likelihood ``(1/n) sum_i [rate_i - y_i log rate_i]`` (the ``log y!``
term does not depend on the model) plus a penalty stated in each class.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike
import torch
from sklearn.base import BaseEstimator

from ..errors import DivergenceError, InputError
from ..progress import progress_bar
from ..validation import (check_array, check_choice, check_float, check_int, check_random_state,
                          resolve_device, seed_from, seed_alias)

OUTPUTS = ("exp", "softplus")


def _check_xy(X, y):
    X = check_array("X", X, ndim=2)
    y = check_array("y", y, ndim=1)
    if X.shape[0] != y.shape[0]:
        raise InputError(f"X has {X.shape[0]} rows but y has {y.shape[0]} values")
    if np.any(y < 0):
        raise InputError("y must hold non-negative spike counts")
    if y.sum() <= 0:
        raise InputError("y holds no spikes: nothing to fit")
    return X, y


def _square_side(n_features: int) -> int:
    side = int(round(np.sqrt(n_features)))
    if side * side != n_features:
        raise InputError(f"X must hold flattened square patches, got {n_features} columns")
    return side


class PoissonGLM(BaseEstimator):
    """Poisson GLM with an exponential inverse link: ``rate = exp(w.x + b)``.

    Minimises ``(1/n) sum_i [exp(w.x_i + b) - y_i (w.x_i + b)] + l2 |w|^2 + smoothness |D w|^2``
    with L-BFGS (strong Wolfe line search) in float64; ``D`` takes the differences between
    horizontally and vertically adjacent pixels of the filter, seen as a square patch.  The
    objective is convex, so the fit does not depend on initialisation.

    Attributes after ``fit``: ``coef_`` (p*p,) the filter ``w`` in rate-log per stimulus unit,
    ``intercept_`` ``b``, ``filter_`` (p, p), ``n_iter_``, ``loss_`` (final objective).

    Parameters
    ----------
    l2 : float, default 1e-4
        Weight of ``|w|^2``, the filter's squared norm.
    smoothness : float, default 0.0
        Weight of ``|D w|^2``, the squared differences of adjacent filter pixels.
    max_iter : int, default 500
        The most L-BFGS iterations.
    tol : float, default 1e-9
        L-BFGS's tolerance on the gradient (on the change of the objective: ``tol * 1e-3``).
    device : str, default "cpu"
        Where the fit runs ("cpu", "cuda").
    """

    def __init__(self, l2: float = 1e-4, smoothness: float = 0.0, max_iter: int = 500, tol: float = 1e-9,
                 device: str = "cpu"):
        self.l2 = l2
        self.smoothness = smoothness
        self.max_iter = max_iter
        self.tol = tol
        self.device = device

    def fit(self, X, y) -> "PoissonGLM":
        X, y = _check_xy(X, y)
        l2 = check_float("l2", self.l2, minimum=0.0)
        smoothness = check_float("smoothness", self.smoothness, minimum=0.0)
        max_iter = check_int("max_iter", self.max_iter)
        tol = check_float("tol", self.tol, minimum=0.0, strict_minimum=True)
        device = resolve_device(self.device)
        side = _square_side(X.shape[1])
        Xt = torch.as_tensor(X, dtype=torch.float64, device=device)
        yt = torch.as_tensor(y, dtype=torch.float64, device=device)
        w = torch.zeros(X.shape[1], dtype=torch.float64, device=device, requires_grad=True)
        b = torch.tensor(float(np.log(y.mean())), dtype=torch.float64, device=device, requires_grad=True)
        optimizer = torch.optim.LBFGS([w, b], max_iter=max_iter, tolerance_grad=tol, tolerance_change=tol * 1e-3,
                                      history_size=20, line_search_fn="strong_wolfe")

        def objective():
            eta = Xt @ w + b
            loss = torch.mean(torch.exp(eta) - yt * eta) + l2 * torch.sum(w ** 2)
            if smoothness > 0:
                img = w.view(side, side)
                loss = loss + smoothness * (torch.sum(torch.diff(img, dim=0) ** 2) +
                                            torch.sum(torch.diff(img, dim=1) ** 2))
            return loss

        def closure():
            optimizer.zero_grad()
            loss = objective()
            loss.backward()
            return loss

        optimizer.step(closure)
        with torch.no_grad():
            loss = float(objective())
        if not np.isfinite(loss):
            raise DivergenceError("PoissonGLM: the objective became non-finite; scale the stimuli or raise l2")
        self.coef_ = w.detach().cpu().numpy()
        self.intercept_ = float(b.detach().cpu())
        self.filter_ = self.coef_.reshape(side, side)
        self.n_iter_ = int(optimizer.state[w]["n_iter"])
        self.loss_ = loss
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted mean spike count per bin, shape (n,).

        Parameters
        ----------
        X : array_like
            Stimuli, shape (n, p*p).
        """
        X = check_array("X", X, ndim=2)
        if X.shape[1] != self.coef_.size:
            raise InputError(f"X must have {self.coef_.size} columns, got {X.shape[1]}")
        return np.exp(X @ self.coef_ + self.intercept_)


@seed_alias
def select_glm(X: ArrayLike, y: ArrayLike, smoothness: Sequence[float] = (0.01, 0.03, 0.1, 0.3), *,
               validation_fraction: float = 0.2, random_state: int = 0, **params: Any) -> tuple[PoissonGLM, np.ndarray]:
    """A :class:`PoissonGLM` whose ``smoothness`` is chosen by held-out likelihood.

    Each value of ``smoothness`` is fitted on a random ``1 - validation_fraction`` of the data
    and scored by the mean Poisson log-likelihood (nats/bin, up to the ``log y!`` term) of the
    rest; the best value is refitted on all the data.  Returns the model and the scores.

    Parameters
    ----------
    X : array_like
        Stimuli, shape (n, p*p).
    y : array_like
        Spike counts, shape (n,).
    smoothness : sequence of float, default (0.01, 0.03, 0.1, 0.3)
        The candidate smoothness weights.
    validation_fraction : float, default 0.2
        Fraction of the data held out to score each candidate.
    random_state : int, default 0
        Seed of the split.
    **params
        Further keyword arguments of :class:`PoissonGLM`.
    """
    X, y = _check_xy(X, y)
    grid = check_array("smoothness", smoothness, ndim=1)
    fraction = check_float("validation_fraction", validation_fraction, minimum=0.0, strict_minimum=True,
                           maximum=0.5)
    order = check_random_state(random_state).permutation(len(y))
    n_val = max(1, int(round(fraction * len(y))))
    val, train = order[:n_val], order[n_val:]
    scores = []
    for value in grid:
        model = PoissonGLM(smoothness=float(value), **params).fit(X[train], y[train])
        rate = model.predict(X[val])
        scores.append(float(np.mean(y[val] * np.log(rate) - rate)))
    best = float(grid[int(np.argmax(scores))])
    return PoissonGLM(smoothness=best, **params).fit(X, y), np.asarray(scores)


class _Network(torch.nn.Module):
    """conv k x k (C channels) -> ReLU -> conv 1x1 (H channels) -> ReLU -> avg-pool -> linear readout."""

    def __init__(self, side: int, n_channels: int, kernel_size: int, hidden_channels: int, pool: int):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, n_channels, kernel_size)
        self.mix = torch.nn.Conv2d(n_channels, hidden_channels, 1)
        self.pool = torch.nn.AvgPool2d(pool)
        pooled = (side - kernel_size + 1) // pool
        self.readout = torch.nn.Linear(hidden_channels * pooled * pooled, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.mix(torch.relu(self.conv(x))))
        return self.readout(self.pool(h).flatten(1)).squeeze(1)


class PoissonCNN(BaseEstimator):
    """A small convolutional encoding model: ``rate = g(readout(pool(relu(mix(relu(conv(x)))))))``.

    ``conv``: ``n_channels`` filters of ``kernel_size`` x ``kernel_size`` pixels (valid
    convolution); ``mix``: a 1x1 convolution to ``hidden_channels`` maps (lets the network build
    convex, energy-like functions of the rectified filter outputs); ``pool``: ``pool`` x ``pool``
    average pooling with stride ``pool``; ``readout``: a dense linear map to one unit; ``g`` is
    ``exp`` or ``softplus`` (``output``).

    Minimises ``(1/n) sum_i [rate_i - y_i log rate_i] + (weight_decay / 2) |theta|^2`` with Adam
    (minibatches of ``batch_size``, ``n_epochs`` passes) on a ``1 - validation_fraction`` split
    of the data, keeping the parameters of the epoch with the lowest validation loss.

    Attributes after ``fit``: ``history_`` (``train_loss``, ``val_loss`` per epoch, nats/bin),
    ``best_epoch_``, ``conv_filters_`` (n_channels, k, k).

    Parameters
    ----------
    n_channels : int, default 8
        Filters of the first convolution.
    kernel_size : int, default 9
        Side of those filters, pixels.
    hidden_channels : int, default 8
        Maps of the 1x1 mixing convolution.
    pool : int, default 2
        Side and stride of the average pooling.
    output : {"exp", "softplus"}, default "exp"
        The output nonlinearity.
    n_epochs : int, default 30
        Passes over the training split.
    batch_size : int, default 256
        Stimuli per minibatch.
    learning_rate : float, default 3e-3
        Adam's step size.
    weight_decay : float, default 1e-4
        The penalty ``(weight_decay / 2) |theta|^2`` on all parameters.
    validation_fraction : float, default 0.1
        Fraction of the data held out to pick the best epoch.
    random_state : int, default 0
        Seed of the split, the initial weights and the minibatches.
    device : str, default "cpu"
        Where the network is trained ("cpu", "cuda").
    progress : bool, default False
        Whether to draw a progress bar.
    """

    def __init__(self, n_channels: int = 8, kernel_size: int = 9, hidden_channels: int = 8, pool: int = 2,
                 output: str = "exp", n_epochs: int = 30, batch_size: int = 256, learning_rate: float = 3e-3,
                 weight_decay: float = 1e-4, validation_fraction: float = 0.1, random_state: int = 0,
                 device: str = "cpu", progress: bool = False):
        self.n_channels = n_channels
        self.kernel_size = kernel_size
        self.hidden_channels = hidden_channels
        self.pool = pool
        self.output = output
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.device = device
        self.progress = progress

    def _rate(self, x: torch.Tensor) -> torch.Tensor:
        eta = self.network_(x)
        return torch.exp(eta) if self.output == "exp" else torch.nn.functional.softplus(eta)

    def _loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.output == "exp":
            eta = self.network_(x)
            return torch.mean(torch.exp(eta) - y * eta)
        rate = self._rate(x)
        return torch.mean(rate - y * torch.log(rate + 1e-8))

    def fit(self, X, y) -> "PoissonCNN":
        X, y = _check_xy(X, y)
        side = _square_side(X.shape[1])
        C = check_int("n_channels", self.n_channels)
        k = check_int("kernel_size", self.kernel_size, maximum=side)
        H = check_int("hidden_channels", self.hidden_channels)
        pool = check_int("pool", self.pool, maximum=side - k + 1)
        check_choice("output", self.output, OUTPUTS)
        n_epochs = check_int("n_epochs", self.n_epochs)
        batch_size = check_int("batch_size", self.batch_size)
        lr = check_float("learning_rate", self.learning_rate, minimum=0.0, strict_minimum=True)
        wd = check_float("weight_decay", self.weight_decay, minimum=0.0)
        val_fraction = check_float("validation_fraction", self.validation_fraction, minimum=0.0, maximum=0.5)
        seed = seed_from(self.random_state)
        device = resolve_device(self.device)

        order = check_random_state(seed).permutation(len(y))
        n_val = int(round(val_fraction * len(y)))
        if n_val == 0 or n_val == len(y):
            raise InputError(f"validation_fraction {val_fraction} leaves an empty training or validation split "
                             f"of {len(y)} stimuli")
        Xt = torch.as_tensor(X, dtype=torch.float32, device=device).view(-1, 1, side, side)
        yt = torch.as_tensor(y, dtype=torch.float32, device=device)
        val, train = torch.as_tensor(order[:n_val], device=device), torch.as_tensor(order[n_val:], device=device)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.network_ = _Network(side, C, k, H, pool)
        mean = float(y[order[n_val:]].mean())
        with torch.no_grad():  # start from the mean rate
            self.network_.readout.bias.fill_(np.log(mean) if self.output == "exp" else np.log(np.expm1(mean)))
        self.network_.to(device)
        optimizer = torch.optim.Adam(self.network_.parameters(), lr=lr, weight_decay=wd)
        generator = torch.Generator().manual_seed(seed)
        history: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
        best: tuple[float, int, dict | None] = (np.inf, 0, None)
        for epoch in progress_bar(range(n_epochs), progress=bool(self.progress), desc="PoissonCNN"):
            self.network_.train()
            perm = train[torch.randperm(len(train), generator=generator).to(device)]
            total = 0.0
            for start in range(0, len(perm), batch_size):
                idx = perm[start:start + batch_size]
                optimizer.zero_grad()
                loss = self._loss(Xt[idx], yt[idx])
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(idx)
            val_loss = self._evaluate(Xt[val], yt[val])
            if not (np.isfinite(total) and np.isfinite(val_loss)):
                raise DivergenceError(f"PoissonCNN: non-finite loss at epoch {epoch + 1}; lower learning_rate")
            history["train_loss"].append(total / len(perm))
            history["val_loss"].append(val_loss)
            if val_loss < best[0]:
                best = (val_loss, epoch, {n: t.detach().clone() for n, t in self.network_.state_dict().items()})
        assert best[2] is not None, "a finite validation loss was recorded (else DivergenceError)"
        self.network_.load_state_dict(best[2])
        self.network_.eval()
        self.best_epoch_ = best[1] + 1
        self.history_ = {name: np.asarray(v) for name, v in history.items()}
        self.side_ = side
        return self

    @torch.no_grad()
    def _evaluate(self, x: torch.Tensor, y: torch.Tensor, batch: int = 8192) -> float:
        self.network_.eval()
        total = sum(float(self._loss(x[s:s + batch], y[s:s + batch])) * len(y[s:s + batch])
                    for s in range(0, len(y), batch))
        return total / len(y)

    @torch.no_grad()
    def predict(self, X, batch: int = 8192) -> np.ndarray:
        """Predicted mean spike count per bin, shape (n,).

        Parameters
        ----------
        X : array_like
            Flattened square stimuli, shape (n, p*p).
        batch : int, default 8192
            Stimuli evaluated at a time.
        """
        X = check_array("X", X, ndim=2)
        if X.shape[1] != self.side_ ** 2:
            raise InputError(f"X must have {self.side_ ** 2} columns, got {X.shape[1]}")
        device = next(self.network_.parameters()).device
        out = []
        for s in range(0, len(X), batch):
            x = torch.as_tensor(X[s:s + batch], dtype=torch.float32, device=device).view(-1, 1, self.side_, self.side_)
            out.append(self._rate(x).double().cpu().numpy())
        return np.concatenate(out)

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The fitted network as numpy arrays (``net.<parameter name>`` and ``side``), for caching."""
        out = {f"net.{k}": v.detach().cpu().numpy() for k, v in self.network_.state_dict().items()}
        out["side"] = np.asarray(self.side_)
        return out

    def load_state_arrays(self, arrays) -> "PoissonCNN":
        """Restore a network saved by :meth:`state_arrays` into this (same hyperparameters) estimator.

        Parameters
        ----------
        arrays : mapping of str to ndarray
            The arrays :meth:`state_arrays` returned.
        """
        side = int(arrays["side"])
        network = _Network(side, self.n_channels, self.kernel_size, self.hidden_channels, self.pool)
        state = {k[4:]: torch.as_tensor(np.asarray(v)) for k, v in arrays.items() if k.startswith("net.")}
        network.load_state_dict(state)
        self.network_ = network.to(resolve_device(self.device)).eval()
        self.side_ = side
        return self

    @property
    def conv_filters_(self) -> np.ndarray:
        """First-layer filters, (n_channels, k, k)."""
        return self.network_.conv.weight.detach().cpu().numpy()[:, 0]
