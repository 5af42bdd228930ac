"""Span-level dedup analyses from the engine (``mlforge/dedup/{substring,contamination,quality}.h``).

All three take documents as a sequence of ``str`` (or UTF-8 ``bytes``) and run in one engine call
without the GIL. Spans are reported per document, ragged: document ``j`` owns entries
``offsets[j]:offsets[j + 1]`` of the ``begin``/``end`` arrays. Byte spans are offsets into the
document's UTF-8 encoding (``text.encode()``), half-open, sorted and merged.

- :func:`substring_duplicates`: exact-substring dedup (Lee et al. 2021): every span of at least
  ``min_tokens`` tokens that occurs more than once in the batch, via a suffix array.
- :func:`contamination`: GPT-3 13-gram overlap and Llama 2 token coverage against an eval set.
- :func:`quality_signals`: Gopher-style heuristics, one float64 row per document.

Tokens are those of the shared dedup tokenizer (``tokenizer="words-v1"`` by default).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from reactor import _mlforge
from reactor.errors import InvalidArgumentError

__all__ = [
    "QUALITY_SIGNAL_NAMES",
    "Contamination",
    "SubstringDuplicates",
    "contamination",
    "quality_signals",
    "substring_duplicates",
]

Texts = Sequence[str] | Sequence[bytes] | Iterable[str | bytes]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Column names of :func:`quality_signals`' matrix, in order (see ``mlforge/dedup/quality.h``).
QUALITY_SIGNAL_NAMES: tuple[str, ...] = tuple(_mlforge.dedup_analysis.quality_signal_names())


def _check_int(op: str, name: str, value: Any, minimum: int) -> int:
    integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not integral or not minimum <= int(value) < 2**63:
        raise InvalidArgumentError(f"[{op}] {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_str(op: str, name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"[{op}] {name} must be a str, got {value!r}")
    return value


def _ranges(offsets: IntArray, begin: IntArray, end: IntArray, j: int) -> IntArray:
    lo, hi = int(offsets[j]), int(offsets[j + 1])
    return np.stack([begin[lo:hi], end[lo:hi]], axis=1)


def _remove(
    texts: Sequence[str | bytes], offsets: IntArray, begin: IntArray, end: IntArray
) -> list[str | bytes]:
    if len(texts) != len(offsets) - 1:
        raise InvalidArgumentError(f"[dedup.remove] expected {len(offsets) - 1} texts, got {len(texts)}")
    out: list[str | bytes] = []
    for j, text in enumerate(texts):
        data = text.encode() if isinstance(text, str) else bytes(text)
        pieces, at = [], 0
        for b, e in zip(begin[offsets[j] : offsets[j + 1]], end[offsets[j] : offsets[j + 1]], strict=True):
            pieces.append(data[at:b])
            at = int(e)
        pieces.append(data[at:])
        kept = b"".join(pieces)
        out.append(kept.decode() if isinstance(text, str) else kept)
    return out


@dataclass(frozen=True)
class SubstringDuplicates:
    """Duplicated spans per document (merged, sorted); see :func:`substring_duplicates`.

    ``token_*``: token indices within the document; ``byte_*``: UTF-8 byte offsets, from the first
    duplicated token's start to the last one's end. ``*_offsets`` has ``len(texts) + 1`` entries.
    """

    token_offsets: IntArray
    token_begin: IntArray
    token_end: IntArray
    byte_offsets: IntArray
    byte_begin: IntArray
    byte_end: IntArray
    duplicated_tokens: IntArray  #: per document: tokens inside duplicated spans
    token_counts: IntArray  #: per document: all tokens
    invalid_utf8: IntArray  #: documents whose invalid bytes were replaced

    def byte_ranges(self, j: int) -> IntArray:
        """``[k, 2]`` array of document ``j``'s duplicated byte spans."""
        return _ranges(self.byte_offsets, self.byte_begin, self.byte_end, j)

    def token_ranges(self, j: int) -> IntArray:
        """``[k, 2]`` array of document ``j``'s duplicated token spans."""
        return _ranges(self.token_offsets, self.token_begin, self.token_end, j)

    def remove(self, texts: Sequence[str | bytes]) -> list[str | bytes]:
        """The texts with their duplicated byte spans cut out (the same texts, in the same order)."""
        return _remove(texts, self.byte_offsets, self.byte_begin, self.byte_end)


