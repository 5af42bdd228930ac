"""Secure aggregation (Bonawitz et al. 2017) with the Bell et al. 2020 k-regular graph option.

The server learns only the sum of the surviving clients' inputs: each client masks its quantized
update with a self mask and pairwise masks (ChaCha20 keystreams of X25519-agreed seeds) that cancel in
the sum, and Shamir-shares what the server needs to remove the masks of clients that drop out.

- :func:`secure_sum`: weighted sum of float updates through the protocol, in process (for the FL
  simulation);
- :func:`run_secure_aggregation`: one round with scripted dropouts, returning the aggregate and the
  transcript;
- :class:`SecAggClient`, :class:`SecAggServer` and the message dataclasses: the parties themselves.
"""

from __future__ import annotations

from reactor.federated.secagg.client import SecAggClient
from reactor.federated.secagg.errors import (
    DecryptionError,
    ProtocolViolationError,
    SecAggAbortError,
    SecAggError,
)
from reactor.federated.secagg.graph import build_graph, complete_graph, harary_graph
from reactor.federated.secagg.masking import add_mod, dequantize, expand_mask, quantize
from reactor.federated.secagg.protocol import (
    DropoutPlan,
    SecAggResult,
    SecureSumResult,
    Transcript,
    TranscriptRecord,
    run_secure_aggregation,
    secure_sum,
)
from reactor.federated.secagg.server import SecAggServer, ServerOutput

__all__ = [
    "DecryptionError",
    "DropoutPlan",
    "ProtocolViolationError",
    "SecAggAbortError",
    "SecAggClient",
    "SecAggError",
    "SecAggResult",
    "SecAggServer",
    "SecureSumResult",
    "ServerOutput",
    "Transcript",
    "TranscriptRecord",
    "add_mod",
    "build_graph",
    "complete_graph",
    "dequantize",
    "expand_mask",
    "harary_graph",
    "quantize",
    "run_secure_aggregation",
    "secure_sum",
]
