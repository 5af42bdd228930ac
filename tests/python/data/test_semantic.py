from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest
from data_corpus import read_jsonl, union_find_clusters, write_jsonl

from reactor.data import Batch, PipelineConfig, SemanticDedupStage, kmeans, run_pipeline, semantic_duplicates
from reactor.data.semantic import sentence_transformer_embedder
from reactor.errors import InvalidArgumentError


def bag_of_words(texts, dim: int = 256):
    """Deterministic toy embedder: hashed word counts. Same words in any order -> the same vector."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in re.findall(r"\w+", text.lower()):
            out[
                i, int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little") % dim
            ] += 1
    return out


TOPICS = [
    "the cat sat on the warm mat near the kitchen door",
    "stock markets fell sharply after the central bank raised rates",
    "the recipe needs flour sugar butter eggs and a pinch of salt",
    "astronomers observed a distant galaxy with the new space telescope",
    "the football team won the final match after extra time",
    "volcanic eruptions release ash and gas high into the atmosphere",
]


def paraphrase(text: str, seed: int) -> str:
    words = text.split()
    np.random.default_rng(seed).shuffle(words)
    return " ".join(words)


def corpus():
    texts, topic = [], []
    for k, base in enumerate(TOPICS):
        texts.append(base)
        topic.append(k)
    for j in range(12):
        k = j % len(TOPICS)
        texts.append(paraphrase(TOPICS[k], j))
        topic.append(k)
    texts.append("the cat sat on the warm mat near the garden gate")  # related, not a paraphrase
    topic.append(-1)
    return texts, topic


def test_kmeans_is_deterministic_and_recovers_separated_blobs():
    rng = np.random.default_rng(0)
    centers = np.array([[10.0, 0.0], [0.0, 10.0], [-10.0, -10.0]])
    truth = rng.integers(0, 3, 300)
    x = centers[truth] + rng.normal(scale=0.5, size=(300, 2))
    c1, l1 = kmeans(x, 3, seed=4)
    c2, l2 = kmeans(x, 3, seed=4)
    np.testing.assert_array_equal(l1, l2)
    np.testing.assert_array_equal(c1, c2)
    # The same partition as the truth, up to renaming.
    mapping = {int(t): int(label) for t, label in zip(truth, l1, strict=True)}
    assert len(set(mapping.values())) == 3
    np.testing.assert_array_equal(l1, [mapping[int(t)] for t in truth])
    np.testing.assert_allclose(np.sort(c1, axis=0), np.sort(centers, axis=0), atol=0.2)
    _, few = kmeans(x[:2], 5)
    assert sorted(few.tolist()) == [0, 1]  # k capped at n
    with pytest.raises(InvalidArgumentError, match="n_clusters"):
        kmeans(x, 0)
    with pytest.raises(InvalidArgumentError, match="finite"):
        kmeans(np.array([[np.nan, 1.0]]), 1)


def test_semantic_duplicates_match_a_numpy_union_find_reference():
    texts, topic = corpus()
    emb = bag_of_words(texts)
    threshold = 0.95
    clusters = semantic_duplicates(texts, bag_of_words, n_clusters=3, eps=1 - threshold, seed=1)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    _, labels = kmeans(unit, 3, seed=1, max_iter=50)
    cos = unit @ unit.T
    pairs = [
        (i, j)
        for i in range(len(texts))
        for j in range(i + 1, len(texts))
        if labels[i] == labels[j] and cos[i, j] >= threshold - 1e-6
    ]
    assert clusters.tolist() == union_find_clusters(len(texts), pairs)
    # Paraphrases (same words, shuffled) join their topic; the related sentence stays alone.
    for i, k in enumerate(topic):
        assert clusters[i] == (k if k >= 0 else i)


def test_semantic_stage_streaming_is_batch_invariant_and_global_keeps_one_per_cluster(tmp_path):
    texts, topic = corpus()
    path = write_jsonl(tmp_path / "in.jsonl", [{"id": f"s{i}", "text": t} for i, t in enumerate(texts)])

    def run(**values):
        config = PipelineConfig.model_validate(
            {
                "input": {"path": str(path)},
                "output": {"path": str(tmp_path / "out.jsonl"), "ledger": str(tmp_path / "l.jsonl")},
                "exact": {"enabled": False},
                "near": {"enabled": False},
                "semantic": {"enabled": True, "embedder": "unused:placeholder", "n_clusters": 3, "eps": 0.05},
                "progress": False,
                **values,
            }
        )
        run_pipeline(config, embed=bag_of_words)
        return [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")], read_jsonl(tmp_path / "l.jsonl")

    expected = [f"s{i}" for i in range(len(TOPICS))] + [f"s{len(texts) - 1}"]
    for batch_size in (1, 5, 100):
        kept, ledger = run(batch_size=batch_size)
        assert kept == expected, batch_size
        for entry in ledger:
            assert entry["stage"] == "semantic_dedup" and entry["threshold"] == pytest.approx(0.95)
            assert entry["duplicate_of"] == f"s{topic[int(entry['id'][1:])]}"
            assert entry["score"] == pytest.approx(1.0, abs=1e-5)
    kept, _ = run(batch_size=4, mode="global")
    assert kept == expected


def test_embedder_errors_are_clear():
    stage = SemanticDedupStage(lambda texts: np.ones((len(texts) + 1, 4)))
    with pytest.raises(InvalidArgumentError, match=r"shape \(3, 4\) for 2 texts"):
        stage.process(Batch(["a", "b"], [0, 1], np.arange(2)))
    stage = SemanticDedupStage(lambda texts: np.full((len(texts), 4), np.nan))
    with pytest.raises(InvalidArgumentError, match="NaN"):
        stage.process(Batch(["a"], [0], np.arange(1)))
    with pytest.raises(InvalidArgumentError, match="eps"):
        SemanticDedupStage(bag_of_words, eps=1.0)
    with pytest.raises(InvalidArgumentError, match="not a local model directory"):
        sentence_transformer_embedder("/nonexistent/model")
