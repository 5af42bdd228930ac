"""Compute kernels (CPU, and CUDA when compiled in and the input lives on a GPU)."""

from __future__ import annotations

from typing import Any

from reactor import _mlforge
from reactor.engine._validate import stream_handle

__all__ = ["reduce_sum"]


def reduce_sum(x: Any, *, stream: Any = None) -> float:
    """Sum all elements of a contiguous float32/float64 array, accumulated in float64.

    Deterministic for any thread count; NaN/inf propagate; an empty array sums to 0.0. CUDA inputs
    run on ``stream`` (e.g. ``torch.cuda.current_stream()``).
    """
    return float(_mlforge.reduce_sum(x, stream_handle("kernels.reduce_sum", stream)))
