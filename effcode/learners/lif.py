r"""Compiled (numba) simulation of SAILnet's leaky integrate-and-fire network, for the CPU.

Each patch b is shown for T Euler steps; with drive :math:`c = Qx_b` (K,), thresholds θ, η = dt/τ
and the lateral weights W (K, K), the potentials u (K,) and last-step spikes s ∈ {0, 1}^K follow
(:mod:`effcode.learners.sailnet`)

.. math::  u \leftarrow (1-\eta)\,u + \eta\,(c - W s),\qquad s = [u \ge \theta],
           \qquad n \mathrel{+}= s,\qquad u \leftarrow u\,(1 - s),

from u = 0 and s = 0, and the output is the spike count n (K,).

A dense simulation pays a (B, K) x (K, K) product per step for the inhibition W s.  Spikes are
rare (SAILnet's target is p = 0.05 spikes per unit per presentation of T = 50 steps, so about one
unit in a thousand fires in a step), so here the inhibition is the sum of the columns of W of the
units that fired, :math:`(W s)_i = \sum_{m:\,s_m = 1} W_{im}`: K operations per spike instead of K²
per step.  Every operation is the dense simulation's in float32 and in the same order, except the
order of that sum when three or more units of one patch fire in the same step (rounding may then
differ in the last bit, and a unit exactly at its threshold may fire one step apart).
"""

from __future__ import annotations

from .. import numba_cache  # first: a read-only installation caches elsewhere, or not at all
import numba
import numpy as np


@numba.njit(cache=numba_cache.CACHE, nogil=True)
def _count_spikes(drive, inhibition_rows, theta, decay, eta, n_timesteps, counts):
    n_patches, n_units = drive.shape
    u = np.zeros(n_units, drive.dtype)
    inhibition = np.zeros(n_units, drive.dtype)
    fired = np.empty(n_units, np.int64)
    for b in range(n_patches):
        u[:] = 0.0
        n_fired = 0
        for _ in range(n_timesteps):
            inhibition[:] = 0.0
            for j in range(n_fired):                  # W s: the columns of W of the units that fired
                row = inhibition_rows[fired[j]]
                for i in range(n_units):
                    inhibition[i] += row[i]
            n_fired = 0
            for i in range(n_units):
                u[i] = decay * u[i] + eta * (drive[b, i] - inhibition[i])
                if u[i] >= theta[i]:
                    counts[b, i] += 1.0
                    u[i] = 0.0
                    fired[n_fired] = i
                    n_fired += 1


def lif_spike_counts(drive: np.ndarray, lateral: np.ndarray, theta: np.ndarray, eta: float,
                     n_timesteps: int) -> np.ndarray:
    """Spike counts (B, K) float32 of the network (module docstring).

    Parameters
    ----------
    drive : (B, K) float32, the feed-forward drive Qx of each patch.
    lateral : (K, K) float32, the lateral weights W (W[i, m]: inhibition of unit i per spike of m).
    theta : (K,) float32 thresholds.
    eta : dt/τ, in (0, 1].
    n_timesteps : Euler steps per presentation.
    """
    drive = np.ascontiguousarray(drive, dtype=np.float32)
    counts = np.zeros(drive.shape, dtype=np.float32)
    _count_spikes(drive, np.ascontiguousarray(lateral.T, dtype=np.float32), np.ascontiguousarray(theta, np.float32),
                  np.float32(1.0 - eta), np.float32(eta), int(n_timesteps), counts)
    return counts


def compile_kernels() -> None:
    """Compile the simulation (float32) into numba's on-disk cache, or load it from there."""
    lif_spike_counts(np.ones((1, 2), np.float32), np.zeros((2, 2), np.float32), np.full(2, 0.5, np.float32), 0.5, 3)


__all__ = ["lif_spike_counts", "compile_kernels"]
