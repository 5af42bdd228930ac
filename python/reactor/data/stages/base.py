"""The stage interface and what the stages share.

A stage sees the documents of one batch that survived the stages before it, as a :class:`Batch`,
and answers with a :class:`StageResult`: which to keep, optionally new texts, and a
:class:`~reactor.data.ledger.LedgerEntry` for every document it removed or changed. Its work is
split in two so that the expensive, stateless half can run anywhere (on Ray workers with
``engine="ray"``):

* :meth:`Stage.featurizer` returns a picklable function ``texts -> Features`` (a dict of arrays with
  one row per text: signatures, fingerprints, signals, embeddings), or None;
* :meth:`Stage.decide` takes the batch and those features and decides, in stream order, on the
  driver. It may keep state across batches (a fingerprint set, an LSH index).

A stage that must see the whole corpus before deciding anything (global dedup, substring dedup)
says so with :attr:`Stage.needs_observation`: the pipeline then makes one extra pass in which it
calls :meth:`Stage.observe` on every batch, then :meth:`Stage.finalize`, and only the next pass
calls :meth:`Stage.decide`.

Dedup stages (:class:`DedupStage`) run in one of two modes:

* ``streaming`` (one pass, bounded memory): a document is removed when it is a verified duplicate
  of *any earlier document* (removed or not). The kept set does not depend on the batch size. A
  later document that links two earlier kept documents does not un-keep either.
* ``global``: the stage first *observes* every document (keeping only fingerprints/signatures), then
  clusters them (transitively) and keeps exactly one per cluster (the first or the longest); the
  pipeline reads the input once more to apply the decisions.

In both modes ``duplicate_of`` names a kept document of the same cluster and ``cluster_id`` is the
stream position of that cluster's first document.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from reactor.data.dedup import keep_mask
from reactor.data.ledger import LedgerEntry
from reactor.errors import CorruptDataError, InvalidArgumentError

__all__ = [
    "Batch",
    "DedupStage",
    "Features",
    "Mode",
    "SignalsFn",
    "Stage",
    "StageResult",
    "direct_earlier",
    "import_object",
    "subset_features",
]

#: Per-document arrays keyed by name; every array has one row per text (object arrays for ragged data).
Features = dict[str, np.ndarray]
#: ``signals(texts) -> (matrix of shape (len(texts), k), k names)``.
SignalsFn = Callable[[Sequence[str]], tuple[np.ndarray, Sequence[str]]]
Mode = Literal["streaming", "global"]


@dataclass
class Batch:
    """The documents a stage sees: texts with their ids and 0-based stream positions (increasing)."""

    texts: list[str]
    ids: list[Any]
    positions: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class StageResult:
    """A stage's answer for one batch."""

    keep: npt.NDArray[np.bool_]  #: one flag per document of the batch
    entries: list[LedgerEntry] = field(default_factory=list)  #: one per removed or changed document
    texts: list[str] | None = None  #: replacement texts (transforming stages), one per document


def subset_features(features: Features, rows: npt.NDArray[np.intp]) -> Features:
    """The rows ``rows`` of every feature array."""
    return {key: value[rows] for key, value in features.items()}


def import_object(spec: str) -> Any:
    """``"package.module:name"`` -> the object (used for signals and embedder functions in configs)."""
    module_name, sep, name = spec.partition(":")
    if not sep or not module_name or not name:
        raise InvalidArgumentError(f"[data.stages] expected 'module:function', got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InvalidArgumentError(
            f"[data.stages] cannot import module {module_name!r} of {spec!r}: {error}"
        ) from None
    try:
        return getattr(module, name)
    except AttributeError:
        raise InvalidArgumentError(
            f"[data.stages] module {module_name!r} has no attribute {name!r}"
        ) from None


