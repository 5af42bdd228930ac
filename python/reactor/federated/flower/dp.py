"""Server-side DP with fixed clipping around any engine-backed strategy (Flower's
``DifferentialPrivacyServerSideFixedClipping`` semantics, on the engine).

Per round, with global model ``x``, clipping norm ``S``, noise multiplier ``z`` and ``m`` sampled
clients: each update ``d_i = x_i - x`` is clipped to L2 norm ``S`` in the engine (in place, in the
one (K, D) buffer), the inner strategy's rule aggregates the models ``x + clip(d_i)``, and
``N(0, (z S / m)^2)`` is added to the aggregate. The noise is the engine's counter-based stream
``normal(D, seed=seed, stream=server_round)`` (:func:`reactor.federated.privacy.gaussian_noise`):
reproducible per ``(seed, round)`` whatever the thread count. The (epsilon, delta) of a run comes
from :class:`reactor.federated.privacy.PrivacyAccountant`; the guarantee is that of DP-FedAvg when
the inner rule is an equal-weight mean (``FedAvg(weighted=False)``), as in Flower.
"""

from __future__ import annotations

import math

import numpy as np
from flwr.common import EvaluateIns, EvaluateRes, FitIns, FitRes, Parameters, Scalar
from flwr.server.client_manager import ClientManager
from flwr.server.client_proxy import ClientProxy
from flwr.server.strategy import Strategy

from reactor import engine
from reactor.errors import InvalidArgumentError
from reactor.federated.flower._convert import layers_to_parameters, pack_rows
from reactor.federated.flower.base import EngineStrategy
from reactor.federated.privacy import clip_updates, gaussian_noise

__all__ = ["DPFixedClipping"]


