"""Streaming aggregation: add client updates one at a time as they arrive, in O(D) memory.

    agg = StreamingAggregator(dim, clip_norm=1.0)   # clip_norm: per-update L2 clipping (DP); None: off
    for update, n_examples in arriving_updates:
        agg.add(update, weight=n_examples)
    global_update = agg.mean()                      # float32 [D]; agg.sum() for DP sums

Accumulation is float64 with Kahan compensation in the engine, so the mean does not drift however
many clients arrive, and it does not depend on the thread count.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from reactor import engine
from reactor.errors import InvalidArgumentError

__all__ = ["StreamingAggregator"]


class StreamingAggregator:
    """Weighted mean (FedAvg) or weighted sum of float32 updates of length ``dim``, one at a time.

    ``clip_norm`` scales each update to at most that L2 norm before it is added (the per-update
    clipping of DP-FedAvg). Thread-safe: concurrent ``add`` calls are serialised.
    """

    def __init__(self, dim: int, clip_norm: float | None = None) -> None:
        if clip_norm is not None and not clip_norm > 0:
            raise InvalidArgumentError(
                f"[federated.streaming] clip_norm must be > 0 or None, got {clip_norm!r}"
            )
        self._engine = engine.StreamingAggregator(int(dim), 0.0 if clip_norm is None else float(clip_norm))

    @property
    def dim(self) -> int:
        """Length of every update."""
        return int(self._engine.dim)

    @property
    def count(self) -> int:
        """Updates added so far."""
        return int(self._engine.count)

    @property
    def total_weight(self) -> float:
        """Sum of the weights added so far."""
        return float(self._engine.total_weight)

    def add(self, update: Any, weight: float = 1.0) -> float:
        """Add one float32 update [dim] (read without a copy when it is float32 and contiguous);
        returns the factor clipping scaled it by (1.0 when not clipped).
        """
        array = np.asarray(update)
        if array.dtype != np.float32:
            if array.dtype.kind not in "fiu":
                raise InvalidArgumentError(
                    f"[federated.streaming] update: expected numbers, got dtype {array.dtype}"
                )
            array = array.astype(np.float32)
        return float(self._engine.add(np.ascontiguousarray(array), float(weight)))

    def mean(self, out: npt.NDArray[Any] | None = None) -> npt.NDArray[Any]:
        """The weighted mean, into ``out`` (float32 or float64 [dim]) or a new float32 array."""
        out = np.empty(self.dim, dtype=np.float32) if out is None else out
        self._engine.mean(out)
        return out

    def sum(self, out: npt.NDArray[Any] | None = None) -> npt.NDArray[Any]:
        """The weighted sum, into ``out`` (float32 or float64 [dim]) or a new float32 array."""
        out = np.empty(self.dim, dtype=np.float32) if out is None else out
        self._engine.sum(out)
        return out

    def reset(self) -> None:
        """Start over (same dim and clipping)."""
        self._engine.reset()
