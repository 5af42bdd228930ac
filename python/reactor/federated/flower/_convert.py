"""Flower ``Parameters`` <-> engine buffers, with the copies counted.

Flower ships every layer as the bytes of an ``.npy`` file (``np.save``). What this module does
with them, copy by copy:

1. :func:`decode_parameters` parses each ``.npy`` header and returns a read-only ``np.frombuffer``
   view of the data inside the ``bytes`` object: **no copy** for C-ordered float32 layers (the
   usual case). A Fortran-ordered layer is made C-ordered and a non-float32 layer is cast to
   float32: one copy of that layer, which the engine needs anyway.
2. Coordinate-wise rules (FedAvg, median, trimmed mean, the server optimizers) run in the engine
   layer by layer on those views (K borrowed rows per layer): **no copy** of any client update.
3. Rules that need whole-model distances (Krum, Multi-Krum, Bulyan, geometric median, centered
   clipping, the DP wrapper) read one (K, D) float32 buffer that :func:`pack_rows` fills: **one
   copy** of every update (Flower's own ``parameters_to_ndarrays`` makes the same copy, and its
   aggregate functions then add one or two more).
4. The aggregate (D floats) is split into reshaped views (no copy) and serialized once by Flower's
   ``ndarrays_to_parameters`` (the wire format requires it).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from flwr.common import Parameters, ndarrays_to_parameters

from reactor.errors import InvalidArgumentError

__all__ = [
    "ClientUpdate",
    "Layout",
    "decode_parameters",
    "layers_to_parameters",
    "pack_rows",
    "split_flat",
]

_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


@dataclass(frozen=True)
class Layout:
    """Shapes and dtypes of a model's layers, in order."""

    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[np.dtype[Any], ...]

    @property
    def sizes(self) -> list[int]:
        """Number of values in each layer."""
        return [int(np.prod(s, dtype=np.int64)) for s in self.shapes]

    @property
    def dim(self) -> int:
        """Total number of parameters D."""
        return sum(self.sizes)

    def describe(self) -> str:
        """``[(3, 4) float32, (4,) float32]``: for error messages."""
        return "[" + ", ".join(f"{s} {d}" for s, d in zip(self.shapes, self.dtypes, strict=True)) + "]"


@dataclass
class ClientUpdate:
    """One client's reply: flat float32 layer views (read-only, usually into Flower's bytes)."""

    name: str
    layers: list[npt.NDArray[np.float32]]
    layout: Layout
    num_examples: int
    metrics: dict[str, Any] = field(default_factory=dict)


def _decode_tensor(blob: Any, where: str) -> tuple[npt.NDArray[np.float32], tuple[int, ...], np.dtype[Any]]:
    """One ``.npy`` blob -> (flat float32 C-order view or copy, shape, original dtype)."""
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise InvalidArgumentError(f"{where}: expected .npy bytes, got {type(blob).__name__}")
    stream = io.BytesIO(blob)  # shares the bytes until written to; we only read the header
    try:
        version = np.lib.format.read_magic(stream)
        reader = _HEADER_READERS.get(version)
        if reader is None:
            raise ValueError(f"unsupported .npy format version {version}")
        shape, fortran_order, dtype = reader(stream)
    except ValueError as error:
        raise InvalidArgumentError(f"{where}: not a valid .npy tensor ({error})") from error
    if dtype.kind not in "fiub" or dtype.hasobject:
        raise InvalidArgumentError(f"{where}: expected a numeric tensor, got dtype {dtype}")
    count = int(np.prod(shape, dtype=np.int64))
    offset = stream.tell()
    if len(blob) - offset < count * dtype.itemsize:
        raise InvalidArgumentError(
            f"{where}: truncated tensor ({len(blob) - offset} data bytes for shape {shape} {dtype})"
        )
    flat = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
    if fortran_order and len(shape) > 1:
        # The bytes hold the transpose; one copy puts the layer in C order (flattening order).
        flat = np.ascontiguousarray(flat.reshape(shape[::-1]).T).reshape(-1)
    if flat.dtype != np.float32:
        flat = flat.astype(np.float32)  # one cast copy; the engine reads float32 only
    return flat, tuple(int(s) for s in shape), dtype


def decode_parameters(parameters: Parameters, where: str) -> tuple[list[npt.NDArray[np.float32]], Layout]:
    """Flat float32 views of each layer in ``parameters`` (no copy for C-ordered float32 layers)."""
    if parameters.tensor_type not in ("numpy.ndarray", ""):
        raise InvalidArgumentError(
            f"{where}: expected tensor_type 'numpy.ndarray', got {parameters.tensor_type!r}"
        )
    layers: list[npt.NDArray[np.float32]] = []
    shapes: list[tuple[int, ...]] = []
    dtypes: list[np.dtype[Any]] = []
    for index, blob in enumerate(parameters.tensors):
        flat, shape, dtype = _decode_tensor(blob, f"{where} layer {index}")
        layers.append(flat)
        shapes.append(shape)
        dtypes.append(dtype)
    return layers, Layout(tuple(shapes), tuple(dtypes))


def pack_rows(updates: Sequence[ClientUpdate], layout: Layout) -> npt.NDArray[np.float32]:
    """One (K, D) float32 buffer, row k = client k's layers concatenated: one copy of each update."""
    rows = np.empty((len(updates), layout.dim), dtype=np.float32)
    for k, update in enumerate(updates):
        start = 0
        for layer in update.layers:
            rows[k, start : start + layer.size] = layer
            start += layer.size
    return rows


def split_flat(flat: npt.NDArray[np.float32], layout: Layout) -> list[npt.NDArray[Any]]:
    """Views of ``flat`` with the layer shapes (cast back when a layer was not float32)."""
    out: list[npt.NDArray[Any]] = []
    start = 0
    for size, shape, dtype in zip(layout.sizes, layout.shapes, layout.dtypes, strict=True):
        out.append(flat[start : start + size].reshape(shape).astype(dtype, copy=False))
        start += size
    return out


def layers_to_parameters(flat: npt.NDArray[np.float32], layout: Layout) -> Parameters:
    """The aggregate as Flower ``Parameters`` in the model's layer shapes (one serialization)."""
    return ndarrays_to_parameters(split_flat(flat, layout))
