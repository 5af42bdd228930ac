"""Document signatures for deduplication: MinHash (scheme version 1) and 64-bit SimHash.

Documents are ragged: ``token_hashes`` (uint64, all documents' shingle hashes back to back) and
``offsets`` (int64, n + 1 entries: document j is ``token_hashes[offsets[j]:offsets[j + 1]]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from reactor import _mlforge
from reactor.engine._validate import check_count, check_uint64

__all__ = ["MINHASH_PRIME", "MINHASH_SCHEME_VERSION", "minhash", "minhash_permutations", "simhash"]

MINHASH_PRIME = (1 << 61) - 1
MINHASH_SCHEME_VERSION = 1


def minhash_permutations(
    num_perm: int, *, seed: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """The ``(a, b)`` of the permutations ``h_i(x) = (a_i * (x mod p) + b_i) mod p``, p = 2^61 - 1."""
    n = check_count("kernels.minhash_permutations", "num_perm", num_perm)
    a = np.empty(n, dtype=np.uint64)
    b = np.empty(n, dtype=np.uint64)
    _mlforge.minhash_permutations(check_uint64("kernels.minhash_permutations", "seed", seed), a, b)
    return a, b


def minhash(token_hashes: Any, offsets: Any, *, num_perm: int = 128, seed: int = 1) -> npt.NDArray[np.uint64]:
    """MinHash signatures, shape (n_documents, num_perm), uint64; empty documents get 2^64 - 1."""
    op = "kernels.minhash"
    perms = check_count(op, "num_perm", num_perm)
    signatures = np.empty((max(len(offsets) - 1, 0), perms), dtype=np.uint64)
    _mlforge.minhash(token_hashes, offsets, check_uint64(op, "seed", seed), signatures)
    return signatures


def simhash(token_hashes: Any, offsets: Any) -> npt.NDArray[np.uint64]:
    """64-bit SimHash fingerprint of each document (majority vote per bit, ties give 0)."""
    fingerprints = np.empty(max(len(offsets) - 1, 0), dtype=np.uint64)
    _mlforge.simhash(token_hashes, offsets, fingerprints)
    return fingerprints