@dataclass(frozen=True)
class Contamination:
    """Contamination of documents by an eval set; see :func:`contamination` for the definitions."""

    ngram_hits: IntArray  #: per document: n-gram positions found in the eval set
    ngram_counts: IntArray  #: per document: n-gram positions, ``max(0, tokens - ngram + 1)``
    ngram_offsets: IntArray
    ngram_begin: IntArray  #: merged byte spans of hit n-grams
    ngram_end: IntArray
    token_counts: IntArray
    contaminated_tokens: IntArray  #: per document: tokens inside Llama 2 matches
    contaminated_fraction: FloatArray
    coverage_offsets: IntArray
    coverage_begin: IntArray  #: merged byte spans of contaminated tokens
    coverage_end: IntArray
    pair_doc: IntArray  #: (document, eval document) pairs with a match, sorted by document
    pair_eval: IntArray
    pair_tokens: IntArray  #: document tokens covered by matches with that eval document
    eval_token_counts: IntArray
    eval_contaminated_tokens: IntArray  #: per eval document: tokens inside matches
    eval_contaminated_fraction: FloatArray
    invalid_utf8: IntArray
    eval_invalid_utf8: IntArray

    def matched_eval(self, j: int) -> IntArray:
        """Indices of the eval documents that document ``j`` matches (Llama 2 matches)."""
        return self.pair_eval[self.pair_doc == j]

    def ngram_ranges(self, j: int) -> IntArray:
        """``[k, 2]`` byte spans of document ``j`` covered by n-grams found in the eval set."""
        return _ranges(self.ngram_offsets, self.ngram_begin, self.ngram_end, j)

    def coverage_ranges(self, j: int) -> IntArray:
        """``[k, 2]`` byte spans of document ``j``'s contaminated tokens."""
        return _ranges(self.coverage_offsets, self.coverage_begin, self.coverage_end, j)


def substring_duplicates(
    texts: Texts,
    min_tokens: int = 50,
    keep_first: bool = True,
    tokenizer: str = "words-v1",
    *,
    replace_invalid: bool = False,
) -> SubstringDuplicates:
    """Spans of at least ``min_tokens`` tokens that occur more than once in ``texts``.

    A token is duplicated when it lies inside such a span; spans never cross documents. With
    ``keep_first`` (default) the first occurrence in corpus order (document index, then position)
    is kept and only later copies are marked; otherwise every copy is marked, like Lee et al.'s
    tool. Use :meth:`SubstringDuplicates.remove` to cut the spans out.

    Raises:
        TypeError: ``texts`` is not a sequence of str/bytes (the message names the bad index).
        InvalidArgumentError: ``min_tokens < 1``, an unknown ``tokenizer``, invalid UTF-8 in bytes
            (unless ``replace_invalid``).

    """
    op = "dedup.substring"
    d = _mlforge.dedup_analysis.substring_duplicates(
        texts,
        _check_int(op, "min_tokens", min_tokens, 1),
        bool(keep_first),
        _check_str(op, "tokenizer", tokenizer),
        bool(replace_invalid),
    )
    return SubstringDuplicates(**d)


def contamination(
    texts: Texts,
    eval_texts: Texts,
    ngram: int = 13,
    min_match: int = 10,
    max_mismatches: int = 4,
    tokenizer: str = "words-v1",
    *,
    replace_invalid: bool = False,
) -> Contamination:
    """Contamination of ``texts`` by ``eval_texts``, GPT-3 and Llama 2 style, in one call.

    GPT-3: a document's n-gram (``ngram`` tokens) is a hit when it occurs in some eval document.
    Llama 2: a token is contaminated when it lies inside a match of at least ``min_match`` tokens
    with an eval document, where the aligned windows may differ in at most ``max_mismatches``
    positions, none within the first ``min_match`` tokens and none at the end. Coverage is reported
    for documents, (document, eval document) pairs and eval documents.

    Raises:
        TypeError: ``texts`` or ``eval_texts`` is not a sequence of str/bytes.
        InvalidArgumentError: ``ngram < 1``, ``min_match < 1``, ``max_mismatches < 0``, an unknown
            ``tokenizer`` or invalid UTF-8 in bytes (unless ``replace_invalid``).

    """
    op = "dedup.contamination"
    d = _mlforge.dedup_analysis.contamination(
        texts,
        eval_texts,
        _check_int(op, "ngram", ngram, 1),
        _check_int(op, "min_match", min_match, 1),
        _check_int(op, "max_mismatches", max_mismatches, 0),
        _check_str(op, "tokenizer", tokenizer),
        bool(replace_invalid),
    )
    return Contamination(**d)


def quality_signals(texts: Texts, *, replace_invalid: bool = False) -> tuple[FloatArray, tuple[str, ...]]:
    """Gopher-style quality signals: a float64 ``[len(texts), 21]`` matrix and its column names.

    Columns (:data:`QUALITY_SIGNAL_NAMES`): word count, mean word length, ``#`` and ellipsis per
    word, fractions of lines ending in an ellipsis or starting with a bullet, fraction of words
    with a letter, stop-word count, duplicate line/paragraph fractions (by count and characters),
    top 2/3/4-gram character fractions and duplicated 5..10-gram character fractions. Words are
    whitespace-separated (``str.split()``); lengths are in code points. Exact definitions are in
    ``mlforge/dedup/quality.h``.

    Raises:
        TypeError: ``texts`` is not a sequence of str/bytes.
        InvalidArgumentError: invalid UTF-8 in bytes (unless ``replace_invalid``).

    """
    matrix, _invalid = _mlforge.dedup_analysis.quality_signals(texts, bool(replace_invalid))
    return matrix, QUALITY_SIGNAL_NAMES
