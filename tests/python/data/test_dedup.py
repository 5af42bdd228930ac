"""reactor.data.dedup: clusters against brute force, incremental and sharded indexes, keep rules."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from dedup_reference import jaccard, shingles

from reactor.data import dedup
from reactor.errors import CorruptDataError, InvalidArgumentError

WORDS = [a + b + c for a in "bcdfg" for b in "aeiou" for c in "klmnprst"]


def planted_corpus(originals: int, copies: int, edit: float, seed: int) -> list[str]:
    """Random-word documents plus near-copies (a fraction ``edit`` of words replaced) and exact copies."""
    rng = random.Random(seed)
    base = [" ".join(rng.choice(WORDS) for _ in range(rng.randrange(40, 90))) for _ in range(originals)]
    texts = list(base)
    for _ in range(copies):
        words = rng.choice(base).split()
        texts.append(" ".join(w if rng.random() > edit else rng.choice(WORDS) for w in words))
    texts += [rng.choice(base).upper() for _ in range(copies // 4)]  # exact after normalisation
    rng.shuffle(texts)
    return texts


def components(n: int, linked) -> np.ndarray:
    """Smallest index of each connected component of the graph {(i, j): linked(i, j)}."""
    ids = list(range(n))

    def find(x: int) -> int:
        while ids[x] != x:
            x = ids[x]
        return x

    for i in range(n):
        for j in range(i):
            if linked(i, j):
                a, b = sorted((find(i), find(j)))
                ids[b] = a
    return np.array([find(i) for i in range(n)], dtype=np.int64)


def test_clusters_equal_brute_force_components_with_full_recall_banding() -> None:
    texts = planted_corpus(80, 80, 0.04, seed=1)
    sets = [shingles(t, 5) for t in texts]
    expected = components(len(texts), lambda i, j: jaccard(sets[i], sets[j]) >= 0.7)
    got = dedup.near_duplicates(texts, threshold=0.7, num_perm=64, bands=64, rows=1)
    assert got.dtype == np.int64 and got.shape == (len(texts),)
    np.testing.assert_array_equal(got, expected)
    assert len(np.unique(expected)) < len(texts) - 50  # the corpus does contain duplicates


def test_default_banding_is_precise_and_recalls_planted_pairs() -> None:
    texts = planted_corpus(300, 200, 0.02, seed=2)
    sets = [shingles(t, 5) for t in texts]
    ids = dedup.near_duplicates(texts)  # threshold 0.8, recall target 0.95 at the threshold
    truth = components(len(texts), lambda i, j: jaccard(sets[i], sets[j]) >= 0.8)
    # Precision: every cluster the engine forms lies inside one true component.
    for cluster in np.unique(ids):
        assert len(np.unique(truth[ids == cluster])) == 1
    # Recall of true duplicate pairs (pairs within true components).
    true_pairs = [(i, j) for i in range(len(texts)) for j in range(i) if truth[i] == truth[j]]
    found = sum(ids[i] == ids[j] for i, j in true_pairs)
    assert len(true_pairs) > 150 and found / len(true_pairs) >= 0.95


def test_singletons_keep_their_own_index_and_empty_texts_stay_alone() -> None:
    texts = ["", "one two three four five six", "", "  ,, ", "one two three four five six"]
    np.testing.assert_array_equal(dedup.near_duplicates(texts), [0, 1, 2, 3, 1])


def test_incremental_batches_sharded_merge_and_reload_agree(tmp_path: Path) -> None:
    texts = planted_corpus(200, 150, 0.03, seed=3)
    whole = dedup.near_duplicates(texts, threshold=0.75)

    index = dedup.NearDuplicateIndex(threshold=0.75)
    for start in range(0, len(texts), 97):
        index.add(texts[start : start + 97])
    np.testing.assert_array_equal(index.clusters(), whole)

    left, right = dedup.NearDuplicateIndex(threshold=0.75), dedup.NearDuplicateIndex(threshold=0.75)
    left.add(texts[:123])
    right.add(texts[123:])
    left.merge(right)
    np.testing.assert_array_equal(left.clusters(), whole)

    path = tmp_path / "index.mfidx"
    index.save(path)
    loaded = dedup.NearDuplicateIndex.load(path)
    np.testing.assert_array_equal(loaded.clusters(), whole)
    assert loaded.config == index.config
    queried = loaded.query([*texts[:50], "nothing like anything else in the corpus at all"])
    assert queried[-1] == -1
    np.testing.assert_array_equal(queried[:50], whole[:50])  # each text finds its own cluster
    assert index.stats()["memory_bytes"] > 0 and index.stats()["documents"] == len(texts)


def test_a_damaged_index_file_is_reported_and_the_previous_save_survives(tmp_path: Path) -> None:
    index = dedup.NearDuplicateIndex()
    index.add(planted_corpus(20, 10, 0.05, seed=4))
    path = tmp_path / "index.bin"
    index.save(path)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(CorruptDataError, match="torn write"):
        dedup.NearDuplicateIndex.load(path)
    path.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(CorruptDataError, match="checksum"):
        dedup.NearDuplicateIndex.load(path)
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left behind by save


def test_mismatched_indexes_do_not_merge() -> None:
    a = dedup.NearDuplicateIndex(num_perm=128, ngram=5)
    with pytest.raises(InvalidArgumentError, match="differ"):
        a.merge(dedup.NearDuplicateIndex(num_perm=128, ngram=3))


def test_exact_duplicates_match_a_dictionary_of_normalised_texts() -> None:
    texts = ["Hello, World!", "hello world", "HELLO   WORLD.", "hello there", "", " ", "hello there!"]
    np.testing.assert_array_equal(dedup.exact_duplicates(texts), [0, 0, 0, 3, 4, 4, 3])


def test_simhash_fingerprints_separate_near_copies_and_clusters_follow_hamming_distance() -> None:
    from reactor.engine import dedup as engine_dedup

    texts = planted_corpus(100, 0, 0.0, seed=5)
    copies = [t + " " + WORDS[0] for t in texts[:20]]  # one extra word: three of ~60 shingles differ
    fingerprints = engine_dedup.simhash(texts + copies).fingerprints

    def distance(i: int, j: int) -> int:
        return int(fingerprints[i] ^ fingerprints[j]).bit_count()

    near = [distance(k, 100 + k) for k in range(20)]
    unrelated = [distance(i, j) for i in range(50) for j in range(i)]
    assert np.mean(near) < 8 and 28 < np.mean(unrelated) < 36
    ids = dedup.simhash_duplicates(texts + copies, max_distance=5)
    np.testing.assert_array_equal(ids, components(len(fingerprints), lambda i, j: distance(i, j) <= 5))


def test_keep_mask_rules() -> None:
    ids = np.array([0, 0, 2, 0, 2, 5])
    assert dedup.keep_mask(ids).tolist() == [True, False, True, False, False, True]
    assert dedup.keep_mask(ids, "longest", lengths=[1, 9, 3, 9, 4, 0]).tolist() == [
        False,
        True,
        False,
        False,
        True,
        True,
    ]
    assert dedup.keep_mask(ids, "score", scores=[0.9, 0.1, 0.2, 0.95, 0.2, 0.0]).tolist() == [
        False,
        False,
        True,
        True,
        False,
        True,
    ]
    with pytest.raises(InvalidArgumentError, match="lengths"):
        dedup.keep_mask(ids, "longest")


def test_lsh_parameters_and_s_curve() -> None:
    params = dedup.lsh_params(0.8, 128, target_recall=0.95)
    assert params.bands * params.rows <= 128 and params.probability(0.8) >= 0.95
    curve = dedup.s_curve(params)
    assert curve.shape == (21, 2) and np.all(np.diff(curve[:, 1]) >= 0)
    np.testing.assert_allclose(curve[:, 1], 1 - (1 - curve[:, 0] ** params.rows) ** params.bands)
    assert dedup.lsh_params(bands=9, rows=13) == dedup.LshParams(9, 13)


@pytest.mark.parametrize("threshold", [0, 1.5, -0.1, float("nan")])
def test_threshold_outside_the_unit_interval_is_refused(threshold: float) -> None:
    with pytest.raises(InvalidArgumentError, match="threshold"):
        dedup.near_duplicates(["a b c"], threshold=threshold)


def test_other_bad_arguments_name_the_parameter() -> None:
    with pytest.raises(InvalidArgumentError, match="bands"):
        dedup.near_duplicates(["a"], bands=4)
    with pytest.raises(InvalidArgumentError, match="num_perm"):
        dedup.near_duplicates(["a"], bands=20, rows=7)
    with pytest.raises(InvalidArgumentError, match="verify"):
        dedup.near_duplicates(["a"], verify="maybe")  # type: ignore[arg-type]


def test_clusters_do_not_depend_on_the_thread_count() -> None:
    from reactor import engine

    texts = planted_corpus(400, 300, 0.03, seed=6)
    with engine.threads(1):
        one = dedup.near_duplicates(texts, threshold=0.7)
    with engine.threads(2):
        two = dedup.near_duplicates(texts, threshold=0.7)
    np.testing.assert_array_equal(one, two)
    assert len(np.unique(one)) < len(texts)


def test_similarity_of_indexed_pairs_is_the_exact_jaccard_or_the_estimate() -> None:
    texts = planted_corpus(30, 30, 0.05, seed=7)
    sets = [shingles(t, 5) for t in texts]
    pairs = np.array([(i, j) for i in range(len(texts)) for j in range(i)], dtype=np.int64)
    exact = dedup.NearDuplicateIndex(threshold=0.8)
    exact.add(texts)
    expected = [jaccard(sets[i], sets[j]) for i, j in pairs]
    np.testing.assert_allclose(exact.similarity(pairs[:, 0], pairs[:, 1]), expected, atol=1e-12)
    estimate = dedup.NearDuplicateIndex(threshold=0.8, num_perm=256, verify="minhash")
    estimate.add(texts)
    errors = estimate.similarity(pairs[:, 0], pairs[:, 1]) - expected
    assert abs(errors.mean()) < 0.01 and np.abs(errors).max() < 0.15
    with pytest.raises(IndexError, match="outside"):
        exact.similarity([0], [len(texts)])
