"""An independent Python model of the words-v1 tokenizer (mlforge/dedup/text.h), from unicodedata.

Used only as a test reference: tokens (normalised strings) with their UTF-8 byte spans.
"""

from __future__ import annotations

import unicodedata

NO_SPACE = [
    (0x0E00, 0x0E7F),
    (0x0E80, 0x0EFF),
    (0x1000, 0x109F),
    (0x1780, 0x17FF),
    (0x3040, 0x30FF),
    (0x3100, 0x312F),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF),
    (0xFF66, 0xFF9F),
    (0x20000, 0x3134F),
]


def _fold(ch: str) -> str:
    folded = ch.casefold()
    if len(folded) != 1:
        folded = ch.lower()
    return folded if len(folded) == 1 else ch


def _strip(ch: str) -> str:
    decomposed = unicodedata.normalize("NFD", ch)
    if (
        len(decomposed) > 1
        and unicodedata.category(decomposed[0])[0] == "L"
        and all(unicodedata.category(m) == "Mn" for m in decomposed[1:])
    ):
        return decomposed[0]
    return ch


def tokens(text: str, *, strip_accents: bool = False) -> list[tuple[str, int, int]]:
    """(normalised token, byte begin, byte end) for words-v1 (+accents when strip_accents)."""
    out: list[tuple[str, int, int]] = []
    current: list[str] = []
    begin = end = 0
    offset = 0

    def flush() -> None:
        if current:
            out.append(("".join(current), begin, end))
            current.clear()

    for ch in text:
        original = ord(ch)
        width = len(ch.encode("utf-8"))
        at, offset = offset, offset + width
        category = unicodedata.category(ch)
        if category.startswith("Z") or category == "Cc" or category[0] in "PS":
            flush()
            continue
        if category in ("Mn", "Me") and strip_accents:
            if current:
                end = offset
            continue
        if category == "Nd":
            ch = "0"
        ch = _fold(ch)
        if strip_accents:
            ch = _fold(_strip(ch))
        no_space = category[0] == "L" and any(lo <= original <= hi for lo, hi in NO_SPACE)
        if no_space:
            flush()
            out.append((ch, at, offset))
            continue
        if not current:
            begin = at
        current.append(ch)
        end = offset
    flush()
    return out


def shingles(text: str, n: int) -> set[tuple[str, ...]]:
    """The set of word n-grams (one shingle of all tokens when shorter than n)."""
    words = [t for t, _, _ in tokens(text)]
    if not words:
        return set()
    if len(words) < n:
        return {tuple(words)}
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0
