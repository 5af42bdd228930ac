"""Decontamination: remove training documents that contain evaluation data.

Two published definitions, both computed by one engine call per batch
(:func:`reactor.engine.dedup_analysis.contamination`, engine tokenizer ``words-v1`` by default):

* ``mode="ngram"`` (GPT-3, Brown et al. 2020): a document is contaminated when at least ``min_hits``
  of its ``ngram``-token n-grams (13 by default) occur in some eval document. Ledger rule
  ``ngram_overlap``, ``score`` = hits, ``threshold`` = ``min_hits``.
* ``mode="coverage"`` (Llama 2, Touvron et al. 2023): a token is contaminated when it lies inside a
  match of at least ``min_match`` tokens (10) with an eval document, allowing up to
  ``max_mismatches`` (4) differing tokens. Llama 2 calls an eval sample *dirty* when more than 80 %
  of its tokens are contaminated; here a training document is removed when, for some eval document,
  the covered fraction reaches ``threshold`` (0.8). ``coverage_of="eval"`` (default) measures the
  fraction of *the eval document's* tokens that this training document covers (so an eval question
  pasted into a long web page is caught); ``coverage_of="document"`` the fraction of *the training
  document's* own tokens that are contaminated (only documents that are mostly eval text are
  removed). Ledger rule ``token_coverage``, ``score`` = that fraction.

Every removal lists the ids of the eval documents it matched in ``duplicate_of`` (a list) and
``detail``. The stage decides each document on its own, so it streams; the featurizer (the engine
call, holding the eval texts) is what runs on Ray workers with ``engine="ray"``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from reactor.data.io import Rejected, open_source
from reactor.data.ledger import LedgerEntry
from reactor.data.stages.base import Batch, Features, Stage, StageResult
from reactor.engine.dedup_analysis import contamination
from reactor.errors import InvalidArgumentError

__all__ = ["DecontaminateStage", "EvalSet", "load_eval_set"]

ContaminationMode = Literal["ngram", "coverage"]
CoverageOf = Literal["eval", "document"]


@dataclass(frozen=True)
class EvalSet:
    """Evaluation documents and their ids (``"<file name>:<id field or line number>"`` from files)."""

    texts: tuple[str, ...]
    ids: tuple[Any, ...]

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.ids):
            raise InvalidArgumentError(
                f"[data.decontaminate] {len(self.texts)} eval texts but {len(self.ids)} eval ids"
            )


def load_eval_set(
    paths: Sequence[str | os.PathLike[str]], *, text_field: str = "text", id_field: str | None = "id"
) -> EvalSet:
    """Read eval documents from JSONL / Parquet / saved-``datasets`` files, in order.

    Every record must be readable and have a string ``text_field``: an eval set that silently lost a
    record would let its contamination through.

    Raises:
        InvalidArgumentError: no paths, a missing file, an unreadable record or one without text
            (naming the file and record), no eval document at all.

    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not paths:
        raise InvalidArgumentError("[data.decontaminate] eval needs at least one file")
    texts: list[str] = []
    ids: list[Any] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InvalidArgumentError(f"[data.decontaminate] eval file {str(path)!r} does not exist")
        source = open_source(path, text_field=text_field, id_field=id_field, on_missing="error")
        for item in source.documents():
            if isinstance(item, Rejected):
                raise InvalidArgumentError(
                    f"[data.decontaminate] eval file {str(path)!r} record {item.id!r} is {item.rule}: "
                    f"{item.detail}"
                )
            texts.append(item.text)
            ids.append(f"{path.name}:{item.id}")
    if not texts:
        raise InvalidArgumentError(
            f"[data.decontaminate] the eval files {[str(p) for p in paths]} hold no record"
        )
    return EvalSet(tuple(texts), tuple(ids))


def _split_pairs(n: int, pair_doc: npt.NDArray[np.int64], pair_eval: npt.NDArray[np.int64]) -> np.ndarray:
    """Per document, the sorted eval indices it is paired with (an object array of int64 arrays)."""
    out = np.empty(n, dtype=object)
    bounds = np.searchsorted(pair_doc, np.arange(n + 1))
    for j in range(n):
        out[j] = np.unique(pair_eval[bounds[j] : bounds[j + 1]]).astype(np.int64)
    return out


@dataclass(frozen=True)
class _ContaminationFeaturizer:
    """Picklable ``texts -> Features``; holds the eval texts (shipped to Ray workers with it)."""

    eval_texts: tuple[str, ...]
    mode: ContaminationMode
    coverage_of: CoverageOf
    ngram: int
    min_match: int
    max_mismatches: int
    tokenizer: str

    def __call__(self, texts: list[str]) -> Features:
        n = len(texts)
        if self.mode == "ngram":
            # With min_match = ngram and no mismatch, a Llama 2 match is a shared run of >= ngram
            # tokens, i.e. exactly the eval documents holding one of the document's hit n-grams.
            found = contamination(texts, self.eval_texts, self.ngram, self.ngram, 0, self.tokenizer)
            matched = _split_pairs(n, found.pair_doc, found.pair_eval)
            return {
                "hits": np.asarray(found.ngram_hits, dtype=np.int64),
                "grams": np.asarray(found.ngram_counts, dtype=np.int64),
                "matched": matched,
            }
        found = contamination(
            texts, self.eval_texts, self.ngram, self.min_match, self.max_mismatches, self.tokenizer
        )
        matched = _split_pairs(n, found.pair_doc, found.pair_eval)
        per_eval = np.empty(n, dtype=object)  # coverage of each matched eval document by this document
        for j in range(n):
            evals = matched[j]
            if evals.size == 0 or self.coverage_of == "document":
                per_eval[j] = np.zeros(evals.size)
                continue
            # Roles swapped: which of the eval document's tokens lie inside matches with document j.
            swapped = contamination(
                [self.eval_texts[e] for e in evals],
                [texts[j]],
                self.ngram,
                self.min_match,
                self.max_mismatches,
                self.tokenizer,
            )
            per_eval[j] = np.asarray(swapped.contaminated_fraction, dtype=np.float64)
        return {
            "fraction": np.asarray(found.contaminated_fraction, dtype=np.float64),
            "tokens": np.asarray(found.token_counts, dtype=np.int64),
            "matched": matched,
            "eval_fraction": per_eval,
        }


