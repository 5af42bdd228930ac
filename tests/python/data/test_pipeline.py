from __future__ import annotations

import itertools
import json
import unicodedata

import numpy as np
import pytest
from data_corpus import jaccard, near_corpus, normalised, read_jsonl, vocabulary, write_jsonl

from reactor.data import (
    Batch,
    ExactDedupStage,
    MinHashDedupStage,
    Pipeline,
    PipelineConfig,
    QualityStage,
    SimHashDedupStage,
    basic_signals,
    default_signals,
    keep_mask,
    load_pipeline_config,
    near_duplicates,
    open_source,
    run_pipeline,
)
from reactor.data.ledger import Ledger
from reactor.errors import ConfigError, InvalidArgumentError


def _config(tmp_path, **values):
    values.setdefault("progress", False)
    values.setdefault(
        "output", {"path": str(tmp_path / "out.jsonl"), "ledger": str(tmp_path / "ledger.jsonl")}
    )
    return PipelineConfig.model_validate(values)


def _run_texts(texts, tmp_path, **values):
    """Run a pipeline over texts (ids t0, t1, ...); returns (kept ids, ledger entries)."""
    path = write_jsonl(tmp_path / "in.jsonl", [{"id": f"t{i}", "text": t} for i, t in enumerate(texts)])
    report = run_pipeline(_config(tmp_path, input={"path": str(path)}, **values))
    kept = [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")]
    ledger = read_jsonl(tmp_path / "ledger.jsonl")
    assert report.input_records == len(kept) + len(ledger)  # nothing dropped silently
    return kept, ledger


def _stream_stage(stage, texts, batch_size):
    """Drive a stage by hand over batches; returns the keep mask and the ledger entries."""
    keep, entries = [], []
    for start in range(0, len(texts), batch_size):
        part = texts[start : start + batch_size]
        batch = Batch(
            part, [f"t{i}" for i in range(start, start + len(part))], np.arange(start, start + len(part))
        )
        result = stage.process(batch)
        keep.extend(result.keep.tolist())
        entries.extend(result.entries)
    return np.array(keep), entries


# --- exact ------------------------------------------------------------------------------------------------


def test_exact_dedup_matches_a_dict_over_normalised_text(tmp_path):
    texts, _ = near_corpus(originals=30, near=5, exact=25, seed=3)
    texts += ["Hello, World!", "hello world", "HELLO   world...", "hello worlds", "!!!", "???"]
    kept, ledger = _run_texts(texts, tmp_path, exact={"enabled": True}, near={"enabled": False}, batch_size=7)
    first: dict[str, int] = {}
    expected_kept, expected_dup = [], {}
    for i, text in enumerate(texts):
        key = normalised(text)
        if key and key in first:
            expected_dup[f"t{i}"] = f"t{first[key]}"
        else:
            first.setdefault(key, i)
            expected_kept.append(f"t{i}")
    assert kept == expected_kept
    assert {e["id"]: e["duplicate_of"] for e in ledger} == expected_dup
    assert "t65" in kept and "t64" in kept  # token-less texts are nobody's duplicate
    assert all(
        e["stage"] == "exact_dedup" and e["rule"] == "exact_fingerprint" and e["score"] == 1.0 for e in ledger
    )


def test_exact_dedup_global_longest_keeps_the_longest_copy(tmp_path):
    texts = ["a b c", "x y", "A, b; C!!!", "x y", "a b c"]
    kept, ledger = _run_texts(texts, tmp_path, near={"enabled": False}, mode="global", keep="longest")
    assert kept == ["t1", "t2"]  # "A, b; C!!!" is the longest spelling of "a b c"
    assert {e["id"]: e["duplicate_of"] for e in ledger} == {"t0": "t2", "t3": "t1", "t4": "t2"}
    assert {e["cluster_id"] for e in ledger} == {0, 1}  # position of each cluster's first document


# --- near (MinHash) ---------------------------------------------------------------------------------------


def test_global_minhash_keeps_the_first_of_every_cluster_and_points_at_it(tmp_path):
    texts, source = near_corpus(originals=60, near=40, exact=10, seed=5)
    # At 0.6 with 99% target recall, every pair of the corpus (all at >= 0.76 or at 0) is a candidate.
    near = {"threshold": 0.6, "target_recall": 0.99}
    kept, ledger = _run_texts(
        texts, tmp_path, exact={"enabled": False}, near=near, mode="global", batch_size=16
    )
    clusters = near_duplicates(texts, threshold=0.6, target_recall=0.99)
    assert kept == [f"t{i}" for i in np.flatnonzero(keep_mask(clusters, "first"))]
    # Independent check: every kept document comes from a different original (the corpus has no
    # accidental overlaps), and each removed one duplicates a kept document of the same original.
    kept_sources = [source[int(k[1:])] for k in kept]
    assert len(set(kept_sources)) == len(kept_sources)
    assert set(kept_sources) == set(source)
    for entry in ledger:
        removed, dup = int(entry["id"][1:]), int(entry["duplicate_of"][1:])
        assert entry["duplicate_of"] in kept and source[removed] == source[dup]
        assert (
            dup
            == entry["cluster_id"]
            == min(i for i in range(len(texts)) if clusters[i] == clusters[removed])
        )


def test_streaming_minhash_drops_exactly_the_documents_with_an_earlier_near_duplicate(tmp_path):
    texts, _ = near_corpus(originals=50, near=40, exact=5, seed=7)
    n = len(texts)
    # Independent reference: exact Jaccard over Python shingles. The corpus has no pair between 0.3 and
    # 0.75, and at 0.6 with 99% target recall the LSH misses no pair above 0.75.
    sim = np.array([[jaccard(a, b) for b in texts] for a in texts])
    assert not np.any((sim > 0.3) & (sim < 0.75))
    expected = [i for i in range(n) if not np.any(sim[i, :i] >= 0.6)]
    near = {"threshold": 0.6, "target_recall": 0.99}
    assert len(expected) < n - 30
    for batch_size in (1, 9, 1000):
        kept, ledger = _run_texts(texts, tmp_path, exact={"enabled": False}, near=near, batch_size=batch_size)
        assert kept == [f"t{i}" for i in expected], batch_size
        for entry in ledger:
            assert entry["duplicate_of"] in kept  # always a kept document...
            assert entry["threshold"] == 0.6 and entry["rule"] == "minhash_jaccard"


def _bridge(words: int = 100, swaps: int = 3, seed: int = 11) -> tuple[str, str, str]:
    """C, and A and B that each differ from C in `swaps` words at opposite ends: J(A,C), J(B,C) ~ 0.73,
    J(A,B) ~ 0.52."""
    rng = np.random.default_rng(seed)
    vocab = vocabulary(seed=seed)
    c = [vocab[i] for i in rng.integers(0, len(vocab), words)]
    a, b = list(c), list(c)
    for k in range(swaps):
        a[5 + 10 * k] = "alpha" + "x" * k
        b[words - 6 - 10 * k] = "beta" + "y" * k
    return " ".join(a), " ".join(b), " ".join(c)


def test_a_later_bridge_is_removed_in_streaming_and_merges_clusters_in_global_mode(tmp_path):
    a, b, c = _bridge()
    assert jaccard(a, c) >= 0.7 and jaccard(b, c) >= 0.7 and jaccard(a, b) < 0.6
    near = {"threshold": 0.7, "num_perm": 256}
    kept, ledger = _run_texts([a, b, c], tmp_path, exact={"enabled": False}, near=near)
    assert kept == ["t0", "t1"] and [(e["id"], e["duplicate_of"]) for e in ledger] == [("t2", "t0")]
    kept, ledger = _run_texts([a, b, c], tmp_path, exact={"enabled": False}, near=near, mode="global")
    assert kept == ["t0"] and [(e["id"], e["duplicate_of"]) for e in ledger] == [("t1", "t0"), ("t2", "t0")]
    kept, _ = _run_texts([c, a, b], tmp_path, exact={"enabled": False}, near=near)
    assert kept == ["t0"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: ExactDedupStage(),
        lambda: MinHashDedupStage(0.8, 64, 5),
        lambda: SimHashDedupStage(6, 3),
    ],
    ids=["exact", "minhash", "simhash"],
)
def test_streaming_across_batches_equals_one_big_batch(make):
    texts, _ = near_corpus(originals=40, near=40, exact=20, seed=13)
    keep_one, entries_one = _stream_stage(make(), texts, len(texts))
    assert 0 < keep_one.sum() < len(texts)
    for batch_size in (1, 7, 33):
        keep, entries = _stream_stage(make(), texts, batch_size)
        np.testing.assert_array_equal(keep, keep_one)
        kept_ids = {f"t{i}" for i in np.flatnonzero(keep)}
        assert [e.id for e in entries] == [e.id for e in entries_one]
        assert all(e.duplicate_of in kept_ids for e in entries)


