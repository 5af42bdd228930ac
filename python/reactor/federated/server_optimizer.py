"""Server-side optimizers on the aggregated pseudo-gradient, with checkpointable state.

FedAvgM (Hsu et al. 2019) and FedAdagrad / FedYogi / FedAdam (Reddi et al. 2021, Algorithm 2).
The update runs fused in the engine, in place on the global parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from reactor import engine
from reactor.errors import InvalidArgumentError

__all__ = ["ServerOptimizer"]

Kind = Literal["fedavgm", "fedadagrad", "fedyogi", "fedadam"]


@dataclass
class ServerOptimizer:
    """``x += eta * m`` (fedavgm, momentum ``beta_1``) or ``x += eta * m / (sqrt(v) + tau)``.

    ``step(params, delta)`` takes the global float32 parameters and the aggregated client update
    ``delta`` (mean of ``x_i - x``) and updates ``params`` in place. The second moment starts at
    ``tau**2`` (the paper's ``v_{-1} >= tau^2``). ``state_dict`` / ``load_state_dict`` checkpoint it.
    """

    kind: Kind = "fedadam"
    eta: float = 1e-2
    beta_1: float = 0.9
    beta_2: float = 0.99
    tau: float = 1e-3
    _m: npt.NDArray[np.float32] | None = field(default=None, repr=False)
    _v: npt.NDArray[np.float32] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in engine.SERVER_OPTIMIZER_CODES:
            kinds = sorted(engine.SERVER_OPTIMIZER_CODES)
            message = f"kind must be one of {kinds}, got {self.kind!r}"
            raise InvalidArgumentError(f"[federated.ServerOptimizer] {message}")

    def step(self, params: npt.NDArray[np.float32], delta: Any) -> None:
        """Apply one round's update to ``params`` (float32, contiguous, writable) in place."""
        if self._m is None:
            self._m = np.zeros_like(params, dtype=np.float32)
            self._v = None if self.kind == "fedavgm" else np.full_like(params, self.tau**2, dtype=np.float32)
        engine.server_optimizer_step(
            self.kind,
            params,
            delta,
            self._m,
            self._v,
            eta=self.eta,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            tau=self.tau,
        )

    def state_dict(self) -> dict[str, Any]:
        """Hyper-parameters and moments, for a checkpoint."""
        return {
            "kind": self.kind,
            "eta": self.eta,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "tau": self.tau,
            "m": None if self._m is None else self._m.copy(),
            "v": None if self._v is None else self._v.copy(),
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> ServerOptimizer:
        """Rebuild an optimizer that continues exactly where ``state`` was taken."""
        optimizer = cls(state["kind"], state["eta"], state["beta_1"], state["beta_2"], state["tau"])
        optimizer._m = None if state["m"] is None else np.array(state["m"], dtype=np.float32)
        optimizer._v = None if state["v"] is None else np.array(state["v"], dtype=np.float32)
        return optimizer
