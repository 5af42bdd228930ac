"""reactor.engine.substring_duplicates against a brute-force pure-Python reference."""

from __future__ import annotations

import random
import string
import threading
import time

import numpy as np
import pytest

from reactor import engine
from reactor.engine import substring_duplicates
from reactor.errors import InvalidArgumentError

# Lower-case words of letters only: the words-v1 tokenizer then sees exactly str.split()'s words.
VOCAB = ["ab", "cd", "ef", "gé", "ij", "kl"]


def reference(docs: list[list[str]], min_tokens: int, keep_first: bool) -> list[list[bool]]:
    """Token (j, a) is marked when a span of >= min_tokens tokens covering it repeats elsewhere."""
    marks = [[False] * len(d) for d in docs]
    for j, a_doc in enumerate(docs):
        for a in range(len(a_doc)):
            best = 0
            for k, b_doc in enumerate(docs):
                for b in range(len(b_doc)):
                    if (k, b) == (j, a) or (keep_first and (k, b) > (j, a)):
                        continue
                    n = 0
                    while a + n < len(a_doc) and b + n < len(b_doc) and a_doc[a + n] == b_doc[b + n]:
                        n += 1
                    best = max(best, n)
            if best >= min_tokens:
                for t in range(a, a + best):
                    marks[j][t] = True
    return marks


def gram_reference(docs: list[list[str]], min_tokens: int, keep_first: bool) -> list[list[bool]]:
    """Equivalent rule: a token is duplicated iff a repeated min_tokens-gram covers it (with keep_first:
    a min_tokens-gram that already occurred at an earlier start). Linear, so it scales."""
    first: dict[tuple[str, ...], tuple[int, int]] = {}
    count: dict[tuple[str, ...], int] = {}
    for j, d in enumerate(docs):
        for i in range(len(d) - min_tokens + 1):
            g = tuple(d[i : i + min_tokens])
            first.setdefault(g, (j, i))
            count[g] = count.get(g, 0) + 1
    marks = [[False] * len(d) for d in docs]
    for j, d in enumerate(docs):
        for i in range(len(d) - min_tokens + 1):
            g = tuple(d[i : i + min_tokens])
            if (first[g] != (j, i)) if keep_first else count[g] > 1:
                marks[j][i : i + min_tokens] = [True] * min_tokens
    return marks


