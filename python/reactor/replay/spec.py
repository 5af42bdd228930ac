"""Field schemas: ``{"obs": ("float32", (8,)), "action": ("int64", ())}`` checked and normalised."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from reactor.errors import InvalidArgumentError

__all__ = ["Field", "parse_spec"]

_SUPPORTED = {
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
}


@dataclass(frozen=True)
class Field:
    """One field: its name, numpy dtype and per-item shape."""

    name: str
    dtype: np.dtype[Any]
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        """Bytes of one item of this field."""
        return int(self.dtype.itemsize * int(np.prod(self.shape, dtype=np.int64)))

    def as_array(self, value: Any, leading: tuple[int, ...], op: str) -> np.ndarray:
        """``value`` as a C-contiguous array of shape ``leading + shape``; a safe cast within the same
        kind (float64 -> float32, int -> int64...) is done, anything else is an error naming the field.
        """
        array = np.asarray(value)
        if not np.can_cast(array.dtype, self.dtype, casting="same_kind"):
            raise InvalidArgumentError(
                f"[{op}] field {self.name!r}: expected dtype {self.dtype.name}, got {array.dtype.name}"
            )
        expected = leading + self.shape
        if array.shape != expected:
            raise InvalidArgumentError(
                f"[{op}] field {self.name!r}: expected shape {expected}, got {array.shape}"
            )
        return np.ascontiguousarray(array, dtype=self.dtype)


def parse_spec(spec: Mapping[str, Any]) -> list[Field]:
    """Fields of a spec mapping name -> ``(dtype, shape)``, in the mapping's order."""
    if not isinstance(spec, Mapping) or not spec:
        raise InvalidArgumentError(
            f"[replay.spec] spec must be a non-empty mapping name -> (dtype, shape), got {spec!r}"
        )
    fields = []
    for name, entry in spec.items():
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"[replay.spec] field names must be non-empty strings, got {name!r}")
        try:
            dtype_like, shape_like = entry
            dtype = np.dtype(dtype_like)
        except (TypeError, ValueError) as error:
            raise InvalidArgumentError(
                f"[replay.spec] field {name!r}: expected (dtype, shape), got {entry!r}"
            ) from error
        if dtype.name not in _SUPPORTED:
            raise InvalidArgumentError(
                f"[replay.spec] field {name!r}: dtype {dtype.name} is not supported "
                f"(use one of {sorted(_SUPPORTED)})"
            )
        shape = (shape_like,) if isinstance(shape_like, int) else tuple(shape_like)
        if not all(isinstance(d, int | np.integer) and not isinstance(d, bool) and d >= 1 for d in shape):
            raise InvalidArgumentError(
                f"[replay.spec] field {name!r}: shape must be positive integers, got {shape_like!r}"
            )
        fields.append(Field(name, dtype, tuple(int(d) for d in shape)))
    return fields
