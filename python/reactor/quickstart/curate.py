"""Curation of the quickstart corpus: quality filter, exact and near-duplicate removal.

Quality follows Gopher's rules scaled to short replies (Rae et al. 2021): enough words, a sane mean
word length, few symbols per word, most words alphabetic, little repetition. Duplicates are found by
the dedup engine (:mod:`reactor.data.dedup`): exact ones by 128-bit fingerprints of the normalised
prompt and reply, near ones (the same prompt answered twice with nearly the same reply) by MinHash
LSH over the reply's character 3-grams, verified by exact Jaccard.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from reactor.data import dedup

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


# Replies differ in their numbers ("7 plus 5 is 12" vs "... is 13"), so digits are not folded.
_EXACT_TOKENIZER = "words-v1-digits"
_NEAR_TOKENIZER = "chars-v1-digits"


def _near_duplicate_groups(prompts: list[str], replies: list[str], threshold: float, seed: int) -> list[int]:
    """For each reply, the index of the first reply to the same prompt it near-duplicates (itself when none):
    character 3-gram Jaccard of at least ``threshold``, found and verified by the engine's MinHash index.
    """
    by_prompt: dict[str, list[int]] = defaultdict(list)
    for index, prompt in enumerate(prompts):
        by_prompt[prompt].append(index)
    representative = list(range(len(replies)))
    for members in by_prompt.values():
        ids = dedup.near_duplicates(
            [replies[i] for i in members], threshold=threshold, ngram=3, seed=seed, tokenizer=_NEAR_TOKENIZER
        )
        for position, cluster in enumerate(ids):
            representative[members[position]] = members[int(cluster)]
    return representative


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
    exact_ids = dedup.exact_duplicates(
        [record["prompt"] + "\n" + record["response"] for record in passed], tokenizer=_EXACT_TOKENIZER
    )
    unique = [record for index, record in enumerate(passed) if exact_ids[index] == index]
    report.exact_duplicates = len(passed) - len(unique)
    prompts = [normalise(record["prompt"]) for record in unique]
    replies = [record["response"] for record in unique]
    groups = _near_duplicate_groups(prompts, replies, near_duplicate_threshold, seed)
    kept = [record for index, record in enumerate(unique) if groups[index] == index]
    report.near_duplicates = len(unique) - len(kept)
    report.kept = len(kept)
    return kept, report
