"""Curation of the quickstart corpus: quality filter, exact and near-duplicate removal.

Quality follows Gopher's rules scaled to short replies (Rae et al. 2021): enough words, a sane mean
word length, few symbols per word, most words alphabetic, little repetition. Exact duplicates are
found by a 128-bit hash of the normalised prompt and reply; near-duplicates (the same prompt answered
twice with nearly the same reply) by MinHash signatures of the reply's character 3-gram shingles
(the MLForge engine), LSH banding within each prompt and a Jaccard estimate from the signatures.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from reactor import engine

__all__ = ["CurationReport", "curate", "normalise", "quality_problems"]

_WORD = re.compile(r"\w+", re.UNICODE)


def normalise(text: str) -> str:
    """Case-folded, NFKC, punctuation dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_WORD.findall(text))


def quality_problems(text: str) -> list[str]:
    """The rules ``text`` breaks (empty when it passes)."""
    words = text.split()
    problems = []
    if not 2 <= len(words) <= 200:
        problems.append("word_count")
        return problems
    mean_length = sum(len(w) for w in words) / len(words)
    if not 2.0 <= mean_length <= 12.0:
        problems.append("mean_word_length")
    symbols = sum(text.count(s) for s in ("#", "$", "%", "<", ">", "..."))
    if symbols / len(words) > 0.1:
        problems.append("symbol_ratio")
    # Gopher asks for alphabetic words; short answers are often numbers, so any letter or digit counts.
    if sum(any(c.isalnum() for c in w) for w in words) / len(words) < 0.8:
        problems.append("alphanumeric_ratio")
    if len(set(words)) / len(words) < 0.3:
        problems.append("repetition")
    return problems


@dataclass
class CurationReport:
    """What curation kept and why it dropped the rest."""

    input_records: int = 0
    quality_removed: int = 0
    quality_rule_hits: dict[str, int] = field(default_factory=dict)  # a record may break several rules
    exact_duplicates: int = 0
    near_duplicates: int = 0
    kept: int = 0


def _shingle_hashes(text: str, width: int = 3) -> np.ndarray:
    padded = f" {text} "
    grams = {padded[i : i + width] for i in range(max(1, len(padded) - width + 1))}
    return np.array(
        sorted(int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little") for g in grams),
        dtype=np.uint64,
    )


def _near_duplicate_groups(
    groups: list[str], texts: list[str], threshold: float, bands: int, seed: int
) -> list[int]:
    """For each text, the index of the first text of its group it near-duplicates (itself when none)."""
    shingles = [_shingle_hashes(t) for t in texts]
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in shingles])
    signatures = engine.minhash(np.concatenate(shingles), offsets, num_perm=128, seed=seed)
    rows = signatures.shape[1] // bands
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for band in range(bands):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        for index in range(len(texts)):
            key = groups[index].encode() + signatures[index, band * rows : (band + 1) * rows].tobytes()
            buckets[key].append(index)
        for members in buckets.values():
            for other in members[1:]:
                similarity = float(np.mean(signatures[members[0]] == signatures[other]))
                if similarity >= threshold:
                    a, b = root(members[0]), root(other)
                    parent[max(a, b)] = min(a, b)  # the earliest record represents the group
    return [root(i) for i in range(len(texts))]


def curate(
    records: list[dict[str, str]], *, near_duplicate_threshold: float = 0.5, seed: int = 1
) -> tuple[list[dict[str, str]], CurationReport]:
    """Records that pass the quality rules, with exact and near duplicates (of prompt + response) removed."""
    report = CurationReport(input_records=len(records))
    passed = []
    for record in records:
        problems = quality_problems(record["response"])
        for problem in problems:
            report.quality_rule_hits[problem] = report.quality_rule_hits.get(problem, 0) + 1
        report.quality_removed += bool(problems)
        if not problems:
            passed.append(record)
    seen: set[bytes] = set()
    unique = []
    for record in passed:
        key = hashlib.blake2b(
            normalise(record["prompt"] + "\n" + record["response"]).encode(), digest_size=16
        ).digest()
        if key in seen:
            report.exact_duplicates += 1
            continue
        seen.add(key)
        unique.append(record)
    prompts = [normalise(record["prompt"]) for record in unique]
    replies = [normalise(record["response"]) for record in unique]
    groups = (
        _near_duplicate_groups(prompts, replies, near_duplicate_threshold, bands=64, seed=seed)
        if unique
        else []
    )
    kept = [record for index, record in enumerate(unique) if groups[index] == index]
    report.near_duplicates = len(unique) - len(kept)
    report.kept = len(kept)
    return kept, report
