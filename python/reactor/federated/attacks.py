"""Byzantine attacks for measuring an aggregation rule's robustness.

Model-poisoning attacks map the honest updates of a round to the updates the malicious clients
send; the data-poisoning attack (label flip) changes what a malicious client trains on. Notation:
``g_i`` the honest update client ``i`` would send, ``mu`` / ``sigma`` the coordinate-wise mean /
standard deviation of the honest updates of the round, ``n`` the clients in the round, ``f`` the
malicious ones among them.

=====================  =====================================================================
``sign_flip``          ``g_i' = -s * g_i`` (s = ``scale``, 1 in Damaskinos et al. 2018; > 1 amplifies)
``gaussian``           ``g_i' ~ N(0, std^2 I)`` (Blanchard et al. 2017 / Xie et al. 2018)
``scaled``             ``g_i' = s * g_i`` (model-replacement boosting, Bhagoji et al. 2019)
``label_flip``         data level: label ``y -> C - 1 - y`` (Tolpegin et al. 2020)
``alie``               ``g' = mu - z_max * sigma``, ``s = floor(n/2 + 1) - f``,
                       ``z_max = Phi^-1((n - s) / n)`` (Baruch et al. 2019, "A Little Is Enough")
``ipm``                ``g' = -epsilon * mu`` (Xie et al. 2020, inner-product manipulation)
=====================  =====================================================================

``alie`` and ``ipm`` are omniscient: ``mu`` and ``sigma`` are computed over the honest updates of
*all* clients in the round (the strongest, usual evaluation setting). Every random attack draws from
a numpy Generator keyed by ``(seed, round)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from reactor.errors import InvalidArgumentError
from reactor.federated.sampling import round_rng

__all__ = [
    "ATTACKS",
    "AttackKind",
    "LabelFlipDataset",
    "alie",
    "alie_z_max",
    "apply_attack",
    "flip_labels",
    "gaussian",
    "inner_product_manipulation",
    "scaled",
    "sign_flip",
]

AttackKind = Literal["none", "sign_flip", "gaussian", "scaled", "label_flip", "alie", "ipm"]
ATTACKS: tuple[str, ...] = ("none", "sign_flip", "gaussian", "scaled", "label_flip", "alie", "ipm")
F32 = npt.NDArray[np.float32]
_ATTACK_PURPOSE = 7  # mixed into the (seed, round) generator so attacks draw independently of sampling


def _rows(updates: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    array = np.asarray(updates, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0:
        raise InvalidArgumentError(
            f"[federated.attacks] {name}: expected a (K, D) array with K >= 1, got shape {array.shape}"
        )
    return array


def sign_flip(updates: npt.ArrayLike, scale: float = 1.0) -> F32:
    """``-scale * g`` for each row of ``updates`` (K, D)."""
    if not math.isfinite(scale) or scale <= 0:
        raise InvalidArgumentError(
            f"[federated.attacks] sign_flip scale must be finite and > 0, got {scale!r}"
        )
    with np.errstate(over="ignore"):  # a boost past float32's range gives inf, as a client would send
        return (-scale * _rows(updates, "updates")).astype(np.float32)


def scaled(updates: npt.ArrayLike, factor: float) -> F32:
    """``factor * g`` for each row of ``updates`` (boosting a poisoned update)."""
    if not math.isfinite(factor):
        raise InvalidArgumentError(f"[federated.attacks] scaled factor must be finite, got {factor!r}")
    with np.errstate(over="ignore"):  # a boost past float32's range gives inf, as a client would send
        return (factor * _rows(updates, "updates")).astype(np.float32)


def gaussian(count: int, dim: int, std: float, *, seed: int, round_index: int) -> F32:
    """``count`` updates of length ``dim`` drawn from ``N(0, std^2)``, keyed by ``(seed, round)``."""
    if not math.isfinite(std) or std <= 0:
        raise InvalidArgumentError(f"[federated.attacks] gaussian std must be finite and > 0, got {std!r}")
    rng = round_rng(seed, round_index, _ATTACK_PURPOSE)
    return rng.normal(0.0, std, size=(count, dim)).astype(np.float32)


def alie_z_max(n: int, f: int) -> float:
    """Baruch et al. 2019: ``s = floor(n/2 + 1) - f``, ``z_max = Phi^-1((n - s) / n)``.

    The paper assumes the attackers are a minority; when ``f >= floor(n/2 + 1)`` its ``s`` would be
    <= 0 (``Phi^-1(>= 1)`` undefined), so ``s`` is taken as 1 there (attackers need no helpers).
    """
    if not 0 < f < n:
        raise InvalidArgumentError(f"[federated.attacks] alie needs 0 < f < n, got n={n}, f={f}")
    s = max(1, math.floor(n / 2 + 1) - f)
    return NormalDist().inv_cdf((n - s) / n)


def alie(honest: npt.ArrayLike, n: int, f: int, z_max: float | None = None) -> F32:
    """A Little Is Enough: ``mu - z_max * sigma`` per coordinate (sigma: population std, ddof=0),
    over the honest updates (K, D); ``z_max`` defaults to :func:`alie_z_max` ``(n, f)``.
    """
    rows = _rows(honest, "honest")
    z = alie_z_max(n, f) if z_max is None else float(z_max)
    return (rows.mean(axis=0) - z * rows.std(axis=0)).astype(np.float32)


def inner_product_manipulation(honest: npt.ArrayLike, epsilon: float = 0.1) -> F32:
    """Xie et al. 2020: ``-epsilon * mean(honest)``; small ``epsilon`` slips past median/Krum, large
    ``epsilon`` defeats the mean.
    """
    if not math.isfinite(epsilon) or epsilon <= 0:
        raise InvalidArgumentError(f"[federated.attacks] ipm epsilon must be finite and > 0, got {epsilon!r}")
    return (-epsilon * _rows(honest, "honest").mean(axis=0)).astype(np.float32)


def flip_labels(labels: Any, num_classes: int) -> Any:
    """``y -> num_classes - 1 - y`` (works on numpy arrays, torch tensors and ints)."""
    if num_classes < 2:
        raise InvalidArgumentError(
            f"[federated.attacks] label_flip num_classes must be >= 2, got {num_classes}"
        )
    return num_classes - 1 - labels


class LabelFlipDataset:
    """A map-style dataset wrapper whose items ``(x, y)`` come back as ``(x, C - 1 - y)``.

    Works with any dataset indexable by an int and returning a pair (e.g. a torch
    ``TensorDataset``), so it can be handed to a ``DataLoader`` unchanged.
    """

    def __init__(self, dataset: Any, num_classes: int) -> None:
        flip_labels(0, num_classes)  # validates num_classes
        self.dataset = dataset
        self.num_classes = num_classes

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        x, y = self.dataset[index]
        return x, flip_labels(y, self.num_classes)


def apply_attack(
    kind: str,
    honest: npt.ArrayLike,
    malicious: Sequence[int],
    *,
    seed: int,
    round_index: int,
    scale: float = 1.0,
    std: float = 1.0,
    epsilon: float = 0.1,
    z_max: float | None = None,
) -> F32:
    """Return the (K, D) float32 updates the round's clients send.

    ``honest``: every client's honest update (K, D); ``malicious``: row indices of the attackers,
    whose rows are replaced. ``sign_flip``/``scaled`` use ``scale``, ``gaussian`` uses ``std``,
    ``ipm`` uses ``epsilon``, ``alie`` uses ``z_max`` (default from n = K, f = len(malicious)).
    ``none`` and ``label_flip`` (a data-level attack applied before local training) return the
    honest updates unchanged.
    """
    rows = np.array(honest, dtype=np.float32, copy=True)
    if rows.ndim != 2:
        raise InvalidArgumentError(
            f"[federated.attacks] honest: expected a (K, D) array, got shape {rows.shape}"
        )
    bad = [int(i) for i in malicious if not 0 <= int(i) < rows.shape[0]]
    if bad:
        raise InvalidArgumentError(
            f"[federated.attacks] malicious index {bad[0]} is outside the {rows.shape[0]} updates"
        )
    index = np.asarray(sorted({int(i) for i in malicious}), dtype=np.int64)
    if kind not in ATTACKS:
        raise InvalidArgumentError(f"[federated.attacks] kind must be one of {list(ATTACKS)}, got {kind!r}")
    if index.size == 0 or kind in ("none", "label_flip"):
        return rows
    if kind == "sign_flip":
        rows[index] = sign_flip(rows[index], scale)
    elif kind == "scaled":
        rows[index] = scaled(rows[index], scale)
    elif kind == "gaussian":
        rows[index] = gaussian(index.size, rows.shape[1], std, seed=seed, round_index=round_index)
    elif kind == "alie":
        rows[index] = alie(honest, rows.shape[0], int(index.size), z_max)
    else:  # ipm
        rows[index] = inner_product_manipulation(honest, epsilon)
    return rows