def test_simhash_streaming_matches_a_brute_force_hamming_reference():
    texts, _ = near_corpus(originals=30, near=30, exact=5, seed=17)
    stage = SimHashDedupStage(8, 3)
    fps = stage.featurizer()(texts)["simhash"]
    keep, entries = _stream_stage(stage, texts, 10)
    dist = np.bitwise_count(fps[:, None] ^ fps[None, :])
    expected = np.array([not np.any(dist[i, :i] <= 8) for i in range(len(texts))])
    np.testing.assert_array_equal(keep, expected)
    for e in entries:
        i = int(e.id[1:])
        assert e.score == pytest.approx(1 - dist[i, e.cluster_id] / 64)


def test_global_mode_matches_the_clusters_of_one_index_at_any_batch_size(tmp_path):
    texts, _ = near_corpus(originals=40, near=40, exact=0, seed=19)
    lengths = np.array([len(t) for t in texts])
    expected = np.flatnonzero(keep_mask(near_duplicates(texts), "longest", lengths=lengths))
    for batch_size in (3, 1000):
        kept, ledger = _run_texts(
            texts, tmp_path, exact={"enabled": False}, mode="global", keep="longest", batch_size=batch_size
        )
        assert kept == [f"t{i}" for i in expected]
        for entry in ledger:  # the kept copy is at least as long as every removed one of its cluster
            assert len(texts[int(entry["duplicate_of"][1:])]) >= len(texts[int(entry["id"][1:])])


