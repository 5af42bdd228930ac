"""``EngineStrategy``: a Flower ``FedAvg`` whose ``aggregate_fit`` runs in the MLForge engine.

Client sampling, fit/evaluate configuration, centralised evaluation and metric aggregation are
Flower's own (``flwr.server.strategy.FedAvg``); only the aggregation of the parameters changes.
Every reply is validated first: a malformed tensor, a layer layout that differs from the model's,
or a NaN/infinite value is a :class:`~reactor.errors.InvalidArgumentError` naming the client
(``on_bad_client="raise"``, the default) or, with ``on_bad_client="drop"``, the client is left out
of the round and reported in the round's metrics (``reactor_num_dropped``,
``reactor_dropped_clients``).
"""

from __future__ import annotations

import itertools
import logging
from abc import abstractmethod
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from flwr.common import FitRes, Parameters, Scalar
from flwr.server.client_manager import ClientManager
from flwr.server.client_proxy import ClientProxy
from flwr.server.strategy import FedAvg as FlowerFedAvg

from reactor import engine
from reactor.errors import InvalidArgumentError
from reactor.federated.flower._convert import (
    ClientUpdate,
    Layout,
    decode_parameters,
    layers_to_parameters,
    pack_rows,
)

__all__ = ["BadClientPolicy", "EngineStrategy"]

BadClientPolicy = Literal["raise", "drop"]
logger = logging.getLogger(__name__)


def client_name(proxy: Any, index: int) -> str:
    """``client '<cid>' (results[i])``: how errors and metrics name a client."""
    cid = getattr(proxy, "cid", None)
    return f"client {cid!r} (results[{index}])" if cid is not None else f"results[{index}]"


