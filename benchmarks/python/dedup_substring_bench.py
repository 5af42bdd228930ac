"""Span-level dedup analyses: reactor's engine against plain-Python implementations, in one run.

    .venv/bin/python benchmarks/python/dedup_substring_bench.py           # 20,000 documents
    .venv/bin/python benchmarks/python/dedup_substring_bench.py --quick   # smoke run
    .venv/bin/python benchmarks/python/dedup_substring_bench.py --json out.json

Corpus: the dedup anchor's recipe (/work/shared/anchors/dedup.md section 4: seed 12345, Zipf
vocabulary of 5,000 lower-case words, ~1,000-character documents), plus a slice of 60-120 words of
another document appended to every tenth document, so exact-substring dedup has work to do. Words
are lower-case letters, so the engine's words-v1 tokens are exactly ``str.split()``'s words.

- substring (min_tokens 50): engine suffix array vs a Python dict of 50-gram tuples (the same
  answer: a token is duplicated iff a repeated 50-gram covers it); tokens/s, results compared.
- contamination: 1,000 eval documents (slices of corpus documents with 3% of words replaced);
  engine (GPT-3 13-grams and Llama 2 coverage together) vs a Python set of 13-gram tuples (GPT-3
  hits only); documents/s, GPT-3 hits compared.
- quality signals: engine vs a Python implementation of the same 21 Gopher signals; documents/s,
  matrices compared. (datatrove's GopherQualityFilter needs an NLTK word tokenizer and data files,
  which this offline machine cannot download, so the peer here is the plain-Python definition.)
Rates use process CPU time (the host is shared); the engine runs on one thread unless --threads.
"""

from __future__ import annotations

import argparse
import json
import string
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from reactor import engine

STOP = {"the", "be", "to", "of", "and", "that", "have", "with"}
ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def corpus(n_docs: int) -> list[str]:
    rng = np.random.default_rng(12345)
    letters = np.array(list(string.ascii_lowercase))
    vocab: set[str] = set()
    while len(vocab) < 5000:
        vocab.add("".join(letters[rng.integers(0, 26, int(rng.integers(3, 11)))]))
    words = sorted(vocab, key=lambda w: (len(w), w))
    p = 1 / np.arange(1, 5001)
    cdf = np.cumsum(p / p.sum())
    lens = np.array([len(w) for w in words])
    docs = []
    for _ in range(n_docs):
        ids = np.searchsorted(cdf, rng.random(400), side="right").clip(0, 4999)
        ids = ids[: int(np.searchsorted(np.cumsum(lens[ids] + 1) - 1, 1000)) + 1]
        docs.append([words[i] for i in ids])
    for j in range(5, n_docs, 10):
        src = docs[int(rng.integers(0, n_docs))]
        start = int(rng.integers(0, max(1, len(src) - 60)))
        docs[j] = docs[j] + src[start : start + int(rng.integers(60, 121))]
    return [" ".join(d) for d in docs]


def python_substring(texts: list[str], n: int) -> list[int]:
    docs = [t.split() for t in texts]
    first: dict[tuple[str, ...], tuple[int, int]] = {}
    for j, d in enumerate(docs):
        for i in range(len(d) - n + 1):
            first.setdefault(tuple(d[i : i + n]), (j, i))
    out = []
    for j, d in enumerate(docs):
        marks = bytearray(len(d))
        for i in range(len(d) - n + 1):
            if first[tuple(d[i : i + n])] != (j, i):
                marks[i : i + n] = b"\x01" * n
        out.append(sum(marks))
    return out


def python_ngram_hits(texts: list[str], eval_texts: list[str], n: int = 13) -> list[int]:
    grams = {tuple(w[i : i + n]) for w in (e.split() for e in eval_texts) for i in range(len(w) - n + 1)}
    return [
        sum(tuple(w[i : i + n]) in grams for i in range(len(w) - n + 1)) for w in (t.split() for t in texts)
    ]


