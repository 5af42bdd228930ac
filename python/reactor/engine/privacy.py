"""Differential-privacy kernels of the engine (``mlforge/privacy.h``).

* Clipping (McMahan et al. 2018): each update ``u`` becomes ``u * min(1, C / ||u||)``, in place on
  the caller's float32 arrays (no copies); the pre-clip norms come back as float64.
  :func:`clip_updates` clips K updates (a (K, D) array or a list of arrays),
  :func:`clip_update_layers` clips one update given as layers by its global norm, and
  :func:`clip_layers` clips each layer of one update against its own bound.
* :func:`add_gaussian_noise` adds ``stddev * N(0, 1)`` in place, drawn from the engine's Philox
  generator keyed by ``(seed, stream=round)``: the values are exactly
  ``engine.normal(n, seed=seed, stream=round, std=stddev)``, added in float64 and rounded once,
  whatever the thread count.
* Adaptive clipping (Andrew et al., NeurIPS 2021):
  ``C' = C * exp(-eta_C * (b_bar - gamma))`` with ``b_bar = (#{i: ||u_i|| <= C} + N(0, sigma_b^2)) / m``.

Every function validates its input and raises :class:`reactor.errors.InvalidArgumentError` naming
the parameter (``updates[k]`` with the index of a NaN/Inf, ``stddev``, ``clip_norms[l]``...),
before anything is modified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from reactor import _mlforge
from reactor.engine._validate import check_count, check_finite, check_uint64

__all__ = [
    "AdaptiveClip",
    "adaptive_clip_step",
    "adaptive_clip_update",
    "adaptive_noise_multiplier",
    "add_gaussian_noise",
    "clip_layers",
    "clip_update_layers",
    "clip_updates",
]


@dataclass(frozen=True)
class AdaptiveClip:
    """One adaptive-clipping round: the next bound, the noisy unclipped fraction, the true count."""

    clip_norm: float
    noisy_fraction: float
    unclipped: int


def clip_updates(
    updates: npt.NDArray[np.float32] | Sequence[Any], clip_norm: float
) -> npt.NDArray[np.float64]:
    """Clip each of K updates to L2 norm ``clip_norm`` in place; return the K norms before clipping.

    ``updates`` is a writable (K, D) float32 array or a list of K writable float32 arrays (any shape).
    """
    count = len(updates) if isinstance(updates, list | tuple) else int(np.shape(updates)[0])
    norms = np.empty(count, dtype=np.float64)
    _mlforge.clip_updates(updates, check_finite("privacy.clip_updates", "clip_norm", clip_norm), norms)
    return norms


def clip_update_layers(layers: Sequence[Any], clip_norm: float) -> float:
    """Clip one update, given as a list of float32 layer arrays, by its global L2 norm, in place.

    Every layer is scaled by the same ``min(1, clip_norm / norm)``; returns the norm before clipping.
    """
    return float(
        _mlforge.clip_update_layers(
            list(layers), check_finite("privacy.clip_update_layers", "clip_norm", clip_norm)
        )
    )


def clip_layers(
    layers: Sequence[Any], clip_norms: Sequence[float] | npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Clip layer ``l`` of one update to L2 norm ``clip_norms[l]``, in place; return the layer norms.

    The whole update then has norm at most ``sqrt(sum(clip_norms**2))`` (Opacus's per-layer mode).
    """
    bounds = np.ascontiguousarray(clip_norms, dtype=np.float64)
    norms = np.empty(len(layers), dtype=np.float64)
    _mlforge.clip_layers(list(layers), bounds, norms)
    return norms


def add_gaussian_noise(out: Any, stddev: float, *, seed: int, round: int) -> None:
    """``out += stddev * z`` in place (float32/float64), z from Philox keyed by ``(seed, stream=round)``.

    Round ``r``'s noise is reproducible and independent of the thread count; it equals
    ``engine.normal(out.size, seed=seed, stream=round, std=stddev)`` added in float64.
    """
    op = "privacy.add_gaussian_noise"
    _mlforge.add_gaussian_noise(
        out,
        check_finite(op, "stddev", stddev),
        check_uint64(op, "seed", seed),
        check_uint64(op, "round", round),
    )


def adaptive_clip_update(
    clip_norm: float,
    unclipped: int,
    num_clients: float,
    *,
    target_quantile: float = 0.5,
    learning_rate: float = 0.2,
    count_noise: float = 0.0,
) -> AdaptiveClip:
    """The pure geometric update ``C * exp(-eta_C * (b_bar - gamma))``, ``b_bar = (b + noise) / m``,
    with ``m = num_clients`` the round's clients or their expectation under Poisson sampling.

    ``count_noise`` is an already-drawn ``N(0, sigma_b^2)`` sample (0 for the noiseless rule).
    """
    op = "privacy.adaptive_clip_update"
    result = _mlforge.adaptive_clip_update(
        check_finite(op, "clip_norm", clip_norm),
        check_count(op, "unclipped", unclipped),
        check_finite(op, "num_clients", num_clients),
        check_finite(op, "target_quantile", target_quantile),
        check_finite(op, "learning_rate", learning_rate),
        check_finite(op, "count_noise", count_noise),
    )
    return AdaptiveClip(*result)


def adaptive_clip_step(
    norms: npt.ArrayLike,
    *,
    clip_norm: float,
    count_stddev: float,
    seed: int,
    round: int,
    target_quantile: float = 0.5,
    learning_rate: float = 0.2,
) -> AdaptiveClip:
    """One round of adaptive clipping from this round's update norms (e.g. from :func:`clip_updates`).

    The count noise is ``count_stddev * z`` with ``z`` element ``2**64 - 4`` of the
    ``(seed, stream=round)`` normal sequence, so sharing ``seed`` with :func:`add_gaussian_noise`
    gives independent draws. Andrew et al. suggest ``count_stddev = m / 20``.
    """
    op = "privacy.adaptive_clip_step"
    result = _mlforge.adaptive_clip_step(
        np.ascontiguousarray(norms, dtype=np.float64),
        check_finite(op, "clip_norm", clip_norm),
        check_finite(op, "target_quantile", target_quantile),
        check_finite(op, "learning_rate", learning_rate),
        check_finite(op, "count_stddev", count_stddev),
        check_uint64(op, "seed", seed),
        check_uint64(op, "round", round),
    )
    return AdaptiveClip(*result)


def adaptive_noise_multiplier(noise_multiplier: float, count_stddev: float) -> float:
    """Noise multiplier left for the update sum: ``(z**-2 - (2 * sigma_b)**-2) ** -0.5`` (Andrew et al.)."""
    op = "privacy.adaptive_noise_multiplier"
    return float(
        _mlforge.adaptive_noise_multiplier(
            check_finite(op, "noise_multiplier", noise_multiplier),
            check_finite(op, "count_stddev", count_stddev),
        )
    )
