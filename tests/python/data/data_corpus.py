"""Hand-made corpora with known duplicates, and independent references (pure Python) to check against."""

from __future__ import annotations

import json
import random
import re
import string
from pathlib import Path

WORD = re.compile(r"\w+")


def vocabulary(size: int = 2000, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < size:  # letters only: the engine's tokenizer folds digits
        words.add("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9))))
    return sorted(words)


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = WORD.findall(text.casefold())
    return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def jaccard(a: str, b: str, n: int = 5) -> float:
    x, y = shingles(a, n), shingles(b, n)
    return len(x & y) / len(x | y) if x | y else 0.0


def normalised(text: str) -> str:
    return " ".join(WORD.findall(text.casefold()))


def near_corpus(
    originals: int = 60, near: int = 30, exact: int = 10, words: int = 80, seed: int = 1, shuffle: bool = True
) -> tuple[list[str], list[int]]:
    """Texts and, per text, the index of the original it was made from. Near copies replace one word
    (5-gram Jaccard ~0.88 with their original); exact copies change case and punctuation only.
    """
    rng = random.Random(seed)
    vocab = vocabulary(seed=seed)
    base = [[rng.choice(vocab) for _ in range(words)] for _ in range(originals)]
    texts = [" ".join(ws) for ws in base]
    source = list(range(originals))
    for _ in range(near):
        s = rng.randrange(originals)
        ws = list(base[s])
        ws[rng.randrange(words)] = rng.choice(vocab)
        texts.append(" ".join(ws))
        source.append(s)
    for _ in range(exact):
        s = rng.randrange(originals)
        texts.append(" ".join(base[s]).upper() + ".")
        source.append(s)
    if shuffle:
        order = list(range(len(texts)))
        rng.shuffle(order)
        texts, source = [texts[i] for i in order], [source[i] for i in order]
    return texts, source


def write_jsonl(path: Path, records: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    return path


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def union_find_clusters(n: int, pairs: list[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)
    return [root(i) for i in range(n)]
