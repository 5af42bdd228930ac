"""The dedup engine's tokenizer, fingerprints and signatures against independent Python references."""

from __future__ import annotations

import random

import numpy as np
import pytest
from dedup_reference import jaccard, shingles, tokens

from reactor import engine
from reactor.engine import dedup
from reactor.errors import InvalidArgumentError

ALPHABET = "abcdeABCDE éÉüÜßñ  ,.!?-'\t\n0123456789東京タワー한국어ไทย\u0301"


def random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 60))) for _ in range(count)]


@pytest.mark.parametrize("strip_accents", [False, True])
def test_tokens_match_the_unicodedata_reference(strip_accents: bool) -> None:
    texts = random_texts(400, seed=1 + strip_accents)
    result = dedup.tokenize(texts, tokenizer="words-v1+accents" if strip_accents else "words-v1")
    normalised_to_hash: dict[str, int] = {}
    for j, text in enumerate(texts):
        expected = tokens(text, strip_accents=strip_accents)
        lo, hi = result.doc_offsets[j], result.doc_offsets[j + 1]
        spans = list(zip(result.begin[lo:hi].tolist(), result.end[lo:hi].tolist(), strict=True))
        assert spans == [(b, e) for _, b, e in expected], text
        for (token, _, _), token_hash in zip(expected, result.hashes[lo:hi].tolist(), strict=True):
            # Equal normalised tokens hash equally, different ones differently.
            assert normalised_to_hash.setdefault(token, token_hash) == token_hash
    assert len(set(normalised_to_hash.values())) == len(normalised_to_hash)


def test_invalid_utf8_is_an_error_naming_the_document_unless_replaced() -> None:
    texts = [b"fine", b"bad \xff byte", b"ok"]
    with pytest.raises(InvalidArgumentError, match="document 1"):
        dedup.tokenize(texts)
    assert dedup.tokenize(texts, replace_invalid=True).invalid_utf8.tolist() == [1]
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        dedup.tokenize(["a", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="single str"):
        dedup.tokenize("not a list")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"texts\[0\]"):
        dedup.tokenize(["\ud800"])  # a lone surrogate has no UTF-8


def test_exact_fingerprints_agree_with_normalised_text_equality() -> None:
    rng = random.Random(3)
    base = random_texts(60, seed=3)
    texts = base + [rng.choice(base).upper() + " !" for _ in range(60)]
    prints = dedup.exact_fingerprints(texts)
    keys = [tuple(t for t, _, _ in tokens(text)) for text in texts]
    for i in range(len(texts)):
        for j in range(i):
            same = (prints.lo[i], prints.hi[i]) == (prints.lo[j], prints.hi[j])
            assert same == (keys[i] == keys[j]), (texts[i], texts[j])


def _mix32(v: np.ndarray) -> np.ndarray:
    v = v ^ (v >> np.uint32(16))
    v = v * np.uint32(0x7FEB352D)
    v = v ^ (v >> np.uint32(15))
    v = v * np.uint32(0x846CA68B)
    return v ^ (v >> np.uint32(16))


def test_signatures_are_the_minimum_of_each_permutation_over_the_shingle_set() -> None:
    """The SIMD kernel against the scheme's formula evaluated in numpy on the same shingle values."""
    texts = [
        " ".join(random.Random(i).choice(["alpha", "beta", "gamma", "delta", "eps"]) for _ in range(40))
        for i in range(30)
    ]
    result = dedup.minhash(texts, num_perm=50, ngram=3, seed=7, with_sets=True)
    a, b = dedup.minhash_coefficients(7, 50)
    assert np.all(a % 2 == 1)
    for j in range(len(texts)):
        values = result.set_values[result.set_offsets[j] : result.set_offsets[j + 1]]
        with np.errstate(over="ignore"):
            expected = _mix32(a[:, None] * values[None, :] + b[:, None]).min(axis=1)
        np.testing.assert_array_equal(result.signatures[j], expected)


def test_shingle_sets_give_the_exact_jaccard_of_word_ngrams() -> None:
    rng = random.Random(5)
    words = [f"{c}{d}" for c in "abcdefghij" for d in "klmnopqrst"]
    base = [" ".join(rng.choice(words) for _ in range(50)) for _ in range(20)]
    texts = base + [" ".join(w if rng.random() > 0.1 else rng.choice(words) for w in t.split()) for t in base]
    result = dedup.minhash(texts, num_perm=16, ngram=4, with_sets=True)
    sets = [
        set(result.set_values[result.set_offsets[j] : result.set_offsets[j + 1]].tolist())
        for j in range(len(texts))
    ]
    for i in range(len(base)):
        j = i + len(base)
        engine_jaccard = len(sets[i] & sets[j]) / len(sets[i] | sets[j])
        assert engine_jaccard == pytest.approx(
            jaccard(shingles(texts[i], 4), shingles(texts[j], 4)), abs=1e-12
        )


def test_results_do_not_depend_on_the_thread_count() -> None:
    texts = random_texts(3000, seed=9)
    with engine.threads(1):
        one = dedup.minhash(texts, with_sets=True)
    with engine.threads(2):
        two = dedup.minhash(texts, with_sets=True)
    np.testing.assert_array_equal(one.signatures, two.signatures)
    np.testing.assert_array_equal(one.set_values, two.set_values)


def test_bad_parameters_name_the_parameter() -> None:
    with pytest.raises(InvalidArgumentError, match="num_perm"):
        dedup.minhash(["x"], num_perm=0)
    with pytest.raises(InvalidArgumentError, match="ngram"):
        dedup.minhash(["x"], ngram=0)
    with pytest.raises(InvalidArgumentError, match="tokenizer"):
        dedup.minhash(["x"], tokenizer="words-v9")
    with pytest.raises(InvalidArgumentError, match="threshold"):
        dedup.choose_lsh_params(1.5, 128, 0.9)


def test_arrow_string_arrays_are_read_in_place_with_the_same_results() -> None:
    pa = pytest.importorskip("pyarrow")
    texts = random_texts(200, seed=11)
    expected = dedup.minhash(texts).signatures
    array = pa.array(texts)
    np.testing.assert_array_equal(dedup.minhash(array).signatures, expected)
    np.testing.assert_array_equal(dedup.minhash(array.slice(50, 20)).signatures, expected[50:70])
    np.testing.assert_array_equal(dedup.minhash(pa.array(texts, type=pa.large_string())).signatures, expected)
    chunked = pa.chunked_array([texts[:77], texts[77:]])
    np.testing.assert_array_equal(dedup.minhash(chunked).signatures, expected)
    with pytest.raises(InvalidArgumentError, match=r"texts\[1\] is null"):
        dedup.minhash(pa.array(["a", None]))
    with pytest.raises(TypeError, match="strings"):
        dedup.minhash(pa.array([1, 2]))
    with pytest.raises(InvalidArgumentError, match="offsets"):  # a forged buffer pair is bounds-checked
        dedup.minhash((np.zeros(3, np.uint8), np.array([0, 5], np.int64)))  # type: ignore[arg-type]