# --- quality ----------------------------------------------------------------------------------------------


def _reference_signals(text: str) -> list[float]:
    words = text.split()
    n = len(words)
    if n == 0:
        return [0.0, 0.0, 0.0, 0.0]
    symbols = sum(text.count(s) for s in "#$%<>") + text.count("...") + text.count("\u2026")
    return [
        float(n),
        sum(len(w) for w in words) / n,
        symbols / n,
        sum(any(c.isalnum() for c in w) for w in words) / n,
    ]


def test_basic_signals_match_a_per_text_python_reference():
    texts = [
        "The quick brown fox jumps over the lazy dog.",
        "",
        "   ",
        "#### $$$ %%% <<< >>> ... .... ...... …",
        "naïve café\tüber\nStraße — 🙂 🙂 x",
        "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522 \U0001d7d9 ok",
        "-- -- -- word",
        "a\u00a0b\u2003c",  # Unicode spaces
        "one",
    ]
    matrix, names = basic_signals(texts)
    assert list(names) == ["word_count", "mean_word_length", "symbol_ratio", "alnum_ratio"]
    np.testing.assert_allclose(matrix, np.array([_reference_signals(t) for t in texts]), rtol=1e-12)


def test_quality_stage_applies_rules_and_logs_the_first_broken_one(tmp_path):
    good = "plain readable words in a sentence " * 12
    texts = [good, "too short", good.replace("words", "##"), good + " " + "!!!! " * 30, good.upper()]
    rules = {"word_count": {"min": 20}, "symbol_ratio": {"max": 0.1}, "alnum_ratio": {"min": 0.8}}
    signals = "reactor.data.stages:basic_signals"
    kept, ledger = _run_texts(
        texts,
        tmp_path,
        quality={"enabled": True, "signals": signals, "rules": rules},
        exact={"enabled": False},
        near={"enabled": False},
    )
    assert kept == ["t0", "t4"]
    got = {e["id"]: (e["rule"], e["threshold"]) for e in ledger}
    assert got == {"t1": ("word_count", 20.0), "t2": ("symbol_ratio", 0.1), "t3": ("alnum_ratio", 0.8)}
    assert ledger[0]["score"] == 2.0