class DPFixedClipping(Strategy):
    """Wrap an engine strategy: clip each client's update to ``clipping_norm``, aggregate with the
    inner rule, add Gaussian noise of std ``noise_multiplier * clipping_norm / num_sampled_clients``.

    Metrics per round: ``reactor_dp_clipped`` (updates that were scaled down), ``reactor_dp_noise_std``.
    """

    def __init__(
        self,
        strategy: EngineStrategy,
        *,
        noise_multiplier: float,
        clipping_norm: float,
        num_sampled_clients: int,
        seed: int = 0,
    ) -> None:
        super().__init__()
        op = "[federated.flower.DPFixedClipping]"
        if not isinstance(strategy, EngineStrategy):
            raise InvalidArgumentError(
                f"{op} strategy must be a reactor.federated.flower strategy, got {type(strategy).__name__}"
            )
        for name, value in (("noise_multiplier", noise_multiplier), ("clipping_norm", clipping_norm)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise InvalidArgumentError(f"{op} {name} must be a finite number >= 0, got {value!r}")
        if not clipping_norm > 0:
            raise InvalidArgumentError(f"{op} clipping_norm must be > 0, got {clipping_norm!r}")
        if isinstance(num_sampled_clients, bool) or not (
            isinstance(num_sampled_clients, int) and num_sampled_clients > 0
        ):
            raise InvalidArgumentError(
                f"{op} num_sampled_clients must be an integer > 0, got {num_sampled_clients!r}"
            )
        self.op = op
        self.strategy = strategy
        self.noise_multiplier = float(noise_multiplier)
        self.clipping_norm = float(clipping_norm)
        self.num_sampled_clients = int(num_sampled_clients)
        self.seed = int(seed)

    def __repr__(self) -> str:
        return f"DPFixedClipping({self.strategy!r}, z={self.noise_multiplier}, S={self.clipping_norm})"

    @property
    def noise_std(self) -> float:
        """Standard deviation of the noise on the aggregate: ``z * S / m``."""
        return self.noise_multiplier * self.clipping_norm / self.num_sampled_clients

    # Everything but aggregate_fit is the inner strategy's.
    def initialize_parameters(self, client_manager: ClientManager) -> Parameters | None:
        """The inner strategy's initial parameters."""
        return self.strategy.initialize_parameters(client_manager)

    def configure_fit(
        self, server_round: int, parameters: Parameters, client_manager: ClientManager
    ) -> list[tuple[ClientProxy, FitIns]]:
        """The inner strategy's sampling (it records the global model the updates are clipped around)."""
        return self.strategy.configure_fit(server_round, parameters, client_manager)

    def configure_evaluate(
        self, server_round: int, parameters: Parameters, client_manager: ClientManager
    ) -> list[tuple[ClientProxy, EvaluateIns]]:
        """The inner strategy's evaluation configuration."""
        return self.strategy.configure_evaluate(server_round, parameters, client_manager)

    def aggregate_evaluate(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, EvaluateRes]],
        failures: list[tuple[ClientProxy, EvaluateRes] | BaseException],
    ) -> tuple[float | None, dict[str, Scalar]]:
        """The inner strategy's evaluation aggregation."""
        return self.strategy.aggregate_evaluate(server_round, results, failures)

    def evaluate(self, server_round: int, parameters: Parameters) -> tuple[float, dict[str, Scalar]] | None:
        """The inner strategy's centralised evaluation."""
        return self.strategy.evaluate(server_round, parameters)

    def aggregate_fit(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, FitRes]],
        failures: list[tuple[ClientProxy, FitRes] | BaseException],
    ) -> tuple[Parameters | None, dict[str, Scalar]]:
        """Clip around the global model, aggregate with the inner rule, add noise keyed by (seed, round)."""
        inner = self.strategy
        if not results or (not inner.accept_failures and failures):
            return None, {}
        dropped: list[str] = []
        updates, layout = inner._decode(results, dropped)
        x = inner.global_model
        if x is None or layout is None:
            raise InvalidArgumentError(
                f"{self.op} needs the global model to clip around: pass initial_parameters to the inner "
                "strategy or let the server call configure_fit first"
            )
        if x.shape[0] != layout.dim:
            raise InvalidArgumentError(
                f"{self.op} the global model has {x.shape[0]} parameters, updates {layout.dim}"
            )
        inner._check_count(updates)
        rows = pack_rows(updates, layout)  # the one copy of the updates
        finite = np.isfinite(engine.row_norms(rows))
        if not finite.all():
            updates = inner._drop_nonfinite(updates, finite, dropped)
            rows = np.ascontiguousarray(rows[finite])
            inner._check_count(updates)
        rows -= x  # d_i = x_i - x, in place
        clipped = clip_updates(rows, self.clipping_norm)  # engine, in place
        rows += x  # the clipped models x + clip(d_i), as Flower hands them to the inner rule
        metrics: dict[str, Scalar] = {}
        inner.last_selected = None
        weights = np.array([u.num_examples for u in updates], dtype=np.float64)
        aggregate = inner.aggregate_matrix(rows, weights, layout, metrics)
        del rows
        aggregate += gaussian_noise(layout.dim, self.noise_std, seed=self.seed, round_index=server_round)
        new_model = inner.finish(server_round, aggregate)
        inner._global, inner._layout = new_model, layout
        if inner.last_selected is not None:
            metrics["reactor_selected_clients"] = "; ".join(updates[int(i)].name for i in inner.last_selected)
        if inner.fit_metrics_aggregation_fn is not None:
            metrics.update(inner.fit_metrics_aggregation_fn([(u.num_examples, u.metrics) for u in updates]))
        metrics["reactor_num_clients"] = len(updates)
        metrics["reactor_num_dropped"] = len(dropped)
        if dropped:
            metrics["reactor_dropped_clients"] = "; ".join(dropped)
        metrics["reactor_dp_clipped"] = int((~clipped.unclipped).sum())
        metrics["reactor_dp_noise_std"] = self.noise_std
        return layers_to_parameters(new_model, layout), metrics
