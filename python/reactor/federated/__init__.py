"""Federated learning on the MLForge aggregation engine.

``aggregate`` is the one entry point to every aggregation rule; the rules run in the engine, read
the client updates in place and accumulate in float64. Around it: an aggregation pipeline (clip ->
robust rule -> DP noise -> secure sum -> server optimizer), differential privacy with Opacus
accounting, client samplers, attacks for robustness evaluation, the Bonawitz et al. secure
aggregation protocol (:mod:`reactor.federated.secagg`) and an in-process simulator behind
``reactor fl simulate``.
"""

from __future__ import annotations

from typing import Any

from reactor.federated.aggregate import RULES, aggregate
from reactor.federated.attacks import LabelFlipDataset, apply_attack
from reactor.federated.config import FLSimulationConfig, load_fl_config
from reactor.federated.pipeline import AggregationPipeline, PipelineConfig, RoundReport, TooFewClientsError
from reactor.federated.privacy import AdaptiveClipping, PrivacyAccountant, clip_updates, gaussian_noise
from reactor.federated.sampling import (
    AvailabilityAwareSampler,
    PoissonSampler,
    SampleResult,
    UniformSampler,
    WeightedSampler,
)
from reactor.federated.server_optimizer import ServerOptimizer
from reactor.federated.simulation import SimulationResult, run_simulation
from reactor.federated.streaming import StreamingAggregator

# Secure aggregation needs the optional `cryptography` package (pip install ".[federated]"), so its
# names load on first use rather than with the package.
_SECAGG_NAMES = frozenset(
    {"DropoutPlan", "SecAggAbortError", "SecureSumResult", "run_secure_aggregation", "secure_sum"}
)


def __getattr__(name: str) -> Any:
    if name in _SECAGG_NAMES:
        from reactor.federated import secagg

        return getattr(secagg, name)
    raise AttributeError(f"module 'reactor.federated' has no attribute {name!r}")


__all__ = [
    "RULES",
    "AdaptiveClipping",
    "AggregationPipeline",
    "AvailabilityAwareSampler",
    "DropoutPlan",
    "FLSimulationConfig",
    "LabelFlipDataset",
    "PipelineConfig",
    "PoissonSampler",
    "PrivacyAccountant",
    "RoundReport",
    "SampleResult",
    "SecAggAbortError",
    "SecureSumResult",
    "ServerOptimizer",
    "SimulationResult",
    "StreamingAggregator",
    "TooFewClientsError",
    "UniformSampler",
    "WeightedSampler",
    "aggregate",
    "apply_attack",
    "clip_updates",
    "gaussian_noise",
    "load_fl_config",
    "run_secure_aggregation",
    "run_simulation",
    "secure_sum",
]
