"""Robust aggregation rules of the engine (``mlforge/aggregate.h``) over K client updates: a (K, D)
float32 array or a list of K float32 vectors, read in place. Results are float32 [D] arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from reactor import _mlforge
from reactor.engine._validate import check_count, check_finite
from reactor.engine.aggregate import Updates, _shape

__all__ = [
    "SERVER_OPTIMIZER_CODES",
    "bulyan",
    "centered_clip",
    "geometric_median",
    "krum_scores",
    "multi_krum",
    "server_optimizer_step",
]


def krum_scores(updates: Updates, f: int) -> npt.NDArray[np.float64]:
    """Krum scores (sum of squared distances to the K - f - 2 nearest others); needs K > 2f + 2."""
    scores = np.empty(_shape(updates)[0], dtype=np.float64)
    _mlforge.krum_scores(updates, check_count("aggregate.krum", "f", f), scores)
    return scores


def multi_krum(updates: Updates, f: int, m: int = 1) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Mean of the ``m`` lowest-score updates (m = 1: Krum) and the chosen indices in order."""
    op = "aggregate.multi_krum"
    count = check_count(op, "m", m)
    out = np.empty(_shape(updates)[1], dtype=np.float32)
    selected = np.empty(count, dtype=np.int64)
    _mlforge.multi_krum(updates, check_count(op, "f", f), count, out, selected)
    return out, selected


def bulyan(updates: Updates, f: int) -> npt.NDArray[np.float32]:
    """Bulyan: recursive Krum picks K - 2f updates, then a trimmed mean around the median; K >= 4f + 3."""
    out = np.empty(_shape(updates)[1], dtype=np.float32)
    _mlforge.bulyan(updates, check_count("aggregate.bulyan", "f", f), out)
    return out


def geometric_median(
    updates: Updates, weights: Any = None, *, nu: float = 1e-5, max_iter: int = 4, ftol: float = 1e-6
) -> tuple[npt.NDArray[np.float32], int]:
    """Smoothed-Weiszfeld geometric median (RFA defaults) and the number of iterations made."""
    op = "aggregate.geometric_median"
    k, d = _shape(updates)
    w = np.ones(k) if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    out = np.empty(d, dtype=np.float32)
    iterations = _mlforge.geometric_median(
        updates,
        w,
        check_finite(op, "nu", nu),
        check_count(op, "max_iter", max_iter),
        check_finite(op, "ftol", ftol),
        out,
    )
    return out, int(iterations)


def centered_clip(
    updates: Updates, tau: float, *, iterations: int = 1, center: Any = None
) -> npt.NDArray[np.float32]:
    """Centered clipping from ``center`` (the previous aggregate; zeros when None)."""
    op = "aggregate.centered_clip"
    out = np.empty(_shape(updates)[1], dtype=np.float32)
    _mlforge.centered_clip(
        updates, check_finite(op, "tau", tau), check_count(op, "iterations", iterations), center, out
    )
    return out


SERVER_OPTIMIZER_CODES: dict[str, int] = {"fedavgm": 0, "fedadagrad": 1, "fedyogi": 2, "fedadam": 3}


def server_optimizer_step(
    kind: str,
    params: Any,
    delta: Any,
    m: Any,
    v: Any,
    *,
    eta: float,
    beta_1: float,
    beta_2: float,
    tau: float,
) -> None:
    """One fused server-optimizer step in place (``mlforge/aggregate.h``); ``v`` is None for fedavgm."""
    op = "aggregate.server_optimizer"
    if kind not in SERVER_OPTIMIZER_CODES:
        from reactor.errors import InvalidArgumentError

        raise InvalidArgumentError(
            f"[{op}] kind must be one of {sorted(SERVER_OPTIMIZER_CODES)}, got {kind!r}"
        )
    _mlforge.server_optimizer_step(
        SERVER_OPTIMIZER_CODES[kind],
        params,
        delta,
        m,
        v,
        check_finite(op, "eta", eta),
        check_finite(op, "beta_1", beta_1),
        check_finite(op, "beta_2", beta_2),
        check_finite(op, "tau", tau),
    )