def _count(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(
            f"[data.decontaminate] {name} must be an integer >= {minimum}, got {value!r}"
        )
    return value


class DecontaminateStage(Stage):
    """Removes documents contaminated by ``eval_set`` (an :class:`EvalSet` or a list of eval texts,
    ids then being their indices); see the module docstring for the two modes.

    Raises:
        InvalidArgumentError: an empty eval set, a bad mode / coverage_of, ``ngram``, ``min_match`` or
            ``min_hits`` < 1, ``max_mismatches`` < 0, ``threshold`` outside (0, 1].

    """

    name = "decontaminate"

    def __init__(
        self,
        eval_set: EvalSet | Sequence[str],
        *,
        mode: ContaminationMode = "ngram",
        ngram: int = 13,
        min_hits: int = 1,
        min_match: int = 10,
        max_mismatches: int = 4,
        threshold: float = 0.8,
        coverage_of: CoverageOf = "eval",
        tokenizer: str = "words-v1",
    ) -> None:
        if not isinstance(eval_set, EvalSet):
            texts = list(eval_set)
            if not all(isinstance(t, str) for t in texts):
                raise InvalidArgumentError(
                    "[data.decontaminate] eval_set must be an EvalSet or a list of str"
                )
            eval_set = EvalSet(tuple(texts), tuple(range(len(texts))))
        if not eval_set.texts:
            raise InvalidArgumentError("[data.decontaminate] eval_set is empty")
        if mode not in ("ngram", "coverage"):
            raise InvalidArgumentError(
                f"[data.decontaminate] mode must be 'ngram' or 'coverage', got {mode!r}"
            )
        if coverage_of not in ("eval", "document"):
            raise InvalidArgumentError(
                f"[data.decontaminate] coverage_of must be 'eval' or 'document', got {coverage_of!r}"
            )
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or not 0.0 < float(threshold) <= 1.0
        ):
            raise InvalidArgumentError(f"[data.decontaminate] threshold must be in (0, 1], got {threshold!r}")
        self.eval_set = eval_set
        self.mode: ContaminationMode = mode
        self.min_hits = _count(min_hits, "min_hits", 1)
        self.threshold = float(threshold)
        self.coverage_of: CoverageOf = coverage_of
        self._featurize = _ContaminationFeaturizer(
            eval_set.texts,
            mode,
            coverage_of,
            _count(ngram, "ngram", 1),
            _count(min_match, "min_match", 1),
            _count(max_mismatches, "max_mismatches", 0),
            tokenizer,
        )

    def featurizer(self) -> Callable[[list[str]], Features]:
        """N-gram hits or token coverage per document, with the eval documents each matched."""
        return self._featurize

    def decide(self, batch: Batch, features: Features) -> StageResult:
        """Remove the contaminated documents."""
        matched = features["matched"]
        if self.mode == "ngram":
            scores = np.asarray(features["hits"], dtype=np.float64)
            bad = scores >= self.min_hits
            rule, threshold = "ngram_overlap", float(self.min_hits)
        else:
            if self.coverage_of == "document":
                scores = np.asarray(features["fraction"], dtype=np.float64)
            else:
                scores = np.array([float(f.max()) if f.size else 0.0 for f in features["eval_fraction"]])
            bad = scores >= self.threshold
            rule, threshold = "token_coverage", self.threshold
        entries = []
        for i in np.flatnonzero(bad):
            evals = matched[i]
            if self.mode == "coverage" and self.coverage_of == "eval":
                evals = evals[np.asarray(features["eval_fraction"][i]) >= self.threshold]
            eval_ids = [self.eval_set.ids[int(e)] for e in evals]
            if self.mode == "ngram":
                grams = int(features["grams"][i])
                detail = f"{int(scores[i])} of {grams} {self._featurize.ngram}-grams in eval docs {eval_ids}"
            else:
                detail = f"{self.coverage_of} coverage {scores[i]:.4f}; eval docs {eval_ids}"
            entries.append(
                LedgerEntry(
                    batch.ids[i],
                    self.name,
                    rule,
                    int(batch.positions[i]),
                    score=float(scores[i]),
                    threshold=threshold,
                    duplicate_of=eval_ids,
                    detail=detail,
                )
            )
        return StageResult(~bad, entries)

    def summary(self) -> dict[str, Any]:
        """Eval set size and mode."""
        return {"eval_documents": len(self.eval_set.texts), "mode": self.mode}
