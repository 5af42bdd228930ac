"""Sum-tree kernels for prioritized sampling over a caller-owned float64 tree array."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from reactor import _mlforge
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


def sumtree_update(tree: Any, indices: Any, priorities: Any) -> None:
    """Set leaves ``indices`` to ``priorities`` and recompute their ancestors (all-or-nothing)."""
    _mlforge.sumtree_update(tree, indices, priorities)


def sumtree_search(tree: Any, values: Any) -> npt.NDArray[np.int64]:
    """Leaf index holding each prefix-sum value in [0, total)."""
    out = np.empty(np.shape(values), dtype=np.int64)
    _mlforge.sumtree_search(tree, values, out)
    return out
