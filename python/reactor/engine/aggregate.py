"""Aggregation kernels over K client updates: a (K, D) float32 array or a list of K float32
vectors, read in place (no copies). Results are new numpy arrays; float64 accumulation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from reactor import _mlforge
from reactor.engine._validate import check_finite, stream_handle

__all__ = [
    "StreamingAggregator",
    "clip_rows",
    "coordinate_median",
    "coordinate_trimmed_mean",
    "pairwise_sq_distances",
    "row_norms",
    "weighted_sum",
    "weighted_sum_into",
]

Updates = npt.NDArray[np.float32] | Sequence[Any]

#: ``StreamingAggregator(dim, clip_norm=0.0)``: the engine's O(D) accumulator (``add``, ``mean``,
#: ``sum``, ``reset``, ``count``, ``total_weight``); see :class:`reactor.federated.StreamingAggregator`.
StreamingAggregator = _mlforge.StreamingAggregator


def _shape(updates: Updates) -> tuple[int, int]:
    """(K, D) of the updates, for sizing outputs; the engine validates everything else."""
    if isinstance(updates, list | tuple):
        return len(updates), (int(np.shape(updates[0])[0]) if updates and np.ndim(updates[0]) == 1 else 0)
    shape = np.shape(updates)
    return (int(shape[0]), int(shape[1])) if len(shape) == 2 else (0, 0)


def weighted_sum(updates: Updates, weights: Any = None) -> npt.NDArray[np.float32]:
    """``sum_k weights[k] * updates[k]`` (weights default to 1); divide by ``sum(weights)`` for FedAvg.

    CPU arrays; for CUDA tensors use :func:`weighted_sum_into` with a device output.
    """
    k, d = _shape(updates)
    w = np.ones(k) if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    out = np.empty(d, dtype=np.float32)
    _mlforge.weighted_sum(updates, w, out, 0)
    return out


def weighted_sum_into(updates: Any, weights: Any, out: Any, *, stream: Any = None) -> None:
    """``out = sum_k weights[k] * updates[k]`` for caller-provided arrays on one device (CPU or CUDA)."""
    _mlforge.weighted_sum(updates, weights, out, stream_handle("kernels.weighted_sum", stream))


def coordinate_median(updates: Updates, *, reject_non_finite: bool = False) -> npt.NDArray[np.float32]:
    """Coordinate-wise median (numpy.median's definition for even K).

    By default a NaN makes its coordinate NaN and infinities count as values; with
    ``reject_non_finite`` a NaN or infinity raises ``InvalidArgumentError`` naming the first update
    holding one, checked during the median's own pass over the inputs.
    """
    out = np.empty(_shape(updates)[1], dtype=np.float32)
    _mlforge.coordinate_median(updates, out, 0, reject_non_finite)
    return out


def coordinate_trimmed_mean(
    updates: Updates, beta: float, *, reject_non_finite: bool = False
) -> npt.NDArray[np.float32]:
    """Coordinate-wise mean after dropping floor(beta * K) values at each end (0 <= beta < 1/2).

    NaN and infinities as in :func:`coordinate_median`.
    """
    out = np.empty(_shape(updates)[1], dtype=np.float32)
    _mlforge.coordinate_trimmed_mean(
        updates, check_finite("kernels.coordinate_trimmed_mean", "beta", beta), out, 0, reject_non_finite
    )
    return out


def pairwise_sq_distances(updates: Updates) -> npt.NDArray[np.float64]:
    """(K, K) squared Euclidean distances, from centred rows in float64."""
    k = _shape(updates)[0]
    out = np.empty((k, k), dtype=np.float64)
    _mlforge.pairwise_sq_distances(updates, out)
    return out


def row_norms(updates: Updates) -> npt.NDArray[np.float64]:
    """L2 norm of each update (float64)."""
    out = np.empty(_shape(updates)[0], dtype=np.float64)
    _mlforge.row_norms(updates, out)
    return out


def clip_rows(updates: Updates, max_norm: float) -> npt.NDArray[np.float64]:
    """Scale, in place, each update whose L2 norm exceeds ``max_norm``; return the norms before."""
    norms = np.empty(_shape(updates)[0], dtype=np.float64)
    _mlforge.clip_rows(updates, check_finite("kernels.clip_rows", "max_norm", max_norm), norms)
    return norms