class EngineStrategy(FlowerFedAvg):
    """Base of the engine-backed strategies. Subclass :class:`RowStrategy` (whole-model rules, one
    (K, D) buffer) or :class:`LayerwiseStrategy` (coordinate-wise rules on the decoded views).

    Keyword arguments are Flower ``FedAvg``'s (``fraction_fit``, ``min_fit_clients``,
    ``evaluate_fn``, ``on_fit_config_fn``, ``accept_failures``, ``initial_parameters``,
    ``fit_metrics_aggregation_fn``, ...) plus ``on_bad_client`` ("raise" or "drop").
    """

    rule = "engine"
    #: Rows a selecting rule (Krum, Multi-Krum) chose this round, as indices into the valid updates.
    last_selected: npt.NDArray[np.int64] | None = None

    def __init__(self, *, on_bad_client: BadClientPolicy = "raise", **kwargs: Any) -> None:
        if on_bad_client not in ("raise", "drop"):
            raise InvalidArgumentError(
                f"[federated.flower.{type(self).__name__}] on_bad_client must be 'raise' or 'drop', "
                f"got {on_bad_client!r}"
            )
        initial = kwargs.get("initial_parameters")
        super().__init__(**kwargs)
        self.on_bad_client: BadClientPolicy = on_bad_client
        self._global: npt.NDArray[np.float32] | None = None
        self._layout: Layout | None = None
        if initial is not None:
            self._set_global(initial)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rule={self.rule!r}, on_bad_client={self.on_bad_client!r})"

    # ------------------------------------------------------------------------------ global model
    @property
    def op(self) -> str:
        """``[federated.flower.<Class>]``: the prefix of this strategy's error messages."""
        return f"[federated.flower.{type(self).__name__}]"

    @property
    def global_model(self) -> npt.NDArray[np.float32] | None:
        """The current global model, flat float32 (None before the first round is configured)."""
        return self._global

    def _set_global(self, parameters: Parameters) -> None:
        layers, layout = decode_parameters(parameters, f"{self.op} global parameters")
        flat = np.empty(layout.dim, dtype=np.float32)  # owned and writable (server optimizers)
        start = 0
        for layer in layers:
            flat[start : start + layer.size] = layer
            start += layer.size
        self._global, self._layout = flat, layout

    def configure_fit(
        self, server_round: int, parameters: Parameters, client_manager: ClientManager
    ) -> list[tuple[ClientProxy, Any]]:
        """Flower's client sampling; also records the global model the clients start from."""
        self._set_global(parameters)
        return super().configure_fit(server_round, parameters, client_manager)

    # ---------------------------------------------------------------------------- validation
    def _reject(self, name: str, reason: str, dropped: list[str]) -> None:
        if self.on_bad_client == "raise":
            raise InvalidArgumentError(f"{self.op} {name}: {reason}")
        logger.warning("%s dropping %s from the round: %s", self.op, name, reason)
        dropped.append(f"{name}: {reason}")

    def _decode(
        self, results: Sequence[tuple[ClientProxy, FitRes]], dropped: list[str]
    ) -> tuple[list[ClientUpdate], Layout | None]:
        updates: list[ClientUpdate] = []
        for index, (proxy, res) in enumerate(results):
            name = client_name(proxy, index)
            try:
                layers, layout = decode_parameters(res.parameters, f"{self.op} {name}")
            except InvalidArgumentError as error:
                if self.on_bad_client == "raise":
                    raise
                self._reject(name, str(error).split(": ", 1)[-1], dropped)
                continue
            examples = int(res.num_examples)
            if examples < 0:
                self._reject(name, f"num_examples must be >= 0, got {examples}", dropped)
                continue
            updates.append(ClientUpdate(name, layers, layout, examples, dict(res.metrics or {})))
        # The model's layout: the global model's when known, else the clients' most common one.
        layout = self._layout
        if layout is None and updates:
            layout = Counter(u.layout.shapes for u in updates).most_common(1)[0][0]
            layout = next(u.layout for u in updates if u.layout.shapes == layout)
        kept: list[ClientUpdate] = []
        for update in updates:
            if layout is not None and update.layout.shapes != layout.shapes:
                self._reject(
                    update.name,
                    f"layer shapes {list(update.layout.shapes)} do not match the model's "
                    f"{list(layout.shapes)}",
                    dropped,
                )
                continue
            kept.append(update)
        return kept, layout

    def _check_finite_layers(self, updates: list[ClientUpdate], dropped: list[str]) -> list[ClientUpdate]:
        """One engine pass (row L2 norms per layer) to find updates holding NaN or infinity."""
        if not updates:
            return updates
        finite = np.ones(len(updates), dtype=bool)
        for layer in range(len(updates[0].layers)):
            finite &= np.isfinite(engine.row_norms([u.layers[layer] for u in updates]))
        return self._drop_nonfinite(updates, finite, dropped)

    def _drop_nonfinite(
        self, updates: list[ClientUpdate], finite: npt.NDArray[np.bool_], dropped: list[str]
    ) -> list[ClientUpdate]:
        for k in np.flatnonzero(~finite):
            self._reject(updates[k].name, "the update contains NaN or infinite values", dropped)
        return [u for u, ok in zip(updates, finite, strict=True) if ok]

    # ---------------------------------------------------------------------------- aggregation
    def min_clients(self) -> int:
        """Fewest valid replies this rule can aggregate."""
        return 1

    def requirement(self) -> str:
        """The rule's requirement on the number of clients, for error messages."""
        return "at least 1 client"

    @abstractmethod
    def aggregate_matrix(
        self,
        rows: npt.NDArray[np.float32],
        weights: npt.NDArray[np.float64],
        layout: Layout,
        metrics: dict[str, Scalar],
    ) -> npt.NDArray[np.float32]:
        """Apply the rule to a (K, D) buffer of finite updates (used by wrappers such as the DP one)."""

    def finish(self, server_round: int, aggregate: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Turn the round's aggregate into the next global model (identity; server optimizers step)."""
        return aggregate

    def _weights(self, updates: list[ClientUpdate]) -> npt.NDArray[np.float64]:
        return np.array([u.num_examples for u in updates], dtype=np.float64)

    @abstractmethod
    def _aggregate_updates(
        self, updates: list[ClientUpdate], layout: Layout, metrics: dict[str, Scalar], dropped: list[str]
    ) -> tuple[npt.NDArray[np.float32], list[ClientUpdate]]:
        """(aggregate, the updates it used) after dropping or rejecting non-finite updates."""

    def _aggregate_valid(
        self, updates: list[ClientUpdate], layout: Layout, metrics: dict[str, Scalar], dropped: list[str]
    ) -> tuple[npt.NDArray[np.float32], list[ClientUpdate]]:
        out, updates = self._aggregate_updates(updates, layout, metrics, dropped)
        if not np.isfinite(out).all():
            raise InvalidArgumentError(
                f"{self.op} rule {self.rule!r}: the aggregate is not finite although every update is "
                "(float32 overflow: values too large)"
            )
        return out, updates

    def _check_count(self, updates: list[ClientUpdate]) -> None:
        if len(updates) < self.min_clients():
            raise InvalidArgumentError(
                f"{self.op} rule {self.rule!r} needs {self.requirement()}, got {len(updates)} valid "
                "client update(s) this round"
            )

    def aggregate_fit(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, FitRes]],
        failures: list[tuple[ClientProxy, FitRes] | BaseException],
    ) -> tuple[Parameters | None, dict[str, Scalar]]:
        """Aggregate the round's replies in the engine; weights are ``num_examples``."""
        if not results:
            return None, {}
        if not self.accept_failures and failures:
            return None, {}
        dropped: list[str] = []
        updates, layout = self._decode(results, dropped)
        if layout is None:
            raise InvalidArgumentError(
                f"{self.op} no valid client update this round ({len(dropped)} dropped)"
            )
        metrics: dict[str, Scalar] = {}
        self.last_selected = None
        aggregate, updates = self._aggregate_valid(updates, layout, metrics, dropped)
        if self.last_selected is not None:
            metrics["reactor_selected_clients"] = "; ".join(updates[int(i)].name for i in self.last_selected)
        new_model = self.finish(server_round, aggregate)
        self._global, self._layout = new_model, layout
        if self.fit_metrics_aggregation_fn is not None:
            metrics.update(self.fit_metrics_aggregation_fn([(u.num_examples, u.metrics) for u in updates]))
        metrics["reactor_num_clients"] = len(updates)
        metrics["reactor_num_dropped"] = len(dropped)
        if dropped:
            metrics["reactor_dropped_clients"] = "; ".join(dropped)
        return layers_to_parameters(new_model, layout), metrics


