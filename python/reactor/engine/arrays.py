"""How the engine sees an array: the zero-copy view it borrows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reactor import _mlforge

__all__ = ["ArrayInfo", "describe_array"]


@dataclass(frozen=True)
class ArrayInfo:
    """The engine's view of a caller's array. ``strides`` are in elements."""

    data: int
    dtype: str
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    device: str
    device_index: int
    writable: bool
    contiguous: bool


def describe_array(x: Any, *, writable: bool = False) -> ArrayInfo:
    """Borrow ``x`` exactly as engine calls do, without copying, and describe the view.

    ``data`` is the address the engine would read, so ``describe_array(a).data ==
    a.ctypes.data`` for numpy and ``== t.data_ptr()`` for torch. With ``writable=True`` a
    read-only array raises :class:`~reactor.errors.InvalidArgumentError`.
    """
    return ArrayInfo(**_mlforge.describe_array(x, writable))
