"""Near-duplicate dedup: MinHash-LSH with exact Jaccard verification, and 64-bit SimHash."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from reactor.data.dedup import lsh_params
from reactor.data.stages.base import Batch, DedupStage, Features, Mode, _Grow, direct_earlier
from reactor.engine import dedup as _engine
from reactor.errors import InvalidArgumentError

__all__ = ["MinHashDedupStage", "SimHashDedupStage"]


@dataclass(frozen=True)
class _MinHashFeaturizer:
    num_perm: int
    ngram: int
    seed: int
    tokenizer: str
    with_sets: bool

    def __call__(self, texts: list[str]) -> Features:
        signed = _engine.minhash(
            texts,
            num_perm=self.num_perm,
            ngram=self.ngram,
            seed=self.seed,
            tokenizer=self.tokenizer,
            with_sets=self.with_sets,
        )
        features: Features = {"signatures": signed.signatures}
        if self.with_sets:
            sets = np.empty(len(texts), dtype=object)
            offsets = signed.set_offsets
            for i in range(len(texts)):  # views, no copies
                sets[i] = signed.set_values[offsets[i] : offsets[i + 1]]
            features["shingles"] = sets
        return features


def _csr(sets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([s.size for s in sets])
    values = np.concatenate(list(sets)).astype(np.uint32) if len(sets) else np.zeros(0, dtype=np.uint32)
    return values, offsets


class MinHashDedupStage(DedupStage):
    """Near duplicates by MinHash-LSH on the engine: word ``ngram`` shingles, candidates verified by exact
    Jaccard (``verify="jaccard"``) against ``threshold``. Streaming keeps the engine index only
    (signatures and shingle-set hashes): each batch is queried against it, resolved within itself, then added.
    """

    name = "near_dedup"
    rule = "minhash_jaccard"

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
        verify: Literal["jaccard", "minhash", "none"] = "jaccard",
        tokenizer: str = "words-v1",
        mode: Mode = "streaming",
        keep: str = "first",
    ) -> None:
        super().__init__(mode, keep)  # type: ignore[arg-type]
        if not isinstance(threshold, (int, float)) or not 0.0 < float(threshold) <= 1.0:
            raise InvalidArgumentError(f"[data.near_dedup] threshold must be in (0, 1], got {threshold!r}")
        if verify not in ("jaccard", "minhash", "none"):
            raise InvalidArgumentError(
                f"[data.near_dedup] verify must be jaccard, minhash or none, got {verify!r}"
            )
        self.threshold = float(threshold)
        self.lsh = lsh_params(self.threshold, num_perm, target_recall=target_recall, bands=bands, rows=rows)
        self.verify = verify
        self._featurize = _MinHashFeaturizer(num_perm, ngram, seed, tokenizer, verify == "jaccard")
        self._scheme = _engine.minhash(
            [], num_perm=num_perm, ngram=ngram, seed=seed, tokenizer=tokenizer
        ).scheme
        self._index = self._new_index()
        self._index_positions = _Grow(np.int64)  # index id -> stream position

    def _new_index(self) -> Any:
        return _engine.MinHashIndex(
            self._featurize.num_perm, self.lsh.bands, self.lsh.rows, self.threshold, self.verify, self._scheme
        )

    def featurizer(self) -> Callable[[list[str]], Features] | None:
        """Signatures (and shingle sets for Jaccard verification)."""
        return None if self._final is not None else self._featurize

    def _args(self, features: Features, rows: np.ndarray | None = None) -> tuple[Any, Any, Any]:
        sigs = features["signatures"] if rows is None else features["signatures"][rows]
        sigs = np.ascontiguousarray(sigs, dtype=np.uint32)
        if "shingles" not in features:
            return sigs, None, None
        sets = features["shingles"] if rows is None else features["shingles"][rows]
        return (sigs, *_csr(sets))

    def _stream(self, batch: Batch, features: Features) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(batch)
        args = self._args(features)
        earlier = (
            self._index.query(*args) >= 0 if len(self._index_positions.values) else np.zeros(n, dtype=bool)
        )
        local = self._new_index()
        local.add(*args)

        def link(rows: np.ndarray) -> np.ndarray:
            sub = self._new_index()
            sub.add(*self._args(features, rows))
            return sub.clusters()

        within = direct_earlier(np.asarray(local.clusters(), dtype=np.int64), np.arange(n), link)
        removed = earlier | within
        first = int(self._index.add(*args))
        self._index_positions.extend(batch.positions)
        clusters = self._index.clusters()[first : first + n]
        reps = self._index_positions.values[clusters]
        scores = np.full(n, np.nan)
        rows = np.flatnonzero(removed)
        scores[rows] = self._index.similarity(first + rows, np.ascontiguousarray(clusters[rows]))
        return removed, reps, scores

    def _reset_stream(self) -> None:
        self._index = self._new_index()
        self._index_positions = _Grow(np.int64)

    def _observe(self, batch: Batch, features: Features) -> None:
        self._index.add(*self._args(features))

    def _clusters(self) -> np.ndarray:
        clusters = np.asarray(self._index.clusters(), dtype=np.int64)
        self._scoring, self._index = self._index, self._new_index()  # kept only to score removals
        return clusters

    def _score_rows(self, row: int, rep: int) -> float | None:
        return float(self._scoring.similarity(np.array([row]), np.array([rep]))[0])

    def summary(self) -> dict[str, Any]:
        """Banding and index statistics."""
        return {"bands": self.lsh.bands, "rows": self.lsh.rows, "index": dict(self._index.stats())}


@dataclass(frozen=True)
class _SimHashFeaturizer:
    ngram: int
    tokenizer: str

    def __call__(self, texts: list[str]) -> Features:
        result = _engine.simhash(texts, ngram=self.ngram, tokenizer=self.tokenizer)
        return {"simhash": result.fingerprints, "empty": np.asarray(result.empty, dtype=np.uint8)}


def _hamming(a: np.ndarray | np.uint64, b: np.ndarray | np.uint64) -> np.ndarray:
    return np.bitwise_count(np.bitwise_xor(a, b))


class SimHashDedupStage(DedupStage):
    """Near duplicates by 64-bit SimHash: fingerprints within ``max_distance`` bits are linked.
    Streaming keeps every fingerprint (9 bytes per document) and searches them with the engine.
    """

    name = "near_dedup"
    rule = "simhash_hamming"

    def __init__(
        self,
        max_distance: int = 3,
        ngram: int = 3,
        *,
        tokenizer: str = "words-v1",
        mode: Mode = "streaming",
        keep: str = "first",
    ) -> None:
        super().__init__(mode, keep)  # type: ignore[arg-type]
        if not isinstance(max_distance, int) or not 0 <= max_distance <= 64:
            raise InvalidArgumentError(
                f"[data.near_dedup] max_distance must be in [0, 64], got {max_distance!r}"
            )
        self.max_distance = max_distance
        self.threshold = float(max_distance)
        self._featurize = _SimHashFeaturizer(ngram, tokenizer)
        self._reset_stream()

    def featurizer(self) -> Callable[[list[str]], Features] | None:
        """Fingerprints."""
        return None if self._final is not None else self._featurize

    def _link(self, fps: np.ndarray, empty: np.ndarray) -> np.ndarray:
        return _engine.simhash_clusters(fps, empty, max_distance=self.max_distance)

    def _stream(self, batch: Batch, features: Features) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_prev = self._fps.size
        self._fps.extend(np.asarray(features["simhash"], dtype=np.uint64))
        self._empty.extend(np.asarray(features["empty"], dtype=np.uint8))
        self._stream_positions.extend(batch.positions)
        fps, empty = self._fps.values, self._empty.values
        components = np.asarray(self._link(fps, empty), dtype=np.int64)
        rows = n_prev + np.arange(len(batch))
        removed = direct_earlier(components, rows, lambda r: self._link(fps[r], empty[r]))
        reps = components[rows]
        scores = 1.0 - _hamming(fps[rows], fps[reps]) / 64.0
        return removed, self._stream_positions.values[reps], scores

    def _reset_stream(self) -> None:
        self._fps, self._empty, self._stream_positions = _Grow(np.uint64), _Grow(np.uint8), _Grow(np.int64)

    def _observe(self, batch: Batch, features: Features) -> None:
        self._fps.extend(np.asarray(features["simhash"], dtype=np.uint64))
        self._empty.extend(np.asarray(features["empty"], dtype=np.uint8))

    def _clusters(self) -> np.ndarray:
        return self._link(self._fps.values, self._empty.values)

    def _score_rows(self, row: int, rep: int) -> float | None:
        fps = self._fps.values
        return float(1.0 - _hamming(fps[row], fps[rep]) / 64.0)
