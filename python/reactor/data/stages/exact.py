"""Exact dedup: equal 128-bit fingerprints of the normalised token stream."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from reactor.data.dedup import first_of_equal
from reactor.data.stages.base import Batch, DedupStage, Features, Mode
from reactor.engine import dedup as _engine

__all__ = ["ExactDedupStage"]


@dataclass(frozen=True)
class _ExactFeaturizer:
    tokenizer: str

    def __call__(self, texts: list[str]) -> Features:
        prints = _engine.exact_fingerprints(texts, level="document", tokenizer=self.tokenizer)
        empty = _engine.exact_fingerprints([""], level="document", tokenizer=self.tokenizer)
        fp = np.stack([prints.lo, prints.hi], axis=1)
        tokenless = (prints.lo == empty.lo[0]) & (prints.hi == empty.hi[0])
        return {"fingerprint": fp, "tokenless": tokenless}


class ExactDedupStage(DedupStage):
    """Exact duplicates: equal 128-bit fingerprints of the normalised token stream (the engine's
    ``words-v1`` case-folds and drops punctuation). Texts without a single token are nobody's duplicate.
    Streaming state: one 16-byte key per distinct document.
    """

    name = "exact_dedup"
    rule = "exact_fingerprint"

    def __init__(self, *, tokenizer: str = "words-v1", mode: Mode = "streaming", keep: str = "first") -> None:
        super().__init__(mode, keep)  # type: ignore[arg-type]
        self._featurize = _ExactFeaturizer(tokenizer)
        self._seen: dict[bytes, int] = {}
        self._observed: list[np.ndarray] = []
        self._observed_tokenless: list[np.ndarray] = []

    def featurizer(self) -> Callable[[list[str]], Features] | None:
        """Fingerprints (none needed once global decisions are made)."""
        return None if self._final is not None else self._featurize

    def _stream(self, batch: Batch, features: Features) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(batch)
        removed = np.zeros(n, dtype=bool)
        reps = np.full(n, -1, dtype=np.int64)
        keys = np.ascontiguousarray(features["fingerprint"], dtype=np.uint64).tobytes()
        tokenless = features["tokenless"]
        for i in range(n):
            if tokenless[i]:
                continue
            key = keys[16 * i : 16 * i + 16]
            first = self._seen.setdefault(key, int(batch.positions[i]))
            if first != batch.positions[i]:
                removed[i], reps[i] = True, first
        return removed, reps, np.where(removed, 1.0, np.nan)

    def _reset_stream(self) -> None:
        self._seen.clear()

    def _observe(self, batch: Batch, features: Features) -> None:
        self._observed.append(np.asarray(features["fingerprint"], dtype=np.uint64))
        self._observed_tokenless.append(np.asarray(features["tokenless"], dtype=bool))

    def _clusters(self) -> np.ndarray:
        if not self._observed:
            return np.zeros(0, dtype=np.int64)
        rows = np.concatenate(self._observed)
        tokenless = np.concatenate(self._observed_tokenless)
        self._observed, self._observed_tokenless = [], []
        clusters = first_of_equal(np.ascontiguousarray(rows[:, 0]), np.ascontiguousarray(rows[:, 1]))
        clusters[tokenless] = np.flatnonzero(tokenless)
        return clusters

    def _score_rows(self, row: int, rep: int) -> float | None:
        return 1.0

    def summary(self) -> dict[str, Any]:
        """Distinct fingerprints held (streaming)."""
        return {"distinct": len(self._seen)} if self.mode == "streaming" else {}
