"""Argument checks shared by the engine facades: clear errors before anything reaches C++."""

from __future__ import annotations

import math
import numbers
from typing import Any

from reactor.errors import InvalidArgumentError

_UINT64_LIMIT = 2**64


def check_uint64(op: str, name: str, value: Any) -> int:
    """Return ``value`` as an int in [0, 2**64) or raise naming the parameter."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not 0 <= int(value) < _UINT64_LIMIT
    ):
        raise InvalidArgumentError(f"[{op}] {name} must be an integer in [0, 2**64), got {value!r}")
    return int(value)


def check_count(op: str, name: str, value: Any) -> int:
    """Return ``value`` as a non-negative int below 2**63 or raise naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= int(value) < 2**63:
        raise InvalidArgumentError(f"[{op}] {name} must be a non-negative integer, got {value!r}")
    return int(value)


def check_finite(op: str, name: str, value: Any) -> float:
    """Return ``value`` as a finite float or raise naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise InvalidArgumentError(f"[{op}] {name} must be a finite number, got {value!r}")
    return float(value)


def stream_handle(op: str, stream: Any) -> int:
    """A CUDA stream as the engine takes it: ``None`` (legacy default), a raw ``cudaStream_t`` int,
    or an object with ``.cuda_stream`` (``torch.cuda.Stream``).
    """
    if stream is None:
        return 0
    handle = getattr(stream, "cuda_stream", stream)
    if isinstance(handle, bool) or not isinstance(handle, int) or handle < 0:
        raise InvalidArgumentError(
            f"[{op}] stream must be None, a CUDA stream handle or a torch stream, got {stream!r}"
        )
    return handle