class RowStrategy(EngineStrategy):
    """A whole-model rule (distances between updates): the valid updates are packed once into a
    (K, D) float32 buffer, the same copy Flower's ``parameters_to_ndarrays`` makes.
    """

    @abstractmethod
    def aggregate_rows(
        self, rows: npt.NDArray[np.float32], weights: npt.NDArray[np.float64], metrics: dict[str, Scalar]
    ) -> npt.NDArray[np.float32]:
        """Aggregate the (K, D) float32 ``rows`` into a float32 [D] vector."""

    def aggregate_matrix(
        self,
        rows: npt.NDArray[np.float32],
        weights: npt.NDArray[np.float64],
        layout: Layout,
        metrics: dict[str, Scalar],
    ) -> npt.NDArray[np.float32]:
        """The rule on a (K, D) buffer of finite updates."""
        return self.aggregate_rows(rows, weights, metrics)

    def _aggregate_updates(
        self, updates: list[ClientUpdate], layout: Layout, metrics: dict[str, Scalar], dropped: list[str]
    ) -> tuple[npt.NDArray[np.float32], list[ClientUpdate]]:
        self._check_count(updates)
        rows = pack_rows(updates, layout)
        finite = np.isfinite(engine.row_norms(rows))
        if not finite.all():
            updates = self._drop_nonfinite(updates, finite, dropped)
            rows = np.ascontiguousarray(rows[finite])
            self._check_count(updates)
        return self.aggregate_rows(rows, self._weights(updates), metrics), updates


class LayerwiseStrategy(EngineStrategy):
    """A coordinate-wise rule: aggregated layer by layer on the decoded views (no copy of updates)."""

    #: FedAvg: a NaN or infinity in any update (weight 0 included) makes the float64 weighted sum
    #: non-finite, so a finite aggregate proves every input finite and the separate check pass is
    #: only run when the aggregate is not finite (to name the client).
    finite_output_proves_finite_inputs = False

    def layer_weights(self, weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The weights :meth:`aggregate_layer` receives (computed once per round; default: as given)."""
        return weights

    @abstractmethod
    def aggregate_layer(
        self,
        views: list[npt.NDArray[np.float32]],
        weights: npt.NDArray[np.float64],
        out: npt.NDArray[np.float32],
    ) -> None:
        """Write the rule's result for one layer (``views``: that layer of every update) into ``out``."""

    def aggregate_layers(
        self,
        updates: list[ClientUpdate],
        weights: npt.NDArray[np.float64],
        layout: Layout,
        metrics: dict[str, Scalar],
    ) -> npt.NDArray[np.float32]:
        """Layer by layer on the decoded views, written straight into the flat output."""
        weights = self.layer_weights(weights)
        out = np.empty(layout.dim, dtype=np.float32)
        start = 0
        for layer, size in enumerate(layout.sizes):
            self.aggregate_layer([u.layers[layer] for u in updates], weights, out[start : start + size])
            start += size
        return out

    def aggregate_matrix(
        self,
        rows: npt.NDArray[np.float32],
        weights: npt.NDArray[np.float64],
        layout: Layout,
        metrics: dict[str, Scalar],
    ) -> npt.NDArray[np.float32]:
        """The rule on a (K, D) buffer of finite updates, through per-layer views of it."""
        bounds = np.cumsum([0, *layout.sizes])
        views = [
            ClientUpdate(str(k), [rows[k, a:b] for a, b in itertools.pairwise(bounds)], layout, 0)
            for k in range(rows.shape[0])
        ]
        return self.aggregate_layers(views, weights, layout, metrics)

    def _aggregate_updates(
        self, updates: list[ClientUpdate], layout: Layout, metrics: dict[str, Scalar], dropped: list[str]
    ) -> tuple[npt.NDArray[np.float32], list[ClientUpdate]]:
        if self.finite_output_proves_finite_inputs:
            self._check_count(updates)
            out = self.aggregate_layers(updates, self._weights(updates), layout, metrics)
            if np.isfinite(out).all():
                return out, updates
        updates = self._check_finite_layers(updates, dropped)
        self._check_count(updates)
        return self.aggregate_layers(updates, self._weights(updates), layout, metrics), updates
