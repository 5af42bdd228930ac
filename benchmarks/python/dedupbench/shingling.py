"""Python word 5-gram shingling (the peers' tokenisation) and exact Jaccard between corpus texts."""

from __future__ import annotations

from collections.abc import Sequence

from dedupbench.config import NGRAM


def shingle_strs(text: str) -> list[str]:
    """Word 5-grams as strings: the tokenisation a datasketch or rensa user writes."""
    w = text.split()
    return [" ".join(w[i : i + NGRAM]) for i in range(len(w) - NGRAM + 1)]


def shingle_bytes(text: str) -> list[bytes]:
    """Word 5-grams as UTF-8 bytes (datasketch hashes bytes)."""
    w = text.split()
    return [" ".join(w[i : i + NGRAM]).encode() for i in range(len(w) - NGRAM + 1)]


class ExactJaccard:
    """Exact word 5-gram Jaccard between texts of one corpus (sets built lazily, cached)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        self.sets: dict[int, frozenset[tuple[str, ...]]] = {}

    def shingles(self, i: int) -> frozenset[tuple[str, ...]]:
        if i not in self.sets:
            w = self.texts[i].split()
            self.sets[i] = frozenset(zip(*(w[k:] for k in range(NGRAM)), strict=False))
        return self.sets[i]

    def __call__(self, i: int, j: int) -> float:
        a, b = self.shingles(i), self.shingles(j)
        union = len(a | b)
        return len(a & b) / union if union else 0.0
