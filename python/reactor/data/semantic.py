"""Semantic dedup (SemDeDup, Abbas et al. 2023): embed, cluster with k-means, and link documents of
the same cluster whose cosine similarity is at least ``1 - eps``; the in-cluster search runs in the
engine (:func:`reactor.engine.dedup.semantic_clusters`).

Embeddings come from a user function ``texts -> float32 array (n, d)`` or, when
``sentence-transformers`` is installed, from a model in a *local* directory (nothing is downloaded).

Global mode clusters all embeddings at once (k-means over the corpus). Streaming mode fits the
centroids on the first batch, assigns later documents to the nearest centroid, and keeps every
embedding seen (``4 d`` bytes per document) to compare later documents with.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from reactor.data.stages.base import Batch, DedupStage, Features, _Grow, direct_earlier, import_object
from reactor.engine import dedup as _engine
from reactor.errors import InvalidArgumentError, UnavailableError

__all__ = [
    "EmbedFn",
    "SemanticDedupStage",
    "kmeans",
    "semantic_duplicates",
    "sentence_transformer_embedder",
]

#: ``embed(texts) -> float32 array of shape (len(texts), d)``.
EmbedFn = Callable[[Sequence[str]], npt.ArrayLike]


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def kmeans(
    x: npt.ArrayLike, n_clusters: int, *, seed: int = 0, max_iter: int = 50, tol: float = 1e-6
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Lloyd's k-means with k-means++ seeding (Arthur & Vassilvitskii 2007), deterministic for a seed.

    Returns ``(centroids (k, d), labels (n,))`` with ``k = min(n_clusters, n)``. An emptied cluster is
    re-seeded with the point farthest from its centroid.
    """
    data = np.asarray(x, dtype=np.float64)
    if data.ndim != 2 or not np.all(np.isfinite(data)):
        raise InvalidArgumentError(f"[data.kmeans] x must be a finite 2-D array, got shape {data.shape}")
    if not isinstance(n_clusters, (int, np.integer)) or n_clusters < 1:
        raise InvalidArgumentError(f"[data.kmeans] n_clusters must be a positive integer, got {n_clusters!r}")
    n = data.shape[0]
    if n == 0:
        return np.zeros((0, data.shape[1])), np.zeros(0, dtype=np.int64)
    k = int(min(n_clusters, n))
    rng = np.random.default_rng(seed)
    sq = np.einsum("ij,ij->i", data, data)
    centroids = np.empty((k, data.shape[1]))
    centroids[0] = data[rng.integers(n)]
    closest = np.maximum(sq - 2 * data @ centroids[0] + centroids[0] @ centroids[0], 0.0)
    for c in range(1, k):
        total = closest.sum()
        pick = int(rng.choice(n, p=closest / total)) if total > 0 else int(rng.integers(n))
        centroids[c] = data[pick]
        closest = np.minimum(
            closest, np.maximum(sq - 2 * data @ centroids[c] + centroids[c] @ centroids[c], 0.0)
        )
    labels = np.zeros(n, dtype=np.int64)
    for _ in range(max_iter):
        distances = (
            sq[:, None] - 2 * data @ centroids.T + np.einsum("ij,ij->i", centroids, centroids)[None, :]
        )
        labels = np.argmin(distances, axis=1)
        counts = np.bincount(labels, minlength=k)
        sums = np.zeros_like(centroids)
        np.add.at(sums, labels, data)
        updated = centroids.copy()
        filled = counts > 0
        updated[filled] = sums[filled] / counts[filled, None]
        if not filled.all():
            far = np.argsort(-distances[np.arange(n), labels], kind="stable")
            updated[~filled] = data[far[: int((~filled).sum())]]
        shift = float(np.max(np.abs(updated - centroids)))
        centroids = updated
        if shift <= tol:
            break
    distances = sq[:, None] - 2 * data @ centroids.T + np.einsum("ij,ij->i", centroids, centroids)[None, :]
    return centroids, np.argmin(distances, axis=1).astype(np.int64)


_MODELS: dict[str, Any] = {}


@dataclass(frozen=True)
class _LocalModel:
    path: str
    batch_size: int = 64

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        model = _MODELS.get(self.path)
        if model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise UnavailableError(
                    "semantic dedup with model_path needs sentence-transformers "
                    "(pip install sentence-transformers)"
                ) from None
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local directory only, never the Hub
            model = _MODELS[self.path] = SentenceTransformer(self.path, device="cpu", local_files_only=True)
        return np.asarray(model.encode(list(texts), batch_size=self.batch_size), dtype=np.float32)


def sentence_transformer_embedder(model_path: str | os.PathLike[str]) -> EmbedFn:
    """An :data:`EmbedFn` over a sentence-transformers model saved in a local directory."""
    path = Path(model_path)
    if not path.is_dir():
        raise InvalidArgumentError(f"[data.semantic] model_path {str(path)!r} is not a local model directory")
    return _LocalModel(str(path.resolve()))


