"""The dedup engine (``mlforge/dedup.h``): tokenisation, exact fingerprints, MinHash, SimHash, LSH.

Documents go in as a list (or tuple) of ``str`` or ``bytes`` and are read in place (no copy);
results come back as numpy arrays owning engine memory. :mod:`reactor.data.dedup` builds on these.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from reactor import _mlforge
from reactor.engine._validate import check_count, check_finite, check_uint64
from reactor.errors import InvalidArgumentError

__all__ = [
    "MINHASH_SCHEME",
    "ExactFingerprints",
    "MinHashIndex",
    "MinHashResult",
    "SimHashResult",
    "Texts",
    "Tokens",
    "choose_lsh_params",
    "exact_fingerprints",
    "lsh_probability",
    "minhash",
    "minhash_coefficients",
    "semantic_clusters",
    "simhash",
    "simhash_clusters",
    "tokenize",
    "tokenizer_name",
]

#: The signature scheme version (``minhash-v2``): 32-bit bijective permutations of folded 64-bit
#: shingle hashes. Stored in every index; signatures of different schemes never mix.
MINHASH_SCHEME = 2

#: Documents as the engine takes them.
Texts = Sequence[str] | Sequence[bytes]

#: ``MinHashIndex(num_perm, bands, rows, threshold, verify, scheme)``: the engine's near-duplicate
#: index (``add``, ``query``, ``clusters``, ``merge``, ``save``, ``load``, ``stats``).
MinHashIndex = _mlforge.MinHashIndex


def _texts(texts: Texts) -> list[str] | list[bytes] | tuple:
    # The engine reads lists and tuples in place, and Arrow string arrays through their buffers; any
    # other iterable is materialised once. A lone string is refused rather than read as a list of
    # one-character documents.
    if isinstance(texts, (str, bytes)):
        kind = type(texts).__name__
        raise TypeError(f"[dedup] texts must be a sequence of str or bytes, got a single {kind}")
    if isinstance(texts, (list, tuple)):
        return texts
    arrow = _arrow_buffers(texts)
    return arrow if arrow is not None else list(texts)


def _arrow_buffers(texts: object) -> tuple[np.ndarray, np.ndarray] | None:
    """``(data, offsets)`` views of a pyarrow string/binary array, or None for anything else."""
    pa = sys.modules.get("pyarrow")  # only when the caller uses pyarrow: never imported here
    if pa is None or not isinstance(texts, (pa.Array, pa.ChunkedArray)):
        return None
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    kind = texts.type
    if not (pa.types.is_string(kind) or pa.types.is_binary(kind)) and not (
        pa.types.is_large_string(kind) or pa.types.is_large_binary(kind)
    ):
        raise TypeError(f"[dedup] an Arrow texts array must hold strings or binaries, got {kind}")
    if texts.null_count:
        first_null = int(np.flatnonzero(texts.is_null().to_numpy(zero_copy_only=False))[0])
        raise InvalidArgumentError(f"[dedup] texts[{first_null}] is null")
    large = pa.types.is_large_string(kind) or pa.types.is_large_binary(kind)
    _, offsets_buffer, data_buffer = texts.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64 if large else np.int32)
    offsets = offsets[texts.offset : texts.offset + len(texts) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    return data, offsets


@dataclass(frozen=True)
class Tokens:
    """Ragged tokens: document ``j`` owns ``hashes[doc_offsets[j]:doc_offsets[j + 1]]``."""

    hashes: npt.NDArray[np.uint64]
    begin: npt.NDArray[np.int64]  #: byte offset of each token in its original document
    end: npt.NDArray[np.int64]
    doc_offsets: npt.NDArray[np.int64]
    invalid_utf8: npt.NDArray[np.int64]  #: documents whose invalid bytes were replaced


@dataclass(frozen=True)
class ExactFingerprints:
    """128-bit fingerprints (``lo``, ``hi``) of normalised units with their byte spans, ragged by document."""

    lo: npt.NDArray[np.uint64]
    hi: npt.NDArray[np.uint64]
    begin: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    doc_offsets: npt.NDArray[np.int64]
    invalid_utf8: npt.NDArray[np.int64]


@dataclass(frozen=True)
class MinHashResult:
    """Signatures ``[n, num_perm]`` (uint32) and, when asked for, the CSR shingle sets."""

    signatures: npt.NDArray[np.uint32]
    set_values: npt.NDArray[np.uint32]
    set_offsets: npt.NDArray[np.int64]
    invalid_utf8: npt.NDArray[np.int64]
    scheme: str  #: e.g. ``minhash-v2/words-v1/n5/p128/s0``

    @property
    def empty(self) -> npt.NDArray[np.bool_]:
        """Documents without a single shingle (their signature is all ``0xFFFFFFFF``)."""
        return np.all(self.signatures == np.uint32(0xFFFFFFFF), axis=1)


@dataclass(frozen=True)
class SimHashResult:
    """64-bit fingerprints; ``empty`` flags documents without shingles (never anyone's duplicate)."""

    fingerprints: npt.NDArray[np.uint64]
    empty: npt.NDArray[np.uint8]
    invalid_utf8: npt.NDArray[np.int64]


def tokenizer_name(name: str) -> str:
    """The canonical name of a tokenizer configuration (``words-v1``, ``chars-v1+accents``...)."""
    return str(_mlforge.dedup_tokenizer_name(name))


def tokenize(texts: Texts, *, tokenizer: str = "words-v1", replace_invalid: bool = False) -> Tokens:
    """Normalised token hashes of every document with their byte spans."""
    return Tokens(*_mlforge.dedup_tokenize(_texts(texts), tokenizer, bool(replace_invalid)))


def exact_fingerprints(
    texts: Texts, *, level: str = "document", tokenizer: str = "words-v1", replace_invalid: bool = False
) -> ExactFingerprints:
    """128-bit fingerprints of each document, paragraph or line (``level``) of normalised text."""
    return ExactFingerprints(
        *_mlforge.dedup_exact_fingerprints(_texts(texts), tokenizer, level, bool(replace_invalid))
    )


def minhash(
    texts: Texts,
    *,
    num_perm: int = 128,
    ngram: int = 5,
    seed: int = 0,
    tokenizer: str = "words-v1",
    with_sets: bool = False,
    replace_invalid: bool = False,
) -> MinHashResult:
    """MinHash signatures (scheme minhash-v2) and optionally the shingle sets, in one pass."""
    op = "dedup.minhash"
    result = _mlforge.dedup_minhash(
        _texts(texts),
        _positive(op, "num_perm", num_perm),
        _positive(op, "ngram", ngram),
        check_uint64(op, "seed", seed),
        tokenizer,
        bool(with_sets),
        bool(replace_invalid),
    )
    return MinHashResult(*result)


def minhash_coefficients(seed: int, num_perm: int) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """``(a, b)`` of permutation i: ``mix32(a_i * x + b_i mod 2^32)`` (for reference implementations)."""
    op = "dedup.minhash"
    a, b = _mlforge.dedup_minhash_coefficients(
        check_uint64(op, "seed", seed), _positive(op, "num_perm", num_perm)
    )
    return a, b


def simhash(
    texts: Texts, *, ngram: int = 3, tokenizer: str = "words-v1", replace_invalid: bool = False
) -> SimHashResult:
    """64-bit SimHash of each document's shingles (0 for a document without shingles)."""
    return SimHashResult(
        *_mlforge.dedup_simhash(
            _texts(texts), _positive("dedup.simhash", "ngram", ngram), tokenizer, bool(replace_invalid)
        )
    )


def simhash_clusters(
    fingerprints: npt.ArrayLike, empty: npt.ArrayLike, *, max_distance: int = 3
) -> npt.NDArray[np.int64]:
    """Cluster id (smallest member) per document; fingerprints within ``max_distance`` bits are linked."""
    fp = np.ascontiguousarray(fingerprints, dtype=np.uint64)
    flags = np.ascontiguousarray(empty, dtype=np.uint8)
    distance = check_count("dedup.simhash_clusters", "max_distance", max_distance)
    return _mlforge.dedup_simhash_clusters(fp, flags, min(distance, 2**31 - 1))


def semantic_clusters(
    embeddings: npt.ArrayLike, assignments: npt.ArrayLike, *, threshold: float
) -> npt.NDArray[np.int64]:
    """Cluster id (smallest member) per row: rows with the same assignment and cosine similarity at
    least ``threshold`` are linked, transitively (the in-cluster search of SemDeDup).
    """
    e = np.ascontiguousarray(embeddings, dtype=np.float32)
    a = np.ascontiguousarray(assignments, dtype=np.int64)
    return _mlforge.dedup_semantic_clusters(
        e, a, check_finite("dedup.semantic_clusters", "threshold", threshold)
    )


def lsh_probability(bands: int, rows: int, similarity: float) -> float:
    """P(two documents with Jaccard ``similarity`` share a band) = 1 - (1 - s^rows)^bands."""
    op = "dedup.lsh"
    return float(
        _mlforge.dedup_lsh_probability(
            _positive(op, "bands", bands),
            _positive(op, "rows", rows),
            check_finite(op, "similarity", similarity),
        )
    )


def choose_lsh_params(threshold: float, num_perm: int, target_recall: float) -> tuple[int, int]:
    """``(bands, rows)`` with P(threshold) >= target_recall and the least false-positive area."""
    op = "dedup.lsh"
    bands, rows = _mlforge.dedup_choose_lsh_params(
        check_finite(op, "threshold", threshold),
        _positive(op, "num_perm", num_perm),
        check_finite(op, "target_recall", target_recall),
    )
    return int(bands), int(rows)


def _positive(op: str, name: str, value: int) -> int:
    count = check_count(op, name, value)
    if not 1 <= count < 2**31:
        raise InvalidArgumentError(f"[{op}] {name} must be a positive integer, got {value!r}")
    return count
