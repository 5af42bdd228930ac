"""Exact-substring dedup (Lee et al. 2021, "Deduplicating Training Data Makes Language Models Better").

Every span of at least ``min_tokens`` tokens that occurs more than once in the corpus is cut out of
the documents that hold a later copy (``keep_first=True``, the default) or of every copy
(``keep_first=False``, the paper's tool). The document is rewritten (ledger action ``changed``, rule
``duplicate_span``, with the removed UTF-8 byte ranges and character counts); a document left
with fewer than ``min_remaining_words`` words is removed instead (rule ``remainder_too_short``).

**This stage is global in every pipeline mode.** Which spans repeat is a property of the whole
corpus, so the stage cannot decide a batch before it has seen all of them: the pipeline spends one
extra read of the input on it (the observation pass), in which the stage keeps *every text that
reaches it* in memory, then runs one engine suffix array over all of them
(:func:`reactor.engine.dedup_analysis.substring_duplicates`: about the corpus's size for the texts
plus a few dozen bytes per token while the suffix array is built; at most 2^31 - 2 tokens and
documents together). Only the cut ranges of changed documents are kept for the writing pass. With
``pipeline.mode = "streaming"`` the other stages stay one-pass; this one does not. For corpora that
do not fit in memory, run the stage on shards of the corpus (one pipeline run per shard): spans
repeated across shards are then not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from reactor.data.ledger import LedgerEntry
from reactor.data.stages.base import Batch, Features, Stage, StageResult, _Grow
from reactor.engine.dedup_analysis import substring_duplicates
from reactor.errors import CorruptDataError, InvalidArgumentError

__all__ = ["SubstringDedupStage", "cut_byte_ranges"]


def cut_byte_ranges(text: str, ranges: npt.ArrayLike) -> str:
    """``text`` without the half-open UTF-8 byte ranges ``ranges`` (``[k, 2]``, sorted, disjoint)."""
    data = text.encode("utf-8")
    pieces, at = [], 0
    for begin, end in np.asarray(ranges, dtype=np.int64).reshape(-1, 2):
        if not at <= begin <= end <= len(data):
            raise InvalidArgumentError(
                f"[data.substring_dedup] byte range [{begin}, {end}) is not sorted or outside "
                f"a text of {len(data)} bytes"
            )
        pieces.append(data[at:begin])
        at = int(end)
    pieces.append(data[at:])
    return b"".join(pieces).decode("utf-8")


@dataclass(frozen=True, slots=True)
class _Cut:
    """The decision for one changed document."""

    ranges: npt.NDArray[np.int64]  #: [k, 2] UTF-8 byte ranges to remove
    nbytes: int  #: UTF-8 length of the observed text (to detect an input that changed)
    chars: int  #: characters of the observed text
    removed_chars: int
    remaining_words: int


class SubstringDedupStage(Stage):
    """Cuts repeated spans of at least ``min_tokens`` tokens (engine tokenizer ``tokenizer``) out of
    documents; see the module docstring for the memory this global stage needs.

    Ledger: ``changed`` / ``duplicate_span`` with ``score`` the fraction of characters removed,
    ``threshold`` = ``min_tokens`` and ``detail`` the byte ranges; ``removed`` /
    ``remainder_too_short`` with ``score`` the words left and ``threshold`` = ``min_remaining_words``.

    Raises:
        InvalidArgumentError: ``min_tokens < 1``, ``min_remaining_words < 0``.

    """

    name = "substring_dedup"

    def __init__(
        self,
        min_tokens: int = 50,
        *,
        keep_first: bool = True,
        min_remaining_words: int = 5,
        tokenizer: str = "words-v1",
    ) -> None:
        if isinstance(min_tokens, bool) or not isinstance(min_tokens, int) or min_tokens < 1:
            raise InvalidArgumentError(
                f"[data.substring_dedup] min_tokens must be an integer >= 1, got {min_tokens!r}"
            )
        if (
            isinstance(min_remaining_words, bool)
            or not isinstance(min_remaining_words, int)
            or min_remaining_words < 0
        ):
            raise InvalidArgumentError(
                f"[data.substring_dedup] min_remaining_words must be an integer >= 0, "
                f"got {min_remaining_words!r}"
            )
        self.min_tokens = min_tokens
        self.keep_first = bool(keep_first)
        self.min_remaining_words = min_remaining_words
        self.tokenizer = tokenizer
        self._texts: list[str] = []
        self._positions = _Grow(np.int64)
        self._cuts: dict[int, _Cut] | None = None
        self._stats: dict[str, int] = {}

    @property
    def needs_observation(self) -> bool:
        """True until the whole corpus has been observed and :meth:`finalize` ran."""
        return self._cuts is None

    def observe(self, batch: Batch, features: Features) -> None:
        """Keep the batch's texts (the suffix array needs all of them at once)."""
        if self._cuts is not None:
            raise InvalidArgumentError("[data.substring_dedup] already finalized; nothing more to observe")
        self._texts.extend(batch.texts)
        self._positions.extend(np.asarray(batch.positions, dtype=np.int64))

    def finalize(self) -> None:
        """One suffix array over every observed text; keep only the cuts of changed documents."""
        texts, positions = self._texts, self._positions.values
        cuts: dict[int, _Cut] = {}
        corpus_bytes = removed_bytes = 0
        if texts:
            found = substring_duplicates(
                texts, min_tokens=self.min_tokens, keep_first=self.keep_first, tokenizer=self.tokenizer
            )
            for j in np.flatnonzero(found.duplicated_tokens > 0):
                text = texts[j]
                ranges = np.array(found.byte_ranges(int(j)), dtype=np.int64)
                new = cut_byte_ranges(text, ranges)
                nbytes = len(text.encode("utf-8"))
                removed_bytes += int((ranges[:, 1] - ranges[:, 0]).sum())
                cuts[int(positions[j])] = _Cut(
                    ranges, nbytes, len(text), len(text) - len(new), len(new.split())
                )
            corpus_bytes = sum(len(t.encode("utf-8")) for t in texts)
        self._stats = {
            "observed": len(texts),
            "corpus_bytes": corpus_bytes,
            "changed_or_removed": len(cuts),
            "removed_bytes": removed_bytes,
        }
        self._texts = []  # the decisions are all the writing pass needs
        self._cuts = cuts

    def decide(self, batch: Batch, features: Features) -> StageResult:
        """Apply the cuts made by :meth:`finalize` to the documents of ``batch``."""
        if self._cuts is None:
            raise InvalidArgumentError(
                "[data.substring_dedup] the stage must observe the whole input and finalize first"
            )
        observed = self._positions.values
        rows = np.searchsorted(observed, batch.positions)
        if np.any(rows >= observed.size) or np.any(
            observed[np.minimum(rows, max(observed.size - 1, 0))] != batch.positions
        ):
            raise CorruptDataError(
                "[data.substring_dedup] the input changed between passes (unknown document position)"
            )
        keep = np.ones(len(batch), dtype=bool)
        texts = list(batch.texts)
        entries: list[LedgerEntry] = []
        for i, position in enumerate(batch.positions.tolist()):
            cut = self._cuts.get(position)
            if cut is None:
                continue
            if len(texts[i].encode("utf-8")) != cut.nbytes:
                raise CorruptDataError(
                    f"[data.substring_dedup] document at position {position} changed between passes"
                )
            spans = cut.ranges.tolist()
            detail = f"removed bytes {spans}: {cut.removed_chars} of {cut.chars} chars"
            if cut.remaining_words < self.min_remaining_words:
                keep[i] = False
                entries.append(
                    LedgerEntry(
                        batch.ids[i],
                        self.name,
                        "remainder_too_short",
                        position,
                        score=float(cut.remaining_words),
                        threshold=float(self.min_remaining_words),
                        detail=detail,
                    )
                )
                continue
            texts[i] = cut_byte_ranges(texts[i], cut.ranges)
            entries.append(
                LedgerEntry(
                    batch.ids[i],
                    self.name,
                    "duplicate_span",
                    position,
                    score=cut.removed_chars / cut.chars if cut.chars else 0.0,
                    threshold=float(self.min_tokens),
                    action="changed",
                    detail=detail,
                )
            )
        return StageResult(keep, entries, texts)

    def summary(self) -> dict[str, Any]:
        """Observed documents and bytes, changed documents and removed bytes."""
        return dict(self._stats)
