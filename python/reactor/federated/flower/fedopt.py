"""Server-optimizer strategies (Reddi et al. 2021; Hsu et al. 2019) on the engine.

Each round: the weighted mean of the client models (engine, layer by layer, no copy of the
updates), the pseudo-gradient ``delta = mean - x``, and one fused in-place
:class:`reactor.federated.ServerOptimizer` step on the global model ``x``. Like Flower's ``FedOpt``
they need ``initial_parameters``. ``state_dict()`` checkpoints the optimizer and the model.

Flower's ``FedAdam`` also scales ``eta`` by Adam's bias correction ``sqrt(1-b2^t)/(1-b1^t)``;
the paper (and this class) does not. ``FedAvgM`` matches Flower's ``FedAvgM``
(``server_learning_rate`` = eta, ``server_momentum`` = beta_1).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from reactor.errors import InvalidArgumentError
from reactor.federated.flower.strategies import FedAvg
from reactor.federated.server_optimizer import ServerOptimizer

__all__ = ["FedAdagrad", "FedAdam", "FedAvgM", "FedOpt", "FedYogi"]


class FedOpt(FedAvg):
    """FedAvg followed by a server optimizer of kind ``kind`` (fedavgm, fedadagrad, fedyogi, fedadam)."""

    kind = "fedadam"

    def __init__(
        self,
        *,
        eta: float = 1e-1,
        beta_1: float = 0.9,
        beta_2: float = 0.99,
        tau: float = 1e-9,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("initial_parameters") is None:
            raise InvalidArgumentError(
                f"[federated.flower.{type(self).__name__}] initial_parameters are required: the server "
                "optimizer steps from the initial global model"
            )
        super().__init__(**kwargs)
        self.rule = self.kind
        self.optimizer = ServerOptimizer(self.kind, eta=eta, beta_1=beta_1, beta_2=beta_2, tau=tau)  # type: ignore[arg-type]

    def finish(self, server_round: int, aggregate: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """``x += step(mean - x)`` in place on the global model, which is returned."""
        x = self.global_model
        if x is None or x.shape != aggregate.shape:
            raise InvalidArgumentError(
                f"{self.op} the global model ({None if x is None else x.shape[0]} parameters) does not "
                f"match the clients' updates ({aggregate.shape[0]})"
            )
        np.subtract(aggregate, x, out=aggregate)  # the pseudo-gradient, in the aggregate's buffer
        self.optimizer.step(x, aggregate)
        return x

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state and the current global model (flat float32), for a checkpoint."""
        model = self.global_model
        return {"optimizer": self.optimizer.state_dict(), "model": None if model is None else model.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue exactly where ``state`` was taken (same layer layout required)."""
        self.optimizer = ServerOptimizer.from_state_dict(state["optimizer"])
        if state["model"] is not None:
            model = np.array(state["model"], dtype=np.float32)
            if self._layout is not None and model.shape[0] != self._layout.dim:
                raise InvalidArgumentError(
                    f"{self.op} checkpoint model has {model.shape[0]} parameters, expected {self._layout.dim}"
                )
            self._global = model


class FedAdam(FedOpt):
    """FedAdam: ``v = b2 v + (1 - b2) d^2``; ``x += eta m / (sqrt(v) + tau)``."""

    kind = "fedadam"


class FedYogi(FedOpt):
    """FedYogi: ``v = v - (1 - b2) d^2 sign(v - d^2)``; ``x += eta m / (sqrt(v) + tau)``."""

    kind = "fedyogi"


class FedAdagrad(FedOpt):
    """FedAdagrad: ``v = v + d^2``; ``x += eta m / (sqrt(v) + tau)``."""

    kind = "fedadagrad"


class FedAvgM(FedOpt):
    """FedAvgM: ``m = momentum m + d``; ``x += lr m`` (Flower's ``FedAvgM`` semantics)."""

    kind = "fedavgm"

    def __init__(
        self, *, server_learning_rate: float = 1.0, server_momentum: float = 0.0, **kwargs: Any
    ) -> None:
        super().__init__(eta=server_learning_rate, beta_1=server_momentum, **kwargs)
