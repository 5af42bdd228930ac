"""Federated learning on the MLForge aggregation engine.

``aggregate`` is the one entry point to every aggregation rule; the rules run in the engine, read
the client updates in place and accumulate in float64.
"""

from __future__ import annotations

from reactor.federated.aggregate import RULES, aggregate
from reactor.federated.server_optimizer import ServerOptimizer
from reactor.federated.streaming import StreamingAggregator

__all__ = ["RULES", "ServerOptimizer", "StreamingAggregator", "aggregate"]