def runs(flags: list[bool]) -> list[tuple[int, int]]:
    out, start = [], None
    for i, f in enumerate([*flags, False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            out.append((start, i))
            start = None
    return out


def byte_span(words: list[str], begin: int, end: int) -> tuple[int, int]:
    starts = np.cumsum([0] + [len(w.encode()) + 1 for w in words])
    return int(starts[begin]), int(starts[end - 1] + len(words[end - 1].encode()))


@pytest.mark.parametrize("keep_first", [True, False])
def test_random_corpora_match_reference(keep_first: bool) -> None:
    rng = random.Random(13)
    for trial in range(40):
        docs = [
            [rng.choice(VOCAB[: 2 + trial % 4]) for _ in range(rng.randint(0, 30))]
            for _ in range(1 + trial % 4)
        ]
        texts = [" ".join(d) for d in docs]
        min_tokens = 2 + trial % 4
        got = substring_duplicates(texts, min_tokens=min_tokens, keep_first=keep_first)
        want = reference(docs, min_tokens, keep_first)
        for j, words in enumerate(docs):
            expected = runs(want[j])
            assert [tuple(r) for r in got.token_ranges(j).tolist()] == expected, (trial, j)
            assert [tuple(r) for r in got.byte_ranges(j).tolist()] == [
                byte_span(words, b, e) for b, e in expected
            ]
            assert got.duplicated_tokens[j] == sum(want[j])
            assert got.token_counts[j] == len(words)


@pytest.mark.parametrize("keep_first", [True, False])
def test_larger_corpus_with_copies_matches_gram_rule(keep_first: bool) -> None:
    rng = random.Random(5)
    vocab = [a + b for a in string.ascii_lowercase for b in string.ascii_lowercase[:8]]
    docs = [rng.choices(vocab, k=rng.randint(20, 300)) for _ in range(300)]
    for _ in range(80):  # splice a slice of one document into another
        src, dst = rng.choice(docs), rng.choice(docs)
        a = rng.randint(0, len(src) - 1)
        piece = src[a : a + rng.randint(10, 120)]
        at = rng.randint(0, len(dst))
        dst[at:at] = piece
    got = substring_duplicates([" ".join(d) for d in docs], min_tokens=30, keep_first=keep_first)
    want = gram_reference(docs, 30, keep_first)
    assert got.duplicated_tokens.tolist() == [sum(m) for m in want]
    assert sum(got.duplicated_tokens) > 1000
    for j in range(len(docs)):
        assert [tuple(r) for r in got.token_ranges(j).tolist()] == runs(want[j])


def test_copied_paragraph_is_removed_from_later_copy_only() -> None:
    body = " ".join(f"w{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(60))
    texts = ["Intro. " + body + " Outro.", "Other start; " + body, "nothing shared here"]
    r = substring_duplicates(texts)
    assert r.duplicated_tokens.tolist() == [0, 60, 0]
    ((begin, end),) = r.byte_ranges(1).tolist()
    assert texts[1].encode()[begin:end].decode() == body
    assert r.remove(texts) == [texts[0], "Other start; ", texts[2]]
    every = substring_duplicates(texts, keep_first=False)
    assert every.duplicated_tokens.tolist() == [60, 60, 0]


def test_spans_do_not_cross_documents() -> None:
    a = " ".join(f"a{chr(97 + i)}" for i in range(25))
    b = " ".join(f"b{chr(97 + i)}" for i in range(25))
    r = substring_duplicates([a, b, a + " " + b], min_tokens=30, keep_first=False)
    assert r.duplicated_tokens.tolist() == [0, 0, 0]


def test_bytes_input_and_invalid_utf8() -> None:
    text = " ".join(f"hé{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(60))
    r = substring_duplicates([text.encode(), text.encode()], min_tokens=50)
    assert r.duplicated_tokens.tolist() == [0, 60]
    assert r.byte_ranges(1).tolist() == [[0, len(text.encode())]]
    with pytest.raises(InvalidArgumentError, match="document 1"):
        substring_duplicates([b"fine", b"bad \xff"], min_tokens=5)
    r = substring_duplicates([b"fine", b"bad \xff"], min_tokens=5, replace_invalid=True)
    assert r.invalid_utf8.tolist() == [1]


def test_results_are_numpy_views_of_engine_memory() -> None:
    r = substring_duplicates(["a b c d", "a b c d"], min_tokens=2)
    for array in (r.byte_begin, r.token_offsets, r.duplicated_tokens):
        assert array.dtype == np.int64
        assert not array.flags.owndata  # a capsule owns the engine's buffer: nothing was copied


def test_generators_and_tuples_are_accepted() -> None:
    texts = ("x y z w", "x y z w")
    assert substring_duplicates(iter(texts), min_tokens=3).duplicated_tokens.tolist() == [0, 4]
    assert substring_duplicates([], min_tokens=3).token_offsets.tolist() == [0]


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"min_tokens": 0}, InvalidArgumentError, "min_tokens must be an integer >= 1, got 0"),
        ({"min_tokens": -5}, InvalidArgumentError, "min_tokens .* got -5"),
        ({"min_tokens": True}, InvalidArgumentError, "min_tokens .* got True"),
        ({"min_tokens": 2.5}, InvalidArgumentError, "min_tokens .* got 2.5"),
        ({"tokenizer": "words-v9"}, InvalidArgumentError, "unknown tokenizer 'words-v9'"),
        ({"tokenizer": None}, InvalidArgumentError, "tokenizer must be a str"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        substring_duplicates(["a b"], **kwargs)  # type: ignore[arg-type]


def test_bad_texts() -> None:
    with pytest.raises(TypeError, match=r"texts\[2\] must be str or bytes, got int"):
        substring_duplicates(["a", "b", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="got a single str"):
        substring_duplicates("a b c")
    with pytest.raises(TypeError, match="sequence of str or bytes, got int"):
        substring_duplicates(5)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"texts\[1\] cannot be encoded as UTF-8"):
        substring_duplicates(["ok", "lone \ud800 surrogate"])


def test_python_threads_run_while_the_engine_works() -> None:
    """The suffix array runs without the GIL: a Python thread keeps counting during the call."""
    rng = random.Random(1)
    letters = string.ascii_lowercase
    words = [f"{a}{b}{c}" for a in letters for b in letters for c in "abc"]
    texts = [" ".join(rng.choices(words, k=2000)) for _ in range(400)]
    stop, ticks = threading.Event(), [0]

    def spin() -> None:
        while not stop.is_set():
            ticks[0] += 1

    thread = threading.Thread(target=spin)
    thread.start()
    try:
        time.sleep(0.1)
        start_alone, before_alone = time.perf_counter(), ticks[0]
        time.sleep(0.2)
        rate_alone = (ticks[0] - before_alone) / (time.perf_counter() - start_alone)
        with engine.threads(1):
            before, start = ticks[0], time.perf_counter()
            substring_duplicates(texts, min_tokens=20)
            elapsed = time.perf_counter() - start
        share = (ticks[0] - before) / (rate_alone * elapsed)
    finally:
        stop.set()
        thread.join()
    assert elapsed > 0.1, "the call was too short to tell"
    assert share > 0.3, f"the Python thread ran at {share:.0%} of its speed during a {elapsed:.2f}s call"
