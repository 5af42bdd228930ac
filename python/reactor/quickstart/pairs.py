"""Preference pairs from curated replies: for each prompt, a helpful reply (chosen) against an
unhelpful one (rejected); prompts are split into training and held-out sets.
"""

from __future__ import annotations

import random
from collections import defaultdict

__all__ = ["build_pairs", "split_by_prompt"]


def build_pairs(records: list[dict[str, str]]) -> list[dict[str, str]]:
    """One pair per prompt that kept both a helpful and an unhelpful reply (first of each kind)."""
    by_prompt: dict[str, dict[str, str]] = defaultdict(dict)
    for record in records:
        by_prompt[record["prompt"]].setdefault(record["kind"], record["response"])
    return [
        {"prompt": prompt, "chosen": replies["helpful"], "rejected": replies["unhelpful"]}
        for prompt, replies in by_prompt.items()
        if "helpful" in replies and "unhelpful" in replies
    ]


def split_by_prompt(
    pairs: list[dict[str, str]], heldout_fraction: float, seed: int
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Training and held-out pairs; no prompt is in both."""
    order = sorted(pairs, key=lambda pair: pair["prompt"])
    random.Random(seed).shuffle(order)
    cut = max(1, round(len(order) * heldout_fraction))
    return order[cut:], order[:cut]
