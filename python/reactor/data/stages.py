"""Pipeline stages and the one interface they share.

A stage sees the documents of one batch that survived the stages before it, as a :class:`Batch`,
and answers with a :class:`StageResult`: which to keep, optionally new texts, and a
:class:`~reactor.data.ledger.LedgerEntry` for every document it removed or changed. Its work is
split in two so that the expensive, stateless half can run anywhere (on Ray workers with
``engine="ray"``):

* :meth:`Stage.featurizer` returns a picklable function ``texts -> Features`` (a dict of arrays with
  one row per text: signatures, fingerprints, signals, embeddings), or None;
* :meth:`Stage.decide` takes the batch and those features and decides, in stream order, on the
  driver. It may keep state across batches (a fingerprint set, an LSH index).

Writing a new stage (substring dedup, decontamination, engine quality signals) means subclassing
:class:`Stage` with a ``name``, a featurizer and ``decide``; see :class:`QualityStage` for a
stateless one and :class:`ExactDedupStage` for a stateful one.

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
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from reactor.data.dedup import keep_mask, lsh_params
from reactor.data.ledger import LedgerEntry
from reactor.engine import dedup as _engine
from reactor.errors import CorruptDataError, InvalidArgumentError

__all__ = [
    "Batch",
    "DedupStage",
    "ExactDedupStage",
    "Features",
    "MinHashDedupStage",
    "NormaliseStage",
    "QualityStage",
    "SignalsFn",
    "SimHashDedupStage",
    "Stage",
    "StageResult",
    "default_signals",
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

    def summary(self) -> dict[str, Any]:
        """Extra figures for the run report."""
        return {}


# --- normalisation ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Normaliser:
    unicode_form: str
    collapse_whitespace: bool
    strip: bool

    def __call__(self, texts: list[str]) -> Features:
        out = np.empty(len(texts), dtype=object)
        for i, text in enumerate(texts):
            if self.unicode_form != "none":
                text = unicodedata.normalize(self.unicode_form, text)
            if self.collapse_whitespace:
                text = "\n".join(" ".join(line.split()) for line in text.split("\n"))
            out[i] = text.strip() if self.strip else text
        return {"text": out}


class NormaliseStage(Stage):
    """Unicode normalisation (NFC/NFKC) and whitespace folding; changed documents are logged."""

    name = "normalise"

    def __init__(
        self,
        unicode_form: Literal["NFC", "NFKC", "none"] = "NFKC",
        *,
        collapse_whitespace: bool = True,
        strip: bool = True,
    ) -> None:
        if unicode_form not in ("NFC", "NFKC", "none"):
            raise InvalidArgumentError(
                f"[data.normalise] unicode_form must be NFC, NFKC or none, got {unicode_form!r}"
            )
        self._fn = _Normaliser(unicode_form, collapse_whitespace, strip)

    def featurizer(self) -> Callable[[list[str]], Features]:
        """The normalised texts."""
        return self._fn

    def decide(self, batch: Batch, features: Features) -> StageResult:
        """Keep everything; replace texts; log the changed ones."""
        new = [str(t) for t in features["text"]]
        entries = [
            LedgerEntry(batch.ids[i], self.name, "normalise", int(batch.positions[i]), action="changed")
            for i, (old, text) in enumerate(zip(batch.texts, new, strict=True))
            if old != text
        ]
        return StageResult(np.ones(len(batch), dtype=bool), entries, new)


# --- quality ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _bmp_tables() -> tuple[np.ndarray, np.ndarray]:
    chars = [chr(c) for c in range(0x10000)]
    space = np.fromiter((c.isspace() for c in chars), dtype=bool, count=0x10000)
    alnum = np.fromiter((c.isalnum() for c in chars), dtype=bool, count=0x10000)
    return space, alnum


_SYMBOLS = np.array([ord(c) for c in "#$%<>"], dtype=np.uint32)

#: Names of the signals :func:`default_signals` computes, in column order.
DEFAULT_SIGNALS = ("word_count", "mean_word_length", "symbol_ratio", "alnum_ratio")


def default_signals(texts: Sequence[str]) -> tuple[npt.NDArray[np.float64], tuple[str, ...]]:
    """Gopher-style signals per text (Rae et al. 2021), vectorised over the whole batch with numpy.

    Words are maximal runs of non-whitespace (``str.split()``). ``word_count``; ``mean_word_length``
    (non-space characters per word); ``symbol_ratio`` (``#``, ``$``, ``%``, ``<``, ``>``, ``...`` and ``…``
    per word); ``alnum_ratio`` (fraction of words with a letter or digit). A text without words gets
    0 for all ratios.
    """
    n = len(texts)
    if n == 0:
        return np.zeros((0, len(DEFAULT_SIGNALS))), DEFAULT_SIGNALS
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    # One codepoint array for the batch; a newline between texts is a word boundary.
    cp = np.frombuffer("\n".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    doc = np.repeat(np.arange(n), lengths + 1)[: cp.size]
    space_table, alnum_table = _bmp_tables()
    bmp = cp < 0x10000
    space = np.zeros(cp.size, dtype=bool)
    alnum = np.zeros(cp.size, dtype=bool)
    space[bmp] = space_table[cp[bmp]]
    alnum[bmp] = alnum_table[cp[bmp]]
    if not bmp.all():  # astral characters: decide each distinct one once
        astral = cp[~bmp]
        values, inverse = np.unique(astral, return_inverse=True)
        alnum[~bmp] = np.array([chr(int(v)).isalnum() for v in values], dtype=bool)[inverse]
    word = ~space
    start = word.copy()
    start[1:] &= space[:-1]
    words = np.bincount(doc[start], minlength=n).astype(np.float64)
    chars = np.bincount(doc[word], minlength=n).astype(np.float64)
    # Symbols: single characters, plus non-overlapping "..." in every run of dots, plus "…".
    symbols = np.bincount(doc[np.isin(cp, _SYMBOLS) | (cp == 0x2026)], minlength=n).astype(np.float64)
    dot = cp == ord(".")
    if dot.any():
        edges = np.diff(np.concatenate(([0], dot.astype(np.int8), [0])))
        run_start, run_end = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        symbols += np.bincount(doc[run_start], weights=(run_end - run_start) // 3, minlength=n)
    word_id = np.cumsum(start) - 1
    has_alnum = np.zeros(int(start.sum()), dtype=bool)
    has_alnum[word_id[word & alnum]] = True
    word_doc = doc[start]
    alnum_words = np.bincount(word_doc[has_alnum], minlength=n).astype(np.float64)
    per_word = np.maximum(words, 1.0)
    matrix = np.stack([words, chars / per_word, symbols / per_word, alnum_words / per_word], axis=1)
    return matrix, DEFAULT_SIGNALS


@dataclass(frozen=True)
class _Signals:
    fn: SignalsFn | str

    def __call__(self, texts: list[str]) -> Features:
        fn = import_object(self.fn) if isinstance(self.fn, str) else self.fn
        matrix, names = fn(texts)
        matrix = np.asarray(matrix, dtype=np.float64)
        names = list(names)
        if matrix.shape != (len(texts), len(names)):
            raise InvalidArgumentError(
                f"[data.quality] signals returned shape {matrix.shape} "
                f"for {len(texts)} texts and {len(names)} names"
            )
        return {f"signal:{name}": matrix[:, j] for j, name in enumerate(names)}


class QualityStage(Stage):
    """Removes documents whose signals fall outside ``rules`` (``{name: (min, max)}``, None = open).

    The ledger names the first rule broken (in ``rules`` order) with the signal value as ``score`` and
    the violated bound as ``threshold``; ``detail`` lists every rule broken. NaN breaks any rule.
    """

    name = "quality"

    def __init__(
        self,
        rules: dict[str, tuple[float | None, float | None]],
        signals: SignalsFn | str = default_signals,
    ) -> None:
        for rule, (low, high) in rules.items():
            if low is not None and high is not None and low > high:
                raise InvalidArgumentError(f"[data.quality] rule {rule!r}: min {low} exceeds max {high}")
        self.rules = dict(rules)
        self._fn = _Signals(signals)

    def featurizer(self) -> Callable[[list[str]], Features]:
        """One ``signal:<name>`` column per signal."""
        return self._fn

    def decide(self, batch: Batch, features: Features) -> StageResult:
        """Apply the rules."""
        n = len(batch)
        broken: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
        for rule, (low, high) in self.rules.items():
            column = features.get(f"signal:{rule}")
            if column is None:
                names = sorted(key.removeprefix("signal:") for key in features if key.startswith("signal:"))
                raise InvalidArgumentError(
                    f"[data.quality] rule {rule!r} names no signal; signals are {names}"
                )
            too_low = (column < low) if low is not None else np.zeros(n, dtype=bool)
            too_high = (column > high) if high is not None else np.zeros(n, dtype=bool)
            bad = too_low | too_high | np.isnan(column)
            bound = np.where(too_high, np.nan if high is None else high, np.nan if low is None else low)
            broken.append((rule, bad, column, bound))
        keep = np.ones(n, dtype=bool)
        for _, bad, _, _ in broken:
            keep &= ~bad
        entries = []
        for i in np.flatnonzero(~keep):
            hits = [(rule, column[i], bound[i]) for rule, bad, column, bound in broken if bad[i]]
            rule, score, bound = hits[0]
            entries.append(
                LedgerEntry(
                    batch.ids[i],
                    self.name,
                    rule,
                    int(batch.positions[i]),
                    score=float(score),
                    threshold=None if np.isnan(bound) else float(bound),
                    detail=", ".join(f"{r}={s:.6g}" for r, s, _ in hits),
                )
            )
        return StageResult(keep, entries)


# --- dedup ------------------------------------------------------------------------------------------------


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
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        clusters = first[inverse.reshape(-1)].astype(np.int64)
        clusters[tokenless] = np.flatnonzero(tokenless)
        return clusters

    def _score_rows(self, row: int, rep: int) -> float | None:
        return 1.0

    def summary(self) -> dict[str, Any]:
        """Distinct fingerprints held (streaming)."""
        return {"distinct": len(self._seen)} if self.mode == "streaming" else {}


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
        return removed, reps, np.full(n, np.nan)

    def _reset_stream(self) -> None:
        self._index = self._new_index()
        self._index_positions = _Grow(np.int64)

    def _observe(self, batch: Batch, features: Features) -> None:
        self._index.add(*self._args(features))

    def _clusters(self) -> np.ndarray:
        clusters = np.asarray(self._index.clusters(), dtype=np.int64)
        self._index = self._new_index()  # the decisions are all that is needed from now on
        return clusters

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
