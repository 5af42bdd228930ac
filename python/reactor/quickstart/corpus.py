"""The quickstart corpus: assistant replies to small tasks, helpful and unhelpful, with the
duplicates, near-duplicates and junk a scraped corpus has, generated from a seed.

Each task has a prompt and a correct, helpful reply computed from the task itself; unhelpful
replies (refusals, dismissals) come from a fixed list. The preference rule the model must learn
is "a helpful answer beats a refusal", on prompts it has never seen.
"""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["REFUSALS", "generate_corpus"]

WORDS = [
    "apple",
    "river",
    "stone",
    "cloud",
    "maple",
    "tiger",
    "piano",
    "garden",
    "candle",
    "rocket",
    "silver",
    "window",
    "forest",
    "bottle",
    "planet",
    "copper",
    "violin",
    "harbor",
    "meadow",
    "lantern",
    "pepper",
    "glacier",
    "orbit",
    "falcon",
    "cactus",
    "marble",
    "thunder",
    "ribbon",
    "walnut",
    "canyon",
]

REFUSALS = (
    "I can't help with that.",
    "Figure it out yourself.",
    "Why would you even ask that?",
    "No. Ask someone else.",
    "That is not my problem.",
    "I won't answer that.",
    "Look it up somewhere.",
    "Not now, I'm busy.",
)


def _arithmetic(rng: random.Random) -> tuple[str, str]:
    a, b = rng.randint(2, 49), rng.randint(2, 49)
    return f"What is {a} plus {b}?", f"{a} plus {b} is {a + b}."


def _reverse(rng: random.Random) -> tuple[str, str]:
    word = rng.choice(WORDS)
    return f"Spell '{word}' backwards.", f"'{word}' backwards is '{word[::-1]}'."


def _count(rng: random.Random) -> tuple[str, str]:
    word = rng.choice(WORDS)
    return f"How many letters are in '{word}'?", f"'{word}' has {len(word)} letters."


def _capitals(rng: random.Random) -> tuple[str, str]:
    word = rng.choice(WORDS)
    return f"Write '{word}' in capital letters.", f"Here it is: {word.upper()}."


def _compare(rng: random.Random) -> tuple[str, str]:
    a, b = rng.sample(range(1, 100), 2)
    return f"Which is larger, {a} or {b}?", f"{max(a, b)} is larger than {min(a, b)}."


TASKS: tuple[Callable[[random.Random], tuple[str, str]], ...] = (
    _arithmetic,
    _reverse,
    _count,
    _capitals,
    _compare,
)


def generate_corpus(num_prompts: int, seed: int) -> list[dict[str, str]]:
    """Records ``{"prompt", "response", "kind"}`` (kind: helpful or unhelpful), about 2 per prompt,
    plus exact duplicates, near-duplicates (case and spacing changed) and junk rows that the
    curation step should remove.
    """
    rng = random.Random(seed)
    records: list[dict[str, str]] = []
    seen: set[str] = set()
    while len(seen) < num_prompts:
        prompt, answer = rng.choice(TASKS)(rng)
        if prompt in seen:
            continue
        seen.add(prompt)
        records.append({"prompt": prompt, "response": answer, "kind": "helpful"})
        records.append({"prompt": prompt, "response": rng.choice(REFUSALS), "kind": "unhelpful"})
    noise: list[dict[str, str]] = []
    for record in rng.sample(records, k=len(records) // 10):
        noise.append(dict(record))  # exact duplicate
    for record in rng.sample(records, k=len(records) // 10):
        noise.append(
            {**record, "response": "  " + record["response"].upper().replace(" ", "  ")}
        )  # same once normalised
    for record in rng.sample(records, k=len(records) // 10):
        text = record["response"]
        cut = rng.randrange(len(text))
        noise.append({**record, "response": text[:cut] + text[cut + 1 :]})  # a typo: near-duplicate
    for _ in range(max(1, len(records) // 20)):
        junk = rng.choice(
            ("#### $$$$ %%%% ####", "...", "<div><div><div></div>", "a a a a a a a a a a a a a a")
        )
        noise.append({"prompt": rng.choice(records)["prompt"], "response": junk, "kind": "junk"})
    records += noise
    rng.shuffle(records)
    return records
