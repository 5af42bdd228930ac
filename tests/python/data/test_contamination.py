"""reactor.engine.contamination against pure-Python references of the GPT-3 and Llama 2 rules."""

from __future__ import annotations

import random

import pytest

from reactor.engine import contamination
from reactor.errors import InvalidArgumentError

VOCAB = ["ab", "cd", "ef", "gh", "ij", "kl", "mn", "op"]


def ngram_reference(doc: list[str], evals: list[list[str]], n: int) -> tuple[int, list[bool]]:
    grams = {tuple(e[i : i + n]) for e in evals for i in range(len(e) - n + 1)}
    marks = [False] * len(doc)
    hits = 0
    for i in range(len(doc) - n + 1):
        if tuple(doc[i : i + n]) in grams:
            hits += 1
            marks[i : i + n] = [True] * n
    return hits, marks


def coverage_reference(
    doc: list[str], ev: list[str], min_match: int, budget: int
) -> tuple[list[bool], list[bool]]:
    """Every aligned window that satisfies the Llama 2 rules, checked directly."""
    doc_marks, eval_marks = [False] * len(doc), [False] * len(ev)
    for i in range(len(doc)):
        for j in range(len(ev)):
            for m in range(min_match, min(len(doc) - i, len(ev) - j) + 1):
                diffs = [k for k in range(m) if doc[i + k] != ev[j + k]]
                if diffs and (diffs[0] < min_match or diffs[-1] == m - 1 or len(diffs) > budget):
                    continue
                doc_marks[i : i + m] = [True] * m
                eval_marks[j : j + m] = [True] * m
    return doc_marks, eval_marks


def mutate(rng: random.Random, words: list[str], vocab: list[str]) -> list[str]:
    start = rng.randint(0, max(0, len(words) - 1))
    out = [rng.choice(vocab) if rng.random() < 0.15 else w for w in words[start:]]
    return [rng.choice(vocab) for _ in range(rng.randint(0, 5))] + out


def test_random_corpora_match_reference() -> None:
    rng = random.Random(3)
    partial = 0
    for trial in range(40):
        vocab = VOCAB[: 2 + trial % 6]
        docs = [[rng.choice(vocab) for _ in range(rng.randint(0, 25))] for _ in range(1 + trial % 3)]
        evals = [mutate(rng, rng.choice(docs), vocab) for _ in range(1 + trial % 3)]
        n, min_match, budget = 1 + trial % 5, 1 + trial % 4, trial % 3
        got = contamination(
            [" ".join(d) for d in docs],
            [" ".join(e) for e in evals],
            ngram=n,
            min_match=min_match,
            max_mismatches=budget,
        )
        eval_marks = [[False] * len(e) for e in evals]
        for j, doc in enumerate(docs):
            hits, ngram_marks = ngram_reference(doc, evals, n)
            assert got.ngram_hits[j] == hits, trial
            assert got.ngram_counts[j] == max(0, len(doc) - n + 1)
            marks = [False] * len(doc)
            matched = []
            for e, ev in enumerate(evals):
                d_marks, e_marks = coverage_reference(doc, ev, min_match, budget)
                marks = [a or b for a, b in zip(marks, d_marks, strict=True)]
                eval_marks[e] = [a or b for a, b in zip(eval_marks[e], e_marks, strict=True)]
                if any(d_marks):
                    matched.append(e)
            assert got.contaminated_tokens[j] == sum(marks), trial
            assert got.contaminated_fraction[j] == pytest.approx(sum(marks) / len(doc) if doc else 0.0)
            assert got.matched_eval(j).tolist() == matched
            partial += 0 < sum(marks) < len(doc)
            # byte spans of the covered tokens (single spaces between words)
            starts = [sum(len(w) + 1 for w in doc[:k]) for k in range(len(doc))]
            covered = {b for lo, hi in got.coverage_ranges(j).tolist() for b in range(lo, hi)}
            assert covered == {
                b for k, w in enumerate(doc) for b in range(starts[k], starts[k] + len(w)) if marks[k]
            } | {starts[k] + len(doc[k]) for k in range(len(doc) - 1) if marks[k] and marks[k + 1]}
            covered = {b for lo, hi in got.ngram_ranges(j).tolist() for b in range(lo, hi)}
            assert {b for b in covered if doc and " ".join(doc)[b] != " "} == {
                b for k, w in enumerate(doc) for b in range(starts[k], starts[k] + len(w)) if ngram_marks[k]
            }
        assert got.eval_contaminated_tokens.tolist() == [sum(m) for m in eval_marks], trial
    assert partial > 5


def test_llama2_rules_on_text() -> None:
    eval_words = [f"w{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(30)]
    four = list(eval_words)
    for k in (12, 15, 18, 21):
        four[k] = "zz"
    early = list(eval_words)
    early[5] = "zz"
    trailing = [*eval_words[:12], "zz"]
    got = contamination(
        [" ".join(d) for d in (four, early, trailing, eval_words[:9])], [" ".join(eval_words)]
    )
    assert got.contaminated_tokens.tolist() == [30, 24, 12, 0]
    assert got.pair_doc.tolist() == [0, 1, 2]
    assert got.eval_contaminated_fraction.tolist() == [1.0]
    budget3 = contamination([" ".join(four)], [" ".join(eval_words)], max_mismatches=3)
    assert budget3.contaminated_tokens.tolist() == [21]


def test_gpt3_thirteen_grams() -> None:
    eval_text = " ".join(f"e{chr(97 + i)}" for i in range(20))
    doc = "Intro words here " + " ".join(f"E{chr(97 + i)}" for i in range(3, 16)) + " tail"
    got = contamination([doc, "unrelated text"], [eval_text])
    assert got.ngram_hits.tolist() == [1, 0]  # case folding: "Ed" matches "ed"
    ((begin, end),) = got.ngram_ranges(0).tolist()
    assert doc[begin:end] == " ".join(f"E{chr(97 + i)}" for i in range(3, 16))


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"ngram": 0}, "ngram must be an integer >= 1, got 0"),
        ({"min_match": 0}, "min_match must be an integer >= 1, got 0"),
        ({"max_mismatches": -1}, "max_mismatches must be an integer >= 0, got -1"),
        ({"ngram": "13"}, "ngram .* got '13'"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], pattern: str) -> None:
    with pytest.raises(InvalidArgumentError, match=pattern):
        contamination(["a b"], ["a b"], **kwargs)  # type: ignore[arg-type]


def test_bad_texts() -> None:
    with pytest.raises(TypeError, match=r"texts\[0\] must be str or bytes, got NoneType"):
        contamination(["fine"], [None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="single str"):
        contamination(["fine"], "eval")
    empty = contamination([], [])
    assert empty.contaminated_tokens.shape == (0,)
    assert empty.eval_contaminated_fraction.shape == (0,)
