"""Configuration of ``reactor fl simulate``: one pydantic section per part of the experiment,
filled from a TOML/YAML file and ``--set section.key=value`` overrides (errors name the field).

A config file looks like::

    [data]
    num_clients = 20
    dirichlet_alpha = 0.5

    [sampling]
    kind = "uniform"
    clients_per_round = 10

    [attack]
    kind = "sign_flip"
    fraction = 0.2
    scale = 4.0

    [aggregation]
    rule = "median"
    on_bad_update = "drop"

    [aggregation.dp]
    enabled = false

    [run]
    rounds = 20
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from reactor.federated.attacks import AttackKind
from reactor.federated.pipeline import PipelineConfig
from reactor.train.config import Section, load_run_config

__all__ = [
    "AttackSettings",
    "ClientSettings",
    "FLDataSettings",
    "FLModelSettings",
    "FLRunSettings",
    "FLSimulationConfig",
    "SamplingSettings",
    "load_fl_config",
]


class FLDataSettings(Section):
    """The synthetic task: a Gaussian-mixture classification problem split non-IID over clients.

    Class ``c`` has mean ``mu_c ~ N(0, class_separation^2 I)``; an example is ``mu_c + N(0, I)``.
    Client ``k`` draws its label proportions from ``Dirichlet(dirichlet_alpha)`` (small alpha: few
    classes per client) and its size from a log-normal around ``samples_per_client``.
    """

    num_clients: int = Field(default=20, ge=2)
    samples_per_client: int = Field(default=100, ge=8, description="Median client dataset size.")
    size_spread: float = Field(default=0.5, ge=0, description="Log-normal sigma of client sizes.")
    num_classes: int = Field(default=4, ge=2)
    dim: int = Field(default=16, ge=2, description="Feature dimension.")
    class_separation: float = Field(default=1.0, gt=0)
    dirichlet_alpha: float = Field(default=0.5, gt=0, description="Label skew: smaller is less IID.")
    test_samples: int = Field(default=2000, ge=10)


class FLModelSettings(Section):
    """The MLP every client trains: dim -> hidden (ReLU) -> num_classes."""

    hidden: int = Field(default=32, ge=1)


class ClientSettings(Section):
    """Local training on a client: plain SGD for ``local_epochs`` epochs."""

    local_epochs: int = Field(default=1, ge=1)
    batch_size: int = Field(default=32, ge=1)
    learning_rate: float = Field(default=0.1, gt=0)


class SamplingSettings(Section):
    """Which clients take part in a round (see :mod:`reactor.federated.sampling`)."""

    kind: Literal["uniform", "weighted", "poisson"] = "uniform"
    clients_per_round: int = Field(default=10, ge=1, description="uniform / weighted.")
    rate: float = Field(default=0.5, gt=0, le=1, description="poisson: each client's probability.")
    availability: float | list[float] | None = Field(
        default=None, description="Probability a client is online in a round (one for all, or per client)."
    )

    @model_validator(mode="after")
    def _probabilities(self) -> SamplingSettings:
        values = (
            [self.availability] if isinstance(self.availability, float | int) else self.availability or []
        )
        bad = [p for p in values if not 0.0 <= p <= 1.0]
        if bad:
            raise ValueError(f"availability values must be in [0, 1], got {bad[0]}")
        return self


class AttackSettings(Section):
    """Byzantine clients: a fixed ``fraction`` of all clients, chosen from the run seed."""

    kind: AttackKind = "none"
    fraction: float = Field(default=0.0, ge=0, lt=1)
    scale: float = Field(default=1.0, gt=0, description="sign_flip / scaled factor.")
    std: float = Field(default=1.0, gt=0, description="gaussian: std of the random update.")
    epsilon: float = Field(default=0.1, gt=0, description="ipm: -epsilon * mean(honest).")
    z_max: float | None = Field(default=None, description="alie: override Baruch et al.'s z_max.")


class FLRunSettings(Section):
    """Rounds, seed and outputs."""

    rounds: int = Field(default=20, ge=1)
    seed: int = Field(default=0, ge=0)
    out_dir: Path = Path("runs/fl")
    progress: bool = True


class FLSimulationConfig(Section):
    """Everything ``reactor fl simulate`` reads."""

    data: FLDataSettings = Field(default_factory=FLDataSettings)
    model: FLModelSettings = Field(default_factory=FLModelSettings)
    client: ClientSettings = Field(default_factory=ClientSettings)
    sampling: SamplingSettings = Field(default_factory=SamplingSettings)
    attack: AttackSettings = Field(default_factory=AttackSettings)
    aggregation: PipelineConfig = Field(default_factory=PipelineConfig)
    run: FLRunSettings = Field(default_factory=FLRunSettings)

    @model_validator(mode="after")
    def _fits(self) -> FLSimulationConfig:
        n = self.data.num_clients
        if self.sampling.kind != "poisson" and self.sampling.clients_per_round > n:
            raise ValueError(
                f"sampling.clients_per_round ({self.sampling.clients_per_round}) exceeds "
                f"data.num_clients ({n})"
            )
        if isinstance(self.sampling.availability, list) and len(self.sampling.availability) != n:
            raise ValueError(
                f"sampling.availability has {len(self.sampling.availability)} values, expected one per "
                f"client ({n})"
            )
        return self


def load_fl_config(
    path: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
) -> FLSimulationConfig:
    """Defaults < the TOML/YAML file at ``path`` < ``overrides`` < ``out_dir``; errors name the field."""
    extra = dict(overrides or {})
    if out_dir is not None:
        extra.setdefault("run", {})["out_dir"] = str(out_dir)
    return load_run_config(FLSimulationConfig, path, extra, relative_paths=(("run", "out_dir"),))