def python_quality(text: str) -> list[float]:
    words = text.split()
    w, chars = len(words), sum(len(x) for x in words)
    raw = text.split("\n")
    lines = [line.strip() for line in raw if line.strip()]
    paragraphs, run = [], []
    for line in [*raw, ""]:
        if line.strip():
            run.append(line)
        elif run:
            paragraphs.append("\n".join(run).strip())
            run = []

    def frac(a: float, b: float) -> float:
        return a / b if b else 0.0

    def dups(units: list[str]) -> list[float]:
        seen: set[str] = set()
        count = dchars = 0
        for u in units:
            if u in seen:
                count, dchars = count + 1, dchars + len(u)
            seen.add(u)
        return [frac(count, len(units)), frac(dchars, sum(len(u) for u in units))]

    bullets = ("-", "*", "\u2022", "\u2023", "\u2043", "\u25aa", "\u25cf", "\u25e6")
    row = [
        float(w),
        frac(chars, w),
        frac(text.count("#"), w),
        frac(text.count("...") + text.count("\u2026"), w),
    ]
    row += [frac(sum(x.endswith(("...", "\u2026")) for x in lines), len(lines))]
    row += [frac(sum(x.startswith(bullets) for x in lines), len(lines))]
    row += [frac(sum(any(c.isalpha() for c in x) for x in words), w)]
    row += [float(sum(x.strip(string.punctuation).translate(ASCII_LOWER) in STOP for x in words))]
    row += dups(lines) + dups(paragraphs)
    for n in range(2, 11):
        at: dict[tuple[str, ...], list[int]] = {}
        for i in range(w - n + 1):
            at.setdefault(tuple(words[i : i + n]), []).append(i)
        if not at:
            row.append(0.0)
            continue
        if n <= 4:
            most = max(len(p) for p in at.values())
            groups = [p for p in at.values() if len(p) == most]
        else:
            groups = [[i for p in at.values() if len(p) > 1 for i in p]]
        best = max(sum(len(words[k]) for k in {k for i in g for k in range(i, i + n)}) for g in groups)
        row.append(frac(best, chars))
    return row


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="2,000 documents")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    n = 2_000 if args.quick else args.docs
    texts = corpus(n)
    tokens = sum(len(t.split()) for t in texts)
    rng = np.random.default_rng(7)
    evals = []
    for j in rng.integers(0, n, 1000):
        w = texts[int(j)].split()[: int(rng.integers(30, 150))]
        evals.append(" ".join("zzz" if rng.random() < 0.03 else x for x in w))
    rows = []
    with engine.threads(args.threads):
        r, cpu, _ = timed(lambda: engine.substring_duplicates(texts, min_tokens=50))
        ref, pcpu, _ = timed(lambda: python_substring(texts, 50))
        assert r.duplicated_tokens.tolist() == ref, "substring results differ"
        rows.append(
            ("substring dedup (tokens/s)", tokens / cpu, tokens / pcpu, int(r.duplicated_tokens.sum()))
        )
        c, cpu, _ = timed(lambda: engine.contamination(texts, evals))
        ref, pcpu, _ = timed(lambda: python_ngram_hits(texts, evals))
        assert c.ngram_hits.tolist() == ref, "13-gram hits differ"
        rows.append(("contamination (docs/s)", n / cpu, n / pcpu, int((c.contaminated_tokens > 0).sum())))
        sample = texts[: min(n, 5_000)]
        (m, _), cpu, _ = timed(lambda: engine.quality_signals(texts))
        ref, pcpu, _ = timed(lambda: [python_quality(t) for t in sample])
        np.testing.assert_allclose(m[: len(sample)], np.array(ref), rtol=1e-12)
        rows.append(("quality signals (docs/s)", n / cpu, len(sample) / pcpu, m.shape[1]))
    print(f"{n:,} documents, {tokens:,} tokens, engine threads: {args.threads} (rates per CPU-second)\n")
    print("| analysis | reactor | plain Python | ratio | check |")
    print("|---|---:|---:|---:|---:|")
    for name, ours, theirs, check in rows:
        print(f"| {name} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.1f}x | {check:,} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"docs": n, "tokens": tokens, "threads": args.threads, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