@dataclass(frozen=True)
class _Embedder:
    fn: EmbedFn | str

    def __call__(self, texts: list[str]) -> Features:
        fn = import_object(self.fn) if isinstance(self.fn, str) else self.fn
        embeddings = np.asarray(fn(texts), dtype=np.float32)
        if embeddings.ndim != 2 or embeddings.shape[0] != len(texts):
            raise InvalidArgumentError(
                f"[data.semantic] the embedder returned shape {embeddings.shape} for {len(texts)} texts"
            )
        if not np.all(np.isfinite(embeddings)):
            raise InvalidArgumentError("[data.semantic] the embedder returned NaN or infinite values")
        return {"embedding": embeddings}


class SemanticDedupStage(DedupStage):
    """SemDeDup as a pipeline stage: documents with cosine >= ``1 - eps`` in the same k-means cluster are
    duplicates; ``score`` in the ledger is the cosine to the kept document.
    """

    name = "semantic_dedup"
    rule = "cosine"

    def __init__(
        self,
        embed: EmbedFn | str,
        *,
        n_clusters: int = 100,
        eps: float = 0.05,
        seed: int = 0,
        max_iter: int = 50,
        mode: Literal["streaming", "global"] = "streaming",
        keep: str = "first",
    ) -> None:
        super().__init__(mode, keep)  # type: ignore[arg-type]
        if not isinstance(eps, (int, float)) or not 0.0 <= float(eps) < 1.0:
            raise InvalidArgumentError(f"[data.semantic] eps must be in [0, 1), got {eps!r}")
        if not isinstance(n_clusters, int) or n_clusters < 1:
            raise InvalidArgumentError(
                f"[data.semantic] n_clusters must be a positive integer, got {n_clusters!r}"
            )
        self.threshold = 1.0 - float(eps)
        self.n_clusters, self.seed, self.max_iter = n_clusters, seed, max_iter
        self._featurize = _Embedder(embed)
        self._reset_stream()

    def featurizer(self) -> Callable[[list[str]], Features] | None:
        """Embeddings."""
        return None if self._final is not None else self._featurize

    def _link(self, embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return np.asarray(
            _engine.semantic_clusters(embeddings, labels, threshold=self.threshold), dtype=np.int64
        )

    def _stream(self, batch: Batch, features: Features) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = np.asarray(features["embedding"], dtype=np.float32)
        if self._centroids is None:  # centroids come from the first batch
            self._centroids, _ = kmeans(_unit(x), self.n_clusters, seed=self.seed, max_iter=self.max_iter)
        labels = np.argmax(_unit(x) @ self._centroids.T, axis=1).astype(np.int64)
        if self._emb.size and x.shape[1] != self._emb.values.shape[1]:
            raise InvalidArgumentError(
                f"[data.semantic] embedding width changed from {self._emb.values.shape[1]} to {x.shape[1]}"
            )
        if self._emb.size == 0:
            self._emb = _Grow(np.float32, x.shape[1])
        n_prev = self._emb.size
        self._emb.extend(x)
        self._labels.extend(labels)
        self._stream_positions.extend(batch.positions)
        # Only earlier documents of the clusters this batch touches can be its duplicates.
        rows = np.concatenate(
            (np.flatnonzero(np.isin(self._labels.values[:n_prev], labels)), n_prev + np.arange(len(batch)))
        )
        emb, lab = self._emb.values[rows], self._labels.values[rows]
        components = self._link(emb, lab)
        mine = np.arange(rows.size - len(batch), rows.size)
        removed = direct_earlier(components, mine, lambda r: self._link(emb[r], lab[r]))
        reps = components[mine]
        unit = _unit(emb)
        scores = np.einsum("ij,ij->i", unit[mine], unit[reps])
        return removed, self._stream_positions.values[rows[reps]], scores

    def _reset_stream(self) -> None:
        self._centroids: np.ndarray | None = None
        self._emb = _Grow(np.float32, 1)
        self._labels = _Grow(np.int64)
        self._stream_positions = _Grow(np.int64)

    def _observe(self, batch: Batch, features: Features) -> None:
        x = np.asarray(features["embedding"], dtype=np.float32)
        if self._emb.size == 0:
            self._emb = _Grow(np.float32, x.shape[1])
        self._emb.extend(x)

    def _clusters(self) -> np.ndarray:
        x = self._emb.values
        if x.shape[0] == 0:
            return np.zeros(0, dtype=np.int64)
        _, labels = kmeans(_unit(x), self.n_clusters, seed=self.seed, max_iter=self.max_iter)
        return self._link(x, labels)

    def _score_rows(self, row: int, rep: int) -> float | None:
        unit = _unit(self._emb.values[[row, rep]])
        return float(unit[0] @ unit[1])


def semantic_duplicates(
    texts: Sequence[str],
    embed: EmbedFn,
    *,
    n_clusters: int = 100,
    eps: float = 0.05,
    seed: int = 0,
    max_iter: int = 50,
) -> npt.NDArray[np.int64]:
    """Cluster id (smallest member) per text: k-means on the unit embeddings, then the engine links texts
    of one k-means cluster with cosine >= ``1 - eps``, transitively. :func:`reactor.data.dedup.keep_mask`
    picks the text each cluster keeps.
    """
    stage = SemanticDedupStage(
        embed, n_clusters=n_clusters, eps=eps, seed=seed, max_iter=max_iter, mode="global"
    )
    texts = list(texts)
    stage._observe(Batch(texts, list(range(len(texts))), np.arange(len(texts))), stage._featurize(texts))
    return stage._clusters()
