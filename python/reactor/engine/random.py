"""Counter-based random numbers (Philox4x64-10, as ``numpy.random.Philox``).

Element ``i`` of a sequence is a pure function of ``(seed, stream, offset + i)``: results are the
same for any thread count, any chunking, and between a whole-array call and pieces of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from reactor import _mlforge
from reactor.engine._validate import check_count, check_finite, check_uint64, stream_handle

__all__ = ["fill_normal", "fill_uniform", "normal", "uniform"]

FloatDType = type[np.float32] | type[np.float64] | np.dtype[Any] | str


def _stream_args(op: str, seed: int, stream: int, offset: int, **bounds: float) -> tuple[int | float, ...]:
    """Validate (seed, stream, offset) and the named distribution bounds, in binding order."""
    counters = (
        check_uint64(op, name, value)
        for name, value in (("seed", seed), ("stream", stream), ("offset", offset))
    )
    return (*counters, *(check_finite(op, name, value) for name, value in bounds.items()))


def uniform(
    n: int,
    *,
    seed: int,
    stream: int = 0,
    offset: int = 0,
    low: float = 0.0,
    high: float = 1.0,
    dtype: FloatDType = np.float64,
) -> npt.NDArray[np.floating[Any]]:
    """Return ``n`` uniform values in ``[low, high)`` as a new engine-owned numpy array."""
    op = "random.uniform"
    return _mlforge.uniform(
        check_count(op, "n", n), *_stream_args(op, seed, stream, offset, low=low, high=high), dtype
    )


def normal(
    n: int,
    *,
    seed: int,
    stream: int = 0,
    offset: int = 0,
    mean: float = 0.0,
    std: float = 1.0,
    dtype: FloatDType = np.float64,
) -> npt.NDArray[np.floating[Any]]:
    """Return ``n`` normal values ``mean + std * z`` as a new engine-owned numpy array."""
    op = "random.normal"
    return _mlforge.normal(
        check_count(op, "n", n), *_stream_args(op, seed, stream, offset, mean=mean, std=std), dtype
    )


def fill_uniform(
    out: Any,
    *,
    seed: int,
    stream: int = 0,
    offset: int = 0,
    low: float = 0.0,
    high: float = 1.0,
    cuda_stream: Any = None,
) -> None:
    """Fill ``out`` (writable, contiguous float32/float64; numpy, CPU or CUDA tensor) in place.

    On CUDA the values are bit-identical to the CPU's; ``cuda_stream`` is the stream to run on.
    """
    args = _stream_args("random.uniform", seed, stream, offset, low=low, high=high)
    _mlforge.fill_uniform(out, *args, stream_handle("random.uniform", cuda_stream))


def fill_normal(
    out: Any,
    *,
    seed: int,
    stream: int = 0,
    offset: int = 0,
    mean: float = 0.0,
    std: float = 1.0,
    cuda_stream: Any = None,
) -> None:
    """Fill ``out`` in place with normal values ``mean + std * z`` (CPU or CUDA: bit-identical)."""
    args = _stream_args("random.normal", seed, stream, offset, mean=mean, std=std)
    _mlforge.fill_normal(out, *args, stream_handle("random.normal", cuda_stream))
