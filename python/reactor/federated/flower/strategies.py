"""Flower strategies whose aggregation runs in the MLForge engine (``mlforge/aggregate.h``).

Each class is a Flower ``FedAvg`` (same sampling, configuration and evaluation keyword arguments)
with the engine rule of :func:`reactor.federated.aggregate` of the same name:

==========================  ===================================  =====================================
class                       rule                                 input the engine reads
==========================  ===================================  =====================================
``FedAvg``                  weighted mean (num_examples)         layer views into Flower's bytes
``FedMedian``               coordinate-wise median               layer views into Flower's bytes
``FedTrimmedAvg(beta)``     coordinate-wise trimmed mean         layer views into Flower's bytes
``Krum(f)``                 Krum (Blanchard et al. 2017)         one (K, D) float32 buffer
``MultiKrum(f, m)``         mean of the m best Krum scores       one (K, D) float32 buffer
``Bulyan(f)``               recursive Krum + trimmed mean        one (K, D) float32 buffer
``GeometricMedian``         smoothed Weiszfeld (RFA)             one (K, D) float32 buffer
``CenteredClipping(tau)``   centered clipping from the global    one (K, D) float32 buffer
==========================  ===================================  =====================================
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from flwr.common import Scalar

from reactor import engine
from reactor.errors import InvalidArgumentError
from reactor.federated.flower.base import LayerwiseStrategy, RowStrategy

__all__ = [
    "Bulyan",
    "CenteredClipping",
    "FedAvg",
    "FedMedian",
    "FedTrimmedAvg",
    "GeometricMedian",
    "Krum",
    "MultiKrum",
]


def _count(op: str, name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InvalidArgumentError(f"{op} {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class FedAvg(LayerwiseStrategy):
    """Weighted mean of the client models, weights = ``num_examples`` (``weighted=False``: equal).

    The engine reads every layer in place from Flower's bytes and accumulates in float64: no copy
    of any update; extra memory is the D-float aggregate.
    """

    rule = "fedavg"
    finite_output_proves_finite_inputs = True

    def __init__(self, *, weighted: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.weighted = bool(weighted)

    def layer_weights(self, weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """``w_k / sum_k w_k`` (equal weights with ``weighted=False``)."""
        w = weights if self.weighted else np.ones(len(weights))
        total = float(w.sum())
        if not total > 0:
            raise InvalidArgumentError(
                f"{self.op} the clients' num_examples sum to 0: the weighted mean is undefined "
                "(pass weighted=False for an equal-weight mean)"
            )
        return np.ascontiguousarray(w / total)

    def aggregate_layer(
        self,
        views: list[npt.NDArray[np.float32]],
        weights: npt.NDArray[np.float64],
        out: npt.NDArray[np.float32],
    ) -> None:
        """``sum_k w_k x_k`` with normalised weights, in place."""
        engine.weighted_sum_into(views, weights, out)


class FedMedian(LayerwiseStrategy):
    """Coordinate-wise median (numpy.median's definition for an even number of clients)."""

    rule = "median"

    def aggregate_layer(
        self,
        views: list[npt.NDArray[np.float32]],
        weights: npt.NDArray[np.float64],
        out: npt.NDArray[np.float32],
    ) -> None:
        """Median of each coordinate of the layer."""
        out[:] = engine.coordinate_median(views)


class FedTrimmedAvg(LayerwiseStrategy):
    """Coordinate-wise trimmed mean (Yin et al. 2018): drop floor(beta K) values at each end."""

    rule = "trimmed_mean"

    def __init__(self, *, beta: float = 0.2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not (isinstance(beta, int | float) and 0 <= beta < 0.5):
            raise InvalidArgumentError(f"{self.op} beta must be in [0, 0.5), got {beta!r}")
        self.beta = float(beta)

    def aggregate_layer(
        self,
        views: list[npt.NDArray[np.float32]],
        weights: npt.NDArray[np.float64],
        out: npt.NDArray[np.float32],
    ) -> None:
        """Trimmed mean of each coordinate of the layer."""
        out[:] = engine.coordinate_trimmed_mean(views, self.beta)


class MultiKrum(RowStrategy):
    """Multi-Krum (Blanchard et al. 2017): mean of the ``m`` updates with the lowest Krum scores.

    score(i) = sum of squared L2 distances (whole model) to its K - f - 2 nearest others; needs
    K > 2f + 2. The chosen clients are reported in the metrics (``reactor_selected_clients``).
    """

    rule = "multi_krum"

    def __init__(self, *, f: int, m: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.f = _count(self.op, "f", f, 0)
        self.m = None if m is None else _count(self.op, "m", m, 1)

    def _m(self, count: int) -> int:
        """``m`` (default: K - f, the paper's Multi-Krum), at most the number of clients."""
        return min(self.m if self.m is not None else count - self.f, count)

    def min_clients(self) -> int:
        """K > 2f + 2."""
        return 2 * self.f + 3

    def requirement(self) -> str:
        """Krum's precondition."""
        return f"K > 2f + 2 = {2 * self.f + 2} clients (f = {self.f})"

    def aggregate_rows(
        self, rows: npt.NDArray[np.float32], weights: npt.NDArray[np.float64], metrics: dict[str, Scalar]
    ) -> npt.NDArray[np.float32]:
        """Engine Multi-Krum on the packed rows."""
        out, selected = engine.multi_krum(rows, self.f, self._m(rows.shape[0]))
        self.last_selected = selected
        return out


class Krum(MultiKrum):
    """Krum (Blanchard et al. 2017): the update with the lowest score; needs K > 2f + 2."""

    rule = "krum"

    def __init__(self, *, f: int, **kwargs: Any) -> None:
        super().__init__(f=f, m=1, **kwargs)


class Bulyan(RowStrategy):
    """Bulyan (El Mhamdi et al. 2018): recursive Krum picks theta = K - 2f updates, then each
    coordinate averages the beta = theta - 2f values closest to the picks' median; K >= 4f + 3.
    """

    rule = "bulyan"

    def __init__(self, *, f: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.f = _count(self.op, "f", f, 0)

    def min_clients(self) -> int:
        """K >= 4f + 3."""
        return 4 * self.f + 3

    def requirement(self) -> str:
        """Bulyan's precondition."""
        return f"K >= 4f + 3 = {4 * self.f + 3} clients (f = {self.f})"

    def aggregate_rows(
        self, rows: npt.NDArray[np.float32], weights: npt.NDArray[np.float64], metrics: dict[str, Scalar]
    ) -> npt.NDArray[np.float32]:
        """Engine Bulyan on the packed rows."""
        return engine.bulyan(rows, self.f)


class GeometricMedian(RowStrategy):
    """Geometric median of the whole models by smoothed Weiszfeld (RFA, Pillutla et al.), weighted
    by ``num_examples`` (``weighted=False``: equal); ``nu``, ``max_iter``, ``ftol`` as in RFA.
    """

    rule = "geometric_median"

    def __init__(
        self, *, nu: float = 1e-5, max_iter: int = 4, ftol: float = 1e-6, weighted: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.nu, self.max_iter, self.ftol, self.weighted = nu, max_iter, ftol, bool(weighted)

    def aggregate_rows(
        self, rows: npt.NDArray[np.float32], weights: npt.NDArray[np.float64], metrics: dict[str, Scalar]
    ) -> npt.NDArray[np.float32]:
        """Engine smoothed Weiszfeld on the packed rows."""
        w = weights if self.weighted else np.ones(rows.shape[0])
        if not w.sum() > 0:
            raise InvalidArgumentError(f"{self.op} the clients' num_examples sum to 0 (pass weighted=False)")
        out, iterations = engine.geometric_median(
            rows, np.ascontiguousarray(w), nu=self.nu, max_iter=self.max_iter, ftol=self.ftol
        )
        metrics["reactor_weiszfeld_iterations"] = int(iterations)
        return out


class CenteredClipping(RowStrategy):
    """Centered clipping (Karimireddy et al. 2021) around the current global model:
    ``v <- v + (1/K) sum_i (x_i - v) min(1, tau / ||x_i - v||)``, ``iters`` times, ``v_0`` = global.

    Needs the global model: ``initial_parameters`` or a server that calls ``configure_fit``.
    """

    rule = "centered_clip"

    def __init__(self, *, tau: float, iters: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not (isinstance(tau, int | float) and np.isfinite(tau) and tau > 0):
            raise InvalidArgumentError(f"{self.op} tau must be a finite number > 0, got {tau!r}")
        self.tau = float(tau)
        self.iters = _count(self.op, "iters", iters, 1)

    def aggregate_rows(
        self, rows: npt.NDArray[np.float32], weights: npt.NDArray[np.float64], metrics: dict[str, Scalar]
    ) -> npt.NDArray[np.float32]:
        """Engine centered clipping on the packed rows, centred on the global model."""
        if self.global_model is None:
            raise InvalidArgumentError(
                f"{self.op} centered clipping starts from the global model: pass initial_parameters "
                "or let the server call configure_fit first"
            )
        if self.global_model.shape[0] != rows.shape[1]:
            raise InvalidArgumentError(
                f"{self.op} the global model has {self.global_model.shape[0]} parameters but the "
                f"updates have {rows.shape[1]}"
            )
        return engine.centered_clip(rows, self.tau, iterations=self.iters, center=self.global_model)
