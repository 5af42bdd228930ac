"""``aggregate``: FedAvg and the robust rules behind one call, with clear errors on bad updates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from reactor import engine
from reactor.errors import InvalidArgumentError

__all__ = ["RULES", "aggregate"]


def _fedavg(updates: Any, weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    return engine.weighted_sum(updates, weights / weights.sum())


def _median(updates: Any, weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    return engine.coordinate_median(updates, reject_non_finite=True)


def _trimmed_mean(
    updates: Any, weights: npt.NDArray[np.float64], *, beta: float = 0.1
) -> npt.NDArray[np.float32]:
    return engine.coordinate_trimmed_mean(updates, beta, reject_non_finite=True)


def _krum(updates: Any, weights: npt.NDArray[np.float64], *, f: int) -> npt.NDArray[np.float32]:
    return engine.multi_krum(updates, f, 1)[0]


def _multi_krum(updates: Any, weights: npt.NDArray[np.float64], *, f: int, m: int) -> npt.NDArray[np.float32]:
    return engine.multi_krum(updates, f, m)[0]


def _bulyan(updates: Any, weights: npt.NDArray[np.float64], *, f: int) -> npt.NDArray[np.float32]:
    return engine.bulyan(updates, f)


def _geometric_median(
    updates: Any, weights: npt.NDArray[np.float64], *, nu: float = 1e-5, max_iter: int = 4, ftol: float = 1e-6
) -> npt.NDArray[np.float32]:
    return engine.geometric_median(updates, weights, nu=nu, max_iter=max_iter, ftol=ftol)[0]


def _centered_clip(
    updates: Any, weights: npt.NDArray[np.float64], *, tau: float, iters: int = 1, center: Any = None
) -> npt.NDArray[np.float32]:
    return engine.centered_clip(updates, tau, iterations=iters, center=center)


RULES: dict[str, Callable[..., npt.NDArray[np.float32]]] = {
    "fedavg": _fedavg,
    "median": _median,
    "trimmed_mean": _trimmed_mean,
    "krum": _krum,
    "multi_krum": _multi_krum,
    "bulyan": _bulyan,
    "geometric_median": _geometric_median,
    "centered_clip": _centered_clip,
}

# Rules whose engine pass rejects a NaN/inf update itself (naming it), so they need no separate
# pass over the inputs: the coordinate-wise ones with reject_non_finite, the Krum family through
# the pairwise distances.
_SELF_CHECKING = frozenset({"median", "trimmed_mean", "krum", "multi_krum", "bulyan"})


def _client_count(updates: Any) -> int:
    if isinstance(updates, Sequence) and not isinstance(updates, str | bytes):
        return len(updates)
    shape = np.shape(updates)
    if len(shape) != 2:
        raise InvalidArgumentError(
            f"[aggregate] updates: expected a (K, D) array or a list of K vectors, got shape {shape}"
        )
    return int(shape[0])


def _check_finite(updates: Any) -> None:
    """Name the first client whose update holds NaN or infinity (one pass, in the engine)."""
    norms = engine.row_norms(updates)
    bad = np.flatnonzero(~np.isfinite(norms))
    if bad.size:
        raise InvalidArgumentError(f"[aggregate] updates[{int(bad[0])}] contains NaN or infinite values")


def _fedavg_checked(updates: Any, weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    """FedAvg with the NaN/inf check folded into its one pass over the inputs.

    A NaN or infinity anywhere in any update makes the float64 weighted sum non-finite, whatever
    the weights: ``w * inf`` is inf or NaN and ``0 * inf`` and ``0 * NaN`` are NaN. Finite inputs
    give a finite mean (normalised weights: ``|mean| <= max |x| <= FLT_MAX``). So only a non-finite
    result needs the second pass that names the client.
    """
    result = _fedavg(updates, weights)
    if not np.isfinite(result).all():
        _check_finite(updates)
    return result


def aggregate(
    updates: Any, weights: Any = None, rule: str = "fedavg", **params: Any
) -> npt.NDArray[np.float32]:
    """Aggregate K client updates into one float32 vector of length D.

    ``updates``: a (K, D) float32 array or a list of K float32 vectors (flattened layers), read
    without copies. ``weights``: per-client weights (FedAvg, geometric median), default 1.
    ``rule``: ``fedavg``, ``median``, ``trimmed_mean`` (``beta``), ``krum`` (``f``), ``multi_krum``
    (``f``, ``m``), ``bulyan`` (``f``), ``geometric_median`` (``nu``, ``max_iter``, ``ftol``) or
    ``centered_clip`` (``tau``, ``iters``, ``center``). Bad input (NaN/inf in an update, shape
    mismatch, negative weight, too few clients for ``f``) raises ``InvalidArgumentError`` naming
    the client or the rule's requirement.
    """
    if rule not in RULES:
        raise InvalidArgumentError(f"[aggregate] rule must be one of {sorted(RULES)}, got {rule!r}")
    count = _client_count(updates)
    if count == 0:
        raise InvalidArgumentError("[aggregate] updates: at least one client update is needed, got none")
    w = np.ones(count) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (count,):
        raise InvalidArgumentError(
            f"[aggregate] weights: expected {count} values (one per client), got shape {w.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if bad.size:
        raise InvalidArgumentError(
            f"[aggregate] weights[{int(bad[0])}] must be finite and >= 0, got {w[bad[0]]}"
        )
    if w.sum() <= 0:
        raise InvalidArgumentError("[aggregate] weights must not all be 0")
    w = np.ascontiguousarray(w)
    if rule == "fedavg" and not params:
        return _fedavg_checked(updates, w)
    if rule not in _SELF_CHECKING:
        _check_finite(updates)
    try:
        return RULES[rule](updates, w, **params)
    except TypeError as error:  # a missing or unknown parameter for this rule
        raise InvalidArgumentError(f"[aggregate] rule {rule!r}: {error}") from error