def test_quality_stage_takes_any_signals_function_and_names_a_rule_without_signal():
    def lengths(texts):
        return np.array([[len(t)] for t in texts], dtype=float), ["chars"]

    stage = QualityStage({"chars": (3, 5)}, lengths)
    result = stage.process(Batch(["ab", "abcd", "abcdef"], [0, 1, 2], np.arange(3)))
    assert result.keep.tolist() == [False, True, False]
    assert [e.threshold for e in result.entries] == [3.0, 5.0]
    stage = QualityStage({"word_count": (1, None)}, "reactor.data.stages:default_signals")
    assert stage.process(Batch(["x", " "], [0, 1], np.arange(2))).keep.tolist() == [True, False]
    with pytest.raises(InvalidArgumentError, match=r"'nope' names no signal.*chars"):
        QualityStage({"nope": (0, 1)}, lengths).process(Batch(["a"], [0], np.arange(1)))
    with pytest.raises(InvalidArgumentError, match="min 5 exceeds max 1"):
        QualityStage({"chars": (5, 1)}, lengths)


# --- normalise, bad input, interruption -------------------------------------------------------------------


def test_normalise_changes_text_and_logs_it_while_other_fields_stay(tmp_path):
    records = [
        {"id": 1, "text": "ﬁne   text\there", "meta": {"k": [1, 2]}},
        {"id": 2, "text": "already fine"},
        {"id": 3, "text": "  \uff26\uff35\uff2c\uff2c width  "},
    ]
    path = write_jsonl(tmp_path / "in.jsonl", records)
    config = _config(
        tmp_path, input={"path": str(path)}, normalise={"enabled": True}, near={"enabled": False}
    )
    report = run_pipeline(config)
    out = read_jsonl(tmp_path / "out.jsonl")
    assert out == [
        {"id": 1, "text": "fine text here", "meta": {"k": [1, 2]}},
        {"id": 2, "text": "already fine"},
        {"id": 3, "text": "FULL width"},
    ]
    assert unicodedata.normalize("NFKC", "ﬁ") == "fi"
    ledger = read_jsonl(tmp_path / "ledger.jsonl")
    assert [(e["id"], e["action"], e["stage"]) for e in ledger] == [
        (1, "changed", "normalise"),
        (3, "changed", "normalise"),
    ]
    assert report.stages["normalise"].changed == 2


def test_bad_records_go_to_the_ledger_and_every_record_is_accounted_for(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"id": "a", "text": "some words here to keep"}\n'
        b'{"id": "b", "text": "   "}\n'
        b"not json at all\n"
        b'{"id": "c", "text": "\xc3\x28 invalid"}\n'
        b'{"id": "d"}\n'
        b'{"id": "e", "text": "some words here to keep"}\n'
    )
    config = _config(tmp_path, input={"path": str(path), "on_missing_text": "ledger"})
    report = run_pipeline(config)
    ledger = read_jsonl(tmp_path / "ledger.jsonl")
    assert [(e["id"], e["rule"]) for e in ledger] == [
        ("b", "empty"),
        (3, "unreadable"),
        (4, "unreadable"),
        ("d", "missing_text"),
        ("e", "exact_fingerprint"),
    ]
    assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["a"]
    assert report.input_records == 6 and report.output_documents == 1 and report.removed == 5
    with pytest.raises(InvalidArgumentError, match="'text' is missing"):
        run_pipeline(_config(tmp_path, input={"path": str(path)}))


