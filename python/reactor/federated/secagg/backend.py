"""The single switch point for the mask arithmetic used by the secure aggregation protocol.

:mod:`reactor.federated.secagg.client` and :mod:`reactor.federated.secagg.server` import these four
functions from here and nowhere else. To run on the engine, import them from
``reactor.engine.secure_agg`` instead of ``masking`` (same names, same keystream and encoding
convention — see :mod:`reactor.federated.secagg.masking`).
"""

from __future__ import annotations

from reactor.federated.secagg.masking import add_mod, dequantize, expand_mask, quantize

__all__ = ["add_mod", "dequantize", "expand_mask", "quantize"]
