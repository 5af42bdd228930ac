"""Data curation for training corpora: deduplication, decontamination and quality filtering.

:mod:`reactor.data.dedup` holds the dedup functions on the MLForge engine.
"""

from __future__ import annotations

from reactor.data.dedup import (
    LshParams,
    NearDuplicateIndex,
    exact_duplicates,
    keep_mask,
    lsh_params,
    minhash_signatures,
    near_duplicates,
    s_curve,
    simhash_duplicates,
)

__all__ = [
    "LshParams",
    "NearDuplicateIndex",
    "exact_duplicates",
    "keep_mask",
    "lsh_params",
    "minhash_signatures",
    "near_duplicates",
    "s_curve",
    "simhash_duplicates",
]