class Stage(ABC):
    """One step of the pipeline; see the module docstring for the contract."""

    #: Name in the ledger and the report.
    name: str = "stage"

    def featurizer(self) -> Callable[[list[str]], Features] | None:
        """A picklable, stateless ``texts -> Features`` function, or None when ``decide`` needs none."""
        return None

    @abstractmethod
    def decide(self, batch: Batch, features: Features) -> StageResult:
        """Decide on ``batch`` (in stream order) given its features."""

    def process(self, batch: Batch) -> StageResult:
        """Featurise and decide in one call (the local path)."""
        featurize = self.featurizer()
        return self.decide(batch, featurize(batch.texts) if featurize is not None else {})

    def reset(self) -> None:  # noqa: B027 - stateless stages have nothing to forget
        """Forget streaming state before another pass over the input (global decisions are kept)."""

    @property
    def needs_observation(self) -> bool:
        """True while the stage must see the whole input (:meth:`observe`) before it can decide."""
        return False

    def observe(self, batch: Batch, features: Features) -> None:
        """Observation pass: remember what the decisions need. Only called while
        :attr:`needs_observation` is true.
        """
        raise InvalidArgumentError(
            f"[data.{self.name}] this stage decides batch by batch; nothing to observe"
        )

    def finalize(self) -> None:  # noqa: B027 - only observing stages have something to finalize
        """End of the observation pass: make the decisions the next pass applies."""

    def summary(self) -> dict[str, Any]:
        """Extra figures for the run report."""
        return {}


# --- dedup base -------------------------------------------------------------------------------------------


def direct_earlier(
    components: npt.NDArray[np.int64], rows: npt.NDArray[np.int64], link: Callable[[np.ndarray], np.ndarray]
) -> npt.NDArray[np.bool_]:
    """For each of ``rows``: is it directly linked to an earlier row of its component?

    ``components`` gives each row the smallest row of its (transitive) component. A component's
    smallest row has no earlier neighbour; the other row of a two-row component has one; for larger
    components ``link(subset)`` (component ids over ``subset``, in subset index space) is asked about
    the row against the earlier members: it is linked iff it does not stay alone.
    """
    result = np.zeros(rows.size, dtype=bool)
    ambiguous = np.flatnonzero(components[rows] != rows)
    if ambiguous.size == 0:
        return result
    sizes = np.bincount(components)
    order = np.argsort(components, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    for j in ambiguous:
        row = rows[j]
        root = components[row]
        if sizes[root] == 2:
            result[j] = True
            continue
        members = order[bounds[root] : bounds[root + 1]]
        earlier = members[members < row]
        ids = link(np.concatenate((earlier, [row])))
        result[j] = ids[-1] != earlier.size
    return result


class _Grow:
    """An append-only numpy array with amortised doubling."""

    def __init__(self, dtype: Any, width: int | None = None) -> None:
        shape = (1024,) if width is None else (1024, width)
        self._data = np.empty(shape, dtype=dtype)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        need = self.size + values.shape[0]
        if need > self._data.shape[0]:
            grown = np.empty(
                (max(need, 2 * self._data.shape[0]), *self._data.shape[1:]), dtype=self._data.dtype
            )
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : need] = values
        self.size = need

    @property
    def values(self) -> np.ndarray:
        return self._data[: self.size]


