"""Sum-tree kernels for prioritized sampling over a caller-owned float64 tree array."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from reactor import _mlforge
from reactor.engine._validate import stream_handle
from reactor.errors import InvalidArgumentError

__all__ = ["new_sumtree", "sumtree_search", "sumtree_update"]


def new_sumtree(capacity: int) -> npt.NDArray[np.float64]:
    """An all-zero tree for ``capacity`` leaves (a power of two): a float64 array of 2 * capacity."""
    if (
        isinstance(capacity, bool)
        or not isinstance(capacity, int)
        or capacity < 1
        or capacity & (capacity - 1)
    ):
        raise InvalidArgumentError(
            f"[kernels.sumtree] capacity must be a positive power of two, got {capacity!r}"
        )
    return np.zeros(2 * capacity, dtype=np.float64)


def sumtree_update(tree: Any, indices: Any, priorities: Any, *, stream: Any = None) -> None:
    """Set leaves ``indices`` to ``priorities`` and recompute their ancestors (all-or-nothing)."""
    _mlforge.sumtree_update(tree, indices, priorities, stream_handle("kernels.sumtree_update", stream))


def sumtree_search(tree: Any, values: Any, out: Any = None, *, stream: Any = None) -> Any:
    """Leaf index holding each prefix-sum value in [0, total); ``out`` (int64) is allocated on the
    CPU when not given (pass a device array for a CUDA tree).
    """
    out = np.empty(np.shape(values), dtype=np.int64) if out is None else out
    _mlforge.sumtree_search(tree, values, out, stream_handle("kernels.sumtree_search", stream))
    return out
