"""Flower strategies whose aggregation runs in the MLForge engine.

    from reactor.federated.flower import FedAvg, Krum, DPFixedClipping
    strategy = Krum(f=2, min_fit_clients=10, min_available_clients=10)
    # ... flwr.server.ServerApp(config=ServerConfig(num_rounds=5), strategy=strategy)

Each strategy is a ``flwr.server.strategy.FedAvg`` (same keyword arguments for sampling,
configuration and evaluation) whose ``aggregate_fit`` decodes the clients' parameters without
copying where it can (see :mod:`reactor.federated.flower._convert`), validates them (a bad reply
raises ``InvalidArgumentError`` naming the client, or with ``on_bad_client="drop"`` is dropped and
reported in the round's metrics) and aggregates in the engine with weights = ``num_examples``.
Needs the ``flower`` extra (``pip install reactor[flower]``).
"""

from __future__ import annotations

try:
    import flwr  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "reactor.federated.flower needs Flower: pip install 'reactor[flower]' (or flwr>=1.20)"
    ) from error

from reactor.federated.flower._convert import ClientUpdate, Layout, decode_parameters
from reactor.federated.flower.base import BadClientPolicy, EngineStrategy, LayerwiseStrategy, RowStrategy
from reactor.federated.flower.dp import DPFixedClipping
from reactor.federated.flower.fedopt import FedAdagrad, FedAdam, FedAvgM, FedOpt, FedYogi
from reactor.federated.flower.strategies import (
    Bulyan,
    CenteredClipping,
    FedAvg,
    FedMedian,
    FedTrimmedAvg,
    GeometricMedian,
    Krum,
    MultiKrum,
)

__all__ = [
    "BadClientPolicy",
    "Bulyan",
    "CenteredClipping",
    "ClientUpdate",
    "DPFixedClipping",
    "EngineStrategy",
    "FedAdagrad",
    "FedAdam",
    "FedAvg",
    "FedAvgM",
    "FedMedian",
    "FedOpt",
    "FedTrimmedAvg",
    "FedYogi",
    "GeometricMedian",
    "Krum",
    "LayerwiseStrategy",
    "Layout",
    "MultiKrum",
    "RowStrategy",
    "decode_parameters",
]
