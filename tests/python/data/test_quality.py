"""reactor.engine.quality_signals against a pure-Python reference of the documented definitions."""

from __future__ import annotations

import random
import string

import numpy as np
import pytest

from reactor.engine import QUALITY_SIGNAL_NAMES, quality_signals
from reactor.errors import InvalidArgumentError

STOP = {"the", "be", "to", "of", "and", "that", "have", "with"}
BULLETS = ("-", "*", "\u2022", "\u2023", "\u2043", "\u25aa", "\u25cf", "\u25e6")
ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def duplicates(units: list[str]) -> tuple[float, float]:
    seen: set[str] = set()
    count = chars = 0
    for u in units:
        if u in seen:
            count += 1
            chars += len(u)
        seen.add(u)
    total = sum(len(u) for u in units)
    return (count / len(units) if units else 0.0), (chars / total if total else 0.0)


def covered(words: list[str], starts: list[int], n: int) -> int:
    return sum(len(words[k]) for k in {k for i in starts for k in range(i, i + n)})


def reference(text: str) -> list[float]:
    words = text.split()
    w = len(words)
    chars = sum(len(x) for x in words)
    raw = text.split("\n")
    lines = [line.strip() for line in raw if line.strip()]
    paragraphs, run = [], []
    for line in [*raw, ""]:
        if line.strip():
            run.append(line)
        elif run:
            paragraphs.append("\n".join(run).strip())
            run = []

    def per_word(x: float) -> float:
        return x / w if w else 0.0

    def per_line(x: float) -> float:
        return x / len(lines) if lines else 0.0

    row = [
        float(w),
        per_word(chars),
        per_word(text.count("#")),
        per_word(text.count("...") + text.count("\u2026")),
        per_line(sum(line.endswith(("...", "\u2026")) for line in lines)),
        per_line(sum(line.startswith(BULLETS) for line in lines)),
        per_word(sum(any(c.isalpha() for c in x) for x in words)),
        float(sum(x.strip(string.punctuation).translate(ASCII_LOWER) in STOP for x in words)),
        *duplicates(lines),
        *duplicates(paragraphs),
    ]
    for n in range(2, 11):
        positions: dict[tuple[str, ...], list[int]] = {}
        for i in range(w - n + 1):
            positions.setdefault(tuple(words[i : i + n]), []).append(i)
        if not positions:
            row.append(0.0)
            continue
        if n <= 4:
            most = max(len(p) for p in positions.values())
            best = max(covered(words, p, n) for p in positions.values() if len(p) == most)
        else:
            best = covered(words, [i for p in positions.values() if len(p) > 1 for i in p], n)
        row.append(best / chars)
    return row


PIECES = [
    "the", "The,", "cat", "sat", "on", "mat", "(and)", "THAT", "have.", "with", "Été", "中文", "123",
    "#tag", "##", "...", "wait....", "\u2026", "-", "*", "\u2022", "x.y", "ǅ", "ⅷ", "٣",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", "  ", "\t", "\n", "\n\n", " \n \n", "\r\n", "\u3000", "\xa0", "\u2028", "\x1c"]


def random_text(rng: random.Random) -> str:
    out: list[str] = []
    for _ in range(rng.randint(0, 50)):
        if len(out) > 4 and rng.random() < 0.25:
            start = rng.randint(0, len(out) - 1)
            out.extend(out[start : start + rng.randint(1, 8)])
        else:
            pieces = PIECES[:6] if rng.random() < 0.5 else PIECES
            out.append(rng.choice(pieces) + rng.choice(SEPARATORS))
    return ("\n " if rng.random() < 0.3 else "") + "".join(out)


def test_random_documents_match_reference() -> None:
    rng = random.Random(8)
    texts = [random_text(rng) for _ in range(300)] + ["", "   ", "\n\n\n", "one"]
    matrix, names = quality_signals(texts)
    assert names == QUALITY_SIGNAL_NAMES
    assert matrix.shape == (len(texts), len(names)) == (len(texts), 21)
    assert matrix.dtype == np.float64
    want = np.array([reference(t) for t in texts])
    for c, name in enumerate(names):
        np.testing.assert_allclose(matrix[:, c], want[:, c], rtol=1e-12, atol=0, err_msg=name)
        assert (want[:, c] > 0).sum() > 10 or name == "hash_to_word_ratio", f"{name} barely exercised"


def test_signal_order_is_documented() -> None:
    assert QUALITY_SIGNAL_NAMES[:8] == (
        "word_count",
        "mean_word_length",
        "hash_to_word_ratio",
        "ellipsis_to_word_ratio",
        "ellipsis_line_fraction",
        "bullet_line_fraction",
        "alpha_word_fraction",
        "stop_word_count",
    )
    assert QUALITY_SIGNAL_NAMES[-1] == "dup_10gram_char_fraction"


def test_repeated_paragraph_document() -> None:
    para = "The quick brown fox jumps over the lazy dog near the river bank."
    matrix, names = quality_signals([f"{para}\n\n{para}", para])
    col = {n: i for i, n in enumerate(names)}
    assert matrix[0, col["dup_paragraph_fraction"]] == 0.5
    assert matrix[0, col["dup_paragraph_char_fraction"]] == 0.5
    assert matrix[0, col["dup_5gram_char_fraction"]] == 1.0  # every copy counts
    assert matrix[1, col["dup_5gram_char_fraction"]] == 0.0
    assert matrix[1, col["stop_word_count"]] == 3


def test_bad_input() -> None:
    with pytest.raises(TypeError, match=r"texts\[1\] must be str or bytes, got float"):
        quality_signals(["ok", 1.5])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError, match="document 0 is not valid UTF-8"):
        quality_signals([b"\xc3"])
    matrix, _ = quality_signals([b"\xc3 ok"], replace_invalid=True)
    assert matrix[0, 0] == 2
    matrix, _ = quality_signals([])
    assert matrix.shape == (0, 21)
