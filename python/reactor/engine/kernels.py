"""Compute kernels (CPU, and CUDA when compiled in and the input lives on a GPU)."""

from __future__ import annotations

from typing import Any

from reactor import _mlforge
from reactor.errors import InvalidArgumentError

__all__ = ["reduce_sum"]


def _stream_handle(stream: Any) -> int:
    """Accept ``None``, a raw ``cudaStream_t`` as int, or an object with ``.cuda_stream`` (torch)."""
    if stream is None:
        return 0
    handle = getattr(stream, "cuda_stream", stream)
    if isinstance(handle, bool) or not isinstance(handle, int) or handle < 0:
        raise InvalidArgumentError(
            f"[kernels] stream must be None, a CUDA stream handle or a torch stream, got {stream!r}"
        )
    return handle


def reduce_sum(x: Any, *, stream: Any = None) -> float:
    """Sum all elements of a contiguous float32/float64 array, accumulated in float64.

    Deterministic for any thread count; NaN/inf propagate; an empty array sums to 0.0. CUDA inputs
    run on ``stream`` (e.g. ``torch.cuda.current_stream()``).
    """
    return float(_mlforge.reduce_sum(x, _stream_handle(stream)))
