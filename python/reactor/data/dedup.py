"""Deduplication of text corpora on the MLForge engine: exact, MinHash-LSH and SimHash.

Everything heavy (normalisation, tokenisation, shingling, hashing, banding, verification,
clustering) runs in C++ over the whole batch with the GIL released; Python only passes the texts.

Cluster ids: every function that clusters returns one int64 per text, the index of the smallest
text in its cluster, so a text with no duplicate has its own index as id and the first copy of a
cluster keeps it. :func:`keep_mask` turns ids into "which text to keep" under a keep rule.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from reactor.engine import dedup as _engine
from reactor.engine._validate import check_finite
from reactor.errors import InvalidArgumentError

__all__ = [
    "KeepRule",
    "LshParams",
    "NearDuplicateIndex",
    "Verify",
    "exact_duplicates",
    "first_of_equal",
    "keep_mask",
    "lsh_params",
    "minhash_signatures",
    "near_duplicates",
    "s_curve",
    "simhash_duplicates",
]

Verify = Literal["jaccard", "minhash", "none"]
KeepRule = Literal["first", "longest", "score"]
Texts = _engine.Texts


@dataclass(frozen=True)
class LshParams:
    """LSH banding: ``bands`` bands of ``rows`` signature rows each."""

    bands: int
    rows: int

    def probability(self, similarity: float) -> float:
        """Chance that two texts with this Jaccard similarity become candidates."""
        return _engine.lsh_probability(self.bands, self.rows, similarity)


def _check_threshold(op: str, threshold: float) -> float:
    value = check_finite(op, "threshold", threshold)
    if not 0.0 < value <= 1.0:
        raise InvalidArgumentError(f"[{op}] threshold must be in (0, 1], got {threshold!r}")
    return value


def lsh_params(
    threshold: float = 0.8,
    num_perm: int = 128,
    *,
    target_recall: float = 0.95,
    bands: int | None = None,
    rows: int | None = None,
) -> LshParams:
    """Banding for a threshold: given ``bands`` and ``rows``, or the (bands, rows) whose S-curve reaches
    ``target_recall`` at the threshold with the smallest false-positive area below it.
    """
    op = "data.dedup.lsh_params"
    _check_threshold(op, threshold)
    if (bands is None) != (rows is None):
        raise InvalidArgumentError(
            f"[{op}] give both bands and rows or neither, got bands={bands}, rows={rows}"
        )
    if bands is not None and rows is not None:
        if bands < 1 or rows < 1 or bands * rows > num_perm:
            raise InvalidArgumentError(
                f"[{op}] bands x rows must be positive and at most num_perm={num_perm}, got {bands} x {rows}"
            )
        return LshParams(int(bands), int(rows))
    return LshParams(*_engine.choose_lsh_params(threshold, num_perm, target_recall))


def s_curve(params: LshParams, similarities: npt.ArrayLike | None = None) -> npt.NDArray[np.float64]:
    """``[[s, P(candidate | s)], ...]`` over ``similarities`` (default 0, 0.05, ..., 1): the S-curve."""
    grid = np.linspace(0.0, 1.0, 21) if similarities is None else np.asarray(similarities, dtype=np.float64)
    return np.array([[s, params.probability(float(s))] for s in grid], dtype=np.float64).reshape(-1, 2)


def minhash_signatures(
    texts: Texts, num_perm: int = 128, ngram: int = 5, seed: int = 0, *, tokenizer: str = "words-v1"
) -> npt.NDArray[np.uint32]:
    """MinHash signatures, shape ``(len(texts), num_perm)``, uint32 (scheme minhash-v2).

    Shingles are word ``ngram``-grams of the normalised text (``tokenizer``: ``words-v1`` case-folds and
    drops punctuation; ``chars-v1`` gives character n-grams for scripts without spaces). A text without
    tokens gets ``0xFFFFFFFF`` in every column.
    """
    return _engine.minhash(texts, num_perm=num_perm, ngram=ngram, seed=seed, tokenizer=tokenizer).signatures


def near_duplicates(
    texts: Texts,
    threshold: float = 0.8,
    num_perm: int = 128,
    ngram: int = 5,
    seed: int = 0,
    *,
    bands: int | None = None,
    rows: int | None = None,
    target_recall: float = 0.95,
    verify: Verify = "jaccard",
    tokenizer: str = "words-v1",
) -> npt.NDArray[np.int64]:
    """Cluster id per text: texts with the same id are near-duplicates (Jaccard of shingle sets at least
    ``threshold``, transitively); a text with no duplicate has an id of its own (its index).

    Candidates come from MinHash LSH (:func:`lsh_params`) and are verified by exact Jaccard on the
    shingle sets (``verify="jaccard"``), by the signature estimate (``"minhash"``) or not at all.
    """
    index = NearDuplicateIndex(
        threshold,
        num_perm,
        ngram,
        seed,
        bands=bands,
        rows=rows,
        target_recall=target_recall,
        verify=verify,
        tokenizer=tokenizer,
    )
    index.add(texts)
    return index.clusters()


def exact_duplicates(
    texts: Texts, *, tokenizer: str = "words-v1", replace_invalid: bool = False
) -> npt.NDArray[np.int64]:
    """Cluster id per text for identical normalised text (128-bit fingerprints of the token stream)."""
    prints = _engine.exact_fingerprints(
        texts, level="document", tokenizer=tokenizer, replace_invalid=replace_invalid
    )
    return first_of_equal(prints.lo, prints.hi)


def simhash_duplicates(
    texts: Texts, *, max_distance: int = 3, ngram: int = 3, tokenizer: str = "words-v1"
) -> npt.NDArray[np.int64]:
    """Cluster id per text; texts whose 64-bit SimHash differ in at most ``max_distance`` bits are linked."""
    result = _engine.simhash(texts, ngram=ngram, tokenizer=tokenizer)
    return _engine.simhash_clusters(result.fingerprints, result.empty, max_distance=max_distance)


def keep_mask(
    cluster_ids: npt.ArrayLike,
    rule: KeepRule = "first",
    *,
    lengths: npt.ArrayLike | None = None,
    scores: npt.ArrayLike | None = None,
) -> npt.NDArray[np.bool_]:
    """One ``True`` per cluster: the first text (``"first"``), the longest (``"longest"``, needs
    ``lengths``) or the highest-scoring (``"score"``, needs ``scores``); ties go to the earliest text.
    """
    op = "data.dedup.keep_mask"
    ids = np.asarray(cluster_ids, dtype=np.int64)
    n = ids.shape[0]
    order = np.arange(n)
    if rule == "first":
        key = np.zeros(n)
    elif rule in ("longest", "score"):
        values = lengths if rule == "longest" else scores
        name = "lengths" if rule == "longest" else "scores"
        if values is None:
            raise InvalidArgumentError(f"[{op}] rule={rule!r} needs {name}")
        key = -np.asarray(values, dtype=np.float64)
        if key.shape != (n,) or not np.all(np.isfinite(key)):
            raise InvalidArgumentError(f"[{op}] {name} must be {n} finite numbers, got shape {key.shape}")
    else:
        raise InvalidArgumentError(f"[{op}] rule must be 'first', 'longest' or 'score', got {rule!r}")
    ranked = np.lexsort((order, key, ids))  # by cluster, then best key, then earliest
    keep = np.zeros(n, dtype=bool)
    if n:
        first_of_cluster = np.ones(n, dtype=bool)
        first_of_cluster[1:] = ids[ranked][1:] != ids[ranked][:-1]
        keep[ranked[first_of_cluster]] = True
    return keep


def first_of_equal(lo: npt.NDArray[np.uint64], hi: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """For each 128-bit key (lo, hi), the index of the first row holding the same key."""
    n = lo.shape[0]
    order = np.lexsort((np.arange(n), lo, hi))  # equal keys together, earliest row first
    starts = np.ones(n, dtype=bool)
    starts[1:] = (lo[order][1:] != lo[order][:-1]) | (hi[order][1:] != hi[order][:-1])
    first = order[np.flatnonzero(starts)][np.cumsum(starts) - 1]
    ids = np.empty(n, dtype=np.int64)
    ids[order] = first
    return ids


class NearDuplicateIndex:
    """An incremental, persistent MinHash-LSH index (the engine's :class:`MinHashIndex`).

    ``add`` assigns ids in insertion order and links new texts with every verified near-duplicate
    already indexed; ``query`` checks texts without adding them; ``save``/``load`` persist it (atomic,
    versioned, checksummed); ``merge`` appends another index's texts, giving the same clusters as
    one index built over both, so shards can be built apart and combined.
    """

    def __init__(
        self,
        threshold: float = 0.8,
        num_perm: int = 128,
        ngram: int = 5,
        seed: int = 0,
        *,
        bands: int | None = None,
        rows: int | None = None,
        target_recall: float = 0.95,
        verify: Verify = "jaccard",
        tokenizer: str = "words-v1",
        _engine_index: _engine.MinHashIndex | None = None,
    ) -> None:
        op = "data.dedup.NearDuplicateIndex"
        if _engine_index is not None:
            self._index = _engine_index
            config = _engine_index.config
            self._params = _parse_scheme(config["scheme"])
            return
        _check_threshold(op, threshold)
        if verify not in ("jaccard", "minhash", "none"):
            raise InvalidArgumentError(
                f"[{op}] verify must be 'jaccard', 'minhash' or 'none', got {verify!r}"
            )
        lsh = lsh_params(threshold, num_perm, target_recall=target_recall, bands=bands, rows=rows)
        probe = _engine.minhash([], num_perm=num_perm, ngram=ngram, seed=seed, tokenizer=tokenizer)
        self._params = {"num_perm": num_perm, "ngram": ngram, "seed": seed, "tokenizer": tokenizer}
        self._index = _engine.MinHashIndex(num_perm, lsh.bands, lsh.rows, threshold, verify, probe.scheme)

    @property
    def config(self) -> dict[str, object]:
        """num_perm, bands, rows, threshold, verify and the signature scheme."""
        return dict(self._index.config)

    def __len__(self) -> int:
        return int(self._index.size)

    def stats(self) -> dict[str, int]:
        """Documents, candidate pairs examined, verified and rejected pairs, memory in bytes."""
        return dict(self._index.stats())

    def _sign(self, texts: Texts) -> _engine.MinHashResult:
        return _engine.minhash(
            texts,
            num_perm=self._params["num_perm"],
            ngram=self._params["ngram"],
            seed=self._params["seed"],
            tokenizer=self._params["tokenizer"],
            with_sets=self._index.config["verify"] == "jaccard",
        )

    def add(self, texts: Texts) -> npt.NDArray[np.int64]:
        """Indexes ``texts`` and returns their ids (consecutive, in order)."""
        signed = self._sign(texts)
        return self.add_signatures(signed)

    def add_signatures(self, signed: _engine.MinHashResult) -> npt.NDArray[np.int64]:
        """Indexes precomputed signatures (from :func:`reactor.engine.dedup.minhash` with this scheme)."""
        self._check_scheme(signed.scheme)
        sets = (
            (signed.set_values, signed.set_offsets)
            if self._index.config["verify"] == "jaccard"
            else (None, None)
        )
        first = int(self._index.add(signed.signatures, *sets))
        return np.arange(first, first + signed.signatures.shape[0], dtype=np.int64)

    def query(self, texts: Texts) -> npt.NDArray[np.int64]:
        """For each text, the cluster id of an indexed near-duplicate (the smallest), or -1."""
        signed = self._sign(texts)
        sets = (
            (signed.set_values, signed.set_offsets)
            if self._index.config["verify"] == "jaccard"
            else (None, None)
        )
        return self._index.query(signed.signatures, *sets)

    def similarity(self, a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Similarity of indexed pairs ``(a[k], b[k])``: exact Jaccard of their shingle sets with
        ``verify="jaccard"``, else the MinHash estimate (fraction of equal signature rows).
        """
        return self._index.similarity(np.ascontiguousarray(a, np.int64), np.ascontiguousarray(b, np.int64))

    def clusters(self) -> npt.NDArray[np.int64]:
        """Cluster id (smallest member id) of every indexed text, in id order."""
        return self._index.clusters()

    def merge(self, other: NearDuplicateIndex) -> None:
        """Appends ``other``'s texts (their ids shift by ``len(self)``) and links across the two."""
        self._index.merge(other._index)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the index atomically (a crash leaves the previous file intact)."""
        self._index.save(os.fspath(path))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NearDuplicateIndex:
        """Reads an index; a damaged file raises :class:`reactor.errors.CorruptDataError`."""
        return cls(_engine_index=_engine.MinHashIndex.load(os.fspath(Path(path))))

    def _check_scheme(self, scheme: str) -> None:
        if scheme != self._index.config["scheme"]:
            raise InvalidArgumentError(
                f"[data.dedup.NearDuplicateIndex] signatures of scheme {scheme!r} cannot join an index "
                f"of scheme {self._index.config['scheme']!r}"
            )


def _parse_scheme(scheme: str) -> dict[str, object]:
    """``minhash-v2/words-v1/n5/p128/s0`` back into the parameters that produced it."""
    parts = scheme.split("/")
    if len(parts) != 5 or not parts[0].startswith("minhash-v"):
        raise InvalidArgumentError(f"[data.dedup] unrecognised signature scheme {scheme!r}")
    return {
        "tokenizer": parts[1],
        "ngram": int(parts[2][1:]),
        "num_perm": int(parts[3][1:]),
        "seed": int(parts[4][1:]),
    }