class DedupStage(Stage):
    """Base of the dedup stages: streaming decisions or global (observe, finalize, apply) decisions.

    Subclasses give :meth:`_stream` (streaming) and :meth:`_observe` + :meth:`_clusters` (global).
    """

    rule: str = "duplicate"
    threshold: float | None = None

    def __init__(self, mode: Mode = "streaming", keep: Literal["first", "longest"] = "first") -> None:
        if mode not in ("streaming", "global"):
            raise InvalidArgumentError(
                f"[data.{self.name}] mode must be 'streaming' or 'global', got {mode!r}"
            )
        if keep not in ("first", "longest"):
            raise InvalidArgumentError(f"[data.{self.name}] keep must be 'first' or 'longest', got {keep!r}")
        if keep != "first" and mode == "streaming":
            raise InvalidArgumentError(f"[data.{self.name}] keep={keep!r} needs mode='global'")
        self.mode, self.keep = mode, keep
        self._kept_ids: dict[int, Any] = {}  # streaming: position -> id of every kept document
        # global: what was observed, and after finalize the decision per observed document
        self._positions = _Grow(np.int64)
        self._lengths = _Grow(np.int64)
        self._ids: list[Any] = []
        self._final: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # keep, kept row, first row

    # -- global mode -----------------------------------------------------------------------------------
    @property
    def needs_observation(self) -> bool:
        """True while a global stage still has to see the whole input."""
        return self.mode == "global" and self._final is None

    def observe(self, batch: Batch, features: Features) -> None:
        """Global mode, first pass: remember what the decision needs (not the texts)."""
        self._positions.extend(batch.positions)
        self._lengths.extend(np.fromiter((len(t) for t in batch.texts), dtype=np.int64, count=len(batch)))
        self._ids.extend(batch.ids)
        self._observe(batch, features)

    def finalize(self) -> None:
        """Global mode: cluster everything observed and choose the document each cluster keeps."""
        clusters = np.asarray(self._clusters(), dtype=np.int64)
        n = clusters.size
        keep = keep_mask(clusters, self.keep, lengths=self._lengths.values) if n else np.zeros(0, dtype=bool)
        kept_row = np.full(n, -1, dtype=np.int64)
        kept_row[clusters[keep]] = np.flatnonzero(keep)
        self._final = (keep, kept_row[clusters], clusters)

    def decide(self, batch: Batch, features: Features) -> StageResult:
        """Streaming: decide against the past. Global (after :meth:`finalize`): apply the decisions."""
        if self.mode == "streaming":
            removed, rep_positions, scores = self._stream(batch, features)
            for i in np.flatnonzero(~removed):  # first: a representative may sit in this very batch
                self._kept_ids[int(batch.positions[i])] = batch.ids[i]
            entries = []
            for i in np.flatnonzero(removed):
                rep = int(rep_positions[i])
                entries.append(self._entry(batch, i, rep, self._kept_ids[rep], scores[i]))
            return StageResult(~removed, entries)
        if self._final is None:
            raise InvalidArgumentError(
                f"[data.{self.name}] a global stage must observe the input and finalize first"
            )
        keep, kept_row, first_row = self._final
        positions = self._positions.values
        rows = np.searchsorted(positions, batch.positions)
        if np.any(rows >= positions.size) or np.any(
            positions[np.minimum(rows, positions.size - 1)] != batch.positions
        ):
            raise CorruptDataError(
                f"[data.{self.name}] the input changed between passes (unknown document position)"
            )
        entries = []
        for i in np.flatnonzero(~keep[rows]):
            row, rep = rows[i], kept_row[rows[i]]
            score = self._score_rows(int(row), int(rep))
            entries.append(
                self._entry(
                    batch, i, int(positions[first_row[row]]), self._ids[rep], score, int(positions[rep])
                )
            )
        return StageResult(keep[rows], entries)

    def _entry(
        self,
        batch: Batch,
        i: int,
        cluster: int,
        kept_id: Any,
        score: float | None,
        kept_position: int | None = None,
    ) -> LedgerEntry:
        detail = None if kept_position is None else f"kept position {kept_position}"
        return LedgerEntry(
            batch.ids[i],
            self.name,
            self.rule,
            int(batch.positions[i]),
            score=None if score is None or np.isnan(score) else float(score),
            threshold=self.threshold,
            cluster_id=cluster,
            duplicate_of=kept_id,
            detail=detail,
        )

    def reset(self) -> None:
        """Streaming state is rebuilt on every pass."""
        if self.mode == "streaming":
            self._kept_ids.clear()
            self._reset_stream()

    # -- to implement ------------------------------------------------------------------------------------
    @abstractmethod
    def _stream(self, batch: Batch, features: Features) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(removed flags, position of the kept representative, score) for the batch."""

    @abstractmethod
    def _reset_stream(self) -> None:
        """Drop streaming state."""

    @abstractmethod
    def _observe(self, batch: Batch, features: Features) -> None:
        """Store the batch's fingerprints / signatures for :meth:`_clusters`."""

    @abstractmethod
    def _clusters(self) -> np.ndarray:
        """Cluster id (smallest member row) per observed row."""

    def _score_rows(self, row: int, rep: int) -> float | None:
        """Similarity of observed rows ``row`` and ``rep`` where the stage can measure it."""
        return None
