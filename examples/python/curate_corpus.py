"""Curate a small web-like corpus with the MLForge dedup engine, end to end.

    .venv/bin/python examples/python/curate_corpus.py [OUT_DIR]

It writes a corpus of 3,000 documents with planted exact copies, near copies, copied paragraphs,
low-quality pages and a leaked evaluation question; finds the duplicates with the Python API;
then runs the whole pipeline (quality -> exact -> MinHash -> substring -> decontamination) and
prints what each stage removed. Nothing is downloaded.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from reactor.data import PipelineConfig, dedup, run_pipeline

WORDS = [a + b + c + d for a in "bcdfghjklm" for b in "aeiou" for c in "nprst" for d in "aeiouy"]
STOP_WORDS = ["the", "of", "and", "to", "that", "with", "have", "be"]  # Gopher wants at least two
EVAL_QUESTION = (
    "which planet in the solar system has the largest number of confirmed natural moons as of today"
)


def sentence(rng: random.Random) -> str:
    words = [rng.choice(STOP_WORDS if rng.random() < 0.3 else WORDS) for _ in range(rng.randrange(8, 16))]
    return " ".join(words).capitalize() + "."


def page(rng: random.Random) -> str:
    return "\n\n".join(" ".join(sentence(rng) for _ in range(5)) for _ in range(3))


def make_corpus(n: int, seed: int = 0) -> list[dict[str, str]]:
    rng = random.Random(seed)
    texts = [page(rng) for _ in range(n)]
    for i in range(0, n, 20):  # exact copies (up to case and spacing)
        texts[i + 1] = texts[i].upper().replace(". ", ".  ")
    for i in range(5, n, 20):  # near copies: a couple of words changed
        words = texts[i].split(" ")
        words[3] = words[40] = rng.choice(WORDS)
        texts[i + 1] = " ".join(words)
    for i in range(10, n, 50):  # a paragraph copied into another page
        texts[i + 2] += "\n\n" + texts[i].split("\n\n")[1]
    for i in range(15, n, 100):  # boilerplate pages
        texts[i] = "\n".join(["Click here to subscribe to our newsletter!"] * 30)
    texts[n // 2] += "\n\nQuiz: " + EVAL_QUESTION + "? Answer: Saturn."
    return [{"id": f"doc-{i}", "text": t} for i, t in enumerate(texts)]


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/curate_corpus")
    out.mkdir(parents=True, exist_ok=True)
    records = make_corpus(3000)
    texts = [r["text"] for r in records]

    ids = dedup.near_duplicates(texts, threshold=0.8)
    print(f"near-duplicate clusters: {len(set(ids.tolist()))} for {len(texts)} documents")
    print(f"exact-duplicate clusters: {len(set(dedup.exact_duplicates(texts).tolist()))}")

    corpus, eval_set = out / "corpus.jsonl", out / "eval.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
    eval_set.write_text(json.dumps({"id": "q1", "text": EVAL_QUESTION}) + "\n")
    config = PipelineConfig.model_validate(
        {
            "input": {"path": str(corpus)},
            "output": {"path": str(out / "clean.jsonl"), "ledger": str(out / "ledger.jsonl")},
            "quality": {"enabled": True, "rules": {"word_count": {"min": 20}}},
            "near": {"threshold": 0.8},
            "substring": {"enabled": True, "min_tokens": 30},
            "decontaminate": {"enabled": True, "eval": [str(eval_set)], "ngram": 13},
            "progress": False,
        }
    )
    report = run_pipeline(config)
    print(report.to_markdown())
    kept = sum(1 for _ in (out / "clean.jsonl").open())
    print(f"kept {kept} of {len(records)} documents; ledger: {out / 'ledger.jsonl'}")


if __name__ == "__main__":
    main()