def test_an_exception_mid_run_leaves_no_output_and_no_ledger(tmp_path):
    texts, _ = near_corpus(originals=50, near=0, exact=0)
    path = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in texts])
    (tmp_path / "out.jsonl").write_text("old output\n")
    calls = []

    def flaky(batch_texts):
        calls.append(len(batch_texts))
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return default_signals(batch_texts)

    config = _config(
        tmp_path,
        input={"path": str(path)},
        quality={"enabled": True, "preset": "none", "rules": {}},
        batch_size=10,
    )
    with pytest.raises(RuntimeError, match="disk on fire"):
        run_pipeline(config, signals=flaky)
    assert calls == [10, 10, 10]  # two batches had already been written to the temporary file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]
    assert (tmp_path / "out.jsonl").read_text() == "old output\n"


# --- config ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0, 1.5, -0.1])
def test_threshold_outside_zero_one_fails_at_load_naming_the_field(threshold):
    with pytest.raises(ConfigError, match=r"near\.threshold"):
        load_pipeline_config(None, {"near": {"threshold": threshold}})
    with pytest.raises(InvalidArgumentError, match="threshold"):
        MinHashDedupStage(threshold)


def test_toml_config_with_relative_paths_and_overrides(tmp_path):
    texts, _ = near_corpus(originals=20, near=10, exact=5)
    write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in texts])
    (tmp_path / "run.toml").write_text(
        'batch_size = 8\nprogress = false\n[input]\npath = "in.jsonl"\n'
        '[output]\npath = "out/clean.jsonl"\nledger = "out/ledger.jsonl"\nreport = "out/report.json"\n'
        "[near]\nthreshold = 0.8\n"
    )
    config = load_pipeline_config(tmp_path / "run.toml", {"near": {"num_perm": 64}})
    assert config.input.path == tmp_path / "in.jsonl" and config.near.num_perm == 64
    report = run_pipeline(config)
    summary = json.loads((tmp_path / "out" / "report.json").read_text())
    assert summary["input_records"] == 35 == report.input_records
    assert {s["name"]: s["removed"] for s in summary["stages"]} == {
        name: stage.removed for name, stage in report.stages.items()
    }
    assert summary["output_documents"] + summary["removed"] == 35
    assert "| exact_dedup |" in (tmp_path / "out" / "report.md").read_text()
    with pytest.raises(ConfigError, match="keep"):
        load_pipeline_config(None, {"keep": "longest"})  # longest needs global mode
    with pytest.raises(ConfigError, match=r"near: .*bands and rows"):
        load_pipeline_config(None, {"near": {"bands": 4}})
    with pytest.raises(ConfigError, match=r"unknown_key|extra"):
        load_pipeline_config(None, {"unknown_key": 1})


def test_parquet_in_parquet_out_keeps_columns(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    texts, _ = near_corpus(originals=15, near=0, exact=5, seed=23)
    pq.write_table(pa.table({"text": texts, "n": list(range(len(texts)))}), tmp_path / "in.parquet")
    config = _config(
        tmp_path, input={"path": str(tmp_path / "in.parquet")}, output={"path": str(tmp_path / "o.parquet")}
    )
    report = run_pipeline(config)
    out = pq.read_table(tmp_path / "o.parquet")
    assert out.column_names == ["text", "n"] and out.num_rows == 15 == report.output_documents
    firsts = {}
    for i, t in enumerate(texts):
        firsts.setdefault(normalised(t), i)
    assert out.column("n").to_pylist() == sorted(firsts.values())


def test_pipeline_object_runs_custom_stage_lists_from_python():
    texts, _ = near_corpus(originals=10, near=5, exact=5)
    ledger = Ledger()
    pipeline = Pipeline([ExactDedupStage(), MinHashDedupStage(0.6, target_recall=0.99)], batch_size=4)
    report = pipeline.run(open_source(texts), None, ledger)
    assert report.output_documents == 10 and report.input_records == 20
    assert report.stages["exact_dedup"].removed == len(texts) - len({normalised(t) for t in texts})
    with pytest.raises(InvalidArgumentError, match="unique"):
        Pipeline([ExactDedupStage(), ExactDedupStage()])
    assert next(itertools.islice(open_source(texts).documents(), 1)).id == 0
