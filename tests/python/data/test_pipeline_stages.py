"""The stages package: substring dedup, decontamination and the Gopher quality defaults, each against an
independent pure-Python reference; config errors; identical results when features are computed ahead
of the decisions (the Ray path), in-process and on a local Ray cluster."""

from __future__ import annotations

import pickle
import random
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from data_corpus import read_jsonl, vocabulary, write_jsonl

from reactor.data import (
    GOPHER_RULES,
    Batch,
    DecontaminateStage,
    Pipeline,
    PipelineConfig,
    QualityStage,
    SubstringDedupStage,
    build_stages,
    load_eval_set,
    load_pipeline_config,
    open_source,
    run_pipeline,
)
from reactor.data.distributed import _FeaturizeBatches
from reactor.data.io import Document
from reactor.data.ledger import Ledger
from reactor.data.pipeline import FeatureExecutor, Featurizers
from reactor.data.stages import Features, cut_byte_ranges
from reactor.errors import ConfigError, InvalidArgumentError

TOKEN = re.compile(r"[a-z]+")
VOCAB = vocabulary(seed=41)


def _words(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(VOCAB) for _ in range(n)]


def _run(tmp_path, texts, **values):
    """Run a pipeline over texts (ids t0, t1, ...); returns ({id: output text}, ledger entries)."""
    path = write_jsonl(tmp_path / "in.jsonl", [{"id": f"t{i}", "text": t} for i, t in enumerate(texts)])
    values.setdefault("exact", {"enabled": False})
    values.setdefault("near", {"enabled": False})
    config = PipelineConfig.model_validate(
        {
            "input": {"path": str(path)},
            "output": {"path": str(tmp_path / "out.jsonl"), "ledger": str(tmp_path / "ledger.jsonl")},
            "progress": False,
            **values,
        }
    )
    report = run_pipeline(config)
    out = {r["id"]: r["text"] for r in read_jsonl(tmp_path / "out.jsonl")}
    ledger = read_jsonl(tmp_path / "ledger.jsonl")
    removed = [e for e in ledger if e["action"] == "removed"]
    assert report.input_records == len(out) + len(removed)  # nothing dropped silently
    return out, ledger


# --- substring dedup: a pure-Python reference -------------------------------------------------------------


def _substring_reference(texts: list[str], k: int, keep_first: bool = True) -> list[str]:
    """Lee et al.'s definition on lowercase-word texts: a token is duplicated when it lies in a k-token
    window that also occurs at another start (keep_first: at an earlier start, in corpus order). Runs of
    duplicated tokens are cut from the first one's start to the last one's end."""
    spans = [[(m.start(), m.end()) for m in TOKEN.finditer(t)] for t in texts]
    tokens = [[t[a:b] for a, b in s] for t, s in zip(texts, spans, strict=True)]
    starts: dict[tuple[str, ...], list[tuple[int, int]]] = {}
    for d, toks in enumerate(tokens):
        for i in range(len(toks) - k + 1):
            starts.setdefault(tuple(toks[i : i + k]), []).append((d, i))
    marked = [[False] * len(toks) for toks in tokens]
    for occurrences in starts.values():
        if len(occurrences) < 2:
            continue
        for d, i in occurrences[1:] if keep_first else occurrences:
            for t in range(i, i + k):
                marked[d][t] = True
    out = []
    for text, s, flags in zip(texts, spans, marked, strict=True):
        pieces, at, t = [], 0, 0
        while t < len(flags):
            if not flags[t]:
                t += 1
                continue
            u = t
            while u + 1 < len(flags) and flags[u + 1]:
                u += 1
            pieces.append(text[at : s[t][0]])
            at, t = s[u][1], u + 1
        pieces.append(text[at:])
        out.append("".join(pieces))
    return out


def _copy_corpus(seed: int, docs: int = 14) -> list[str]:
    """Random-word documents; some carry a copy of a 40..70-word span of an earlier or later document."""
    rng = random.Random(seed)
    base = [_words(rng, rng.randint(60, 160)) for _ in range(docs)]
    for _ in range(docs // 2):
        src, dst = rng.sample(range(docs), 2)
        length = rng.randint(40, 70)
        start = rng.randrange(0, max(1, len(base[src]) - length))
        at = rng.randrange(len(base[dst]) + 1)
        base[dst][at:at] = base[src][start : start + length]
    texts = [" ".join(ws) for ws in base]
    texts.append(texts[3])  # a whole copy: nothing left after the cut
    return texts


def test_a_copied_60_word_span_is_cut_from_the_later_document_only():
    rng = random.Random(5)
    a, b1, b2, c = _words(rng, 100), _words(rng, 30), _words(rng, 20), _words(rng, 80)
    span = a[20:80]
    texts = [" ".join(a), " ".join(b1 + span + b2), " ".join(c)]
    stage = SubstringDedupStage(50)
    batch = Batch(texts, ["a", "b", "c"], np.arange(3))
    assert stage.needs_observation
    stage.observe(batch, {})
    stage.finalize()
    assert not stage.needs_observation
    result = stage.process(batch)
    assert result.keep.tolist() == [True, True, True]
    assert result.texts == [texts[0], " ".join(b1) + "  " + " ".join(b2), texts[2]]
    (entry,) = result.entries
    begin = len(" ".join(b1)) + 1
    assert entry.id == "b" and entry.action == "changed" and entry.rule == "duplicate_span"
    assert entry.detail.startswith(f"removed bytes [[{begin}, {begin + len(' '.join(span))}]]")
    assert entry.score == pytest.approx(len(" ".join(span)) / len(texts[1]))
    assert entry.threshold == 50.0
    # Every copy is cut without keep_first; a 61-token minimum finds nothing.
    every = SubstringDedupStage(50, keep_first=False)
    every.observe(batch, {})
    every.finalize()
    assert every.process(batch).texts == _substring_reference(texts, 50, keep_first=False)
    longer = SubstringDedupStage(61)
    longer.observe(batch, {})
    longer.finalize()
    assert longer.process(batch).texts == texts and longer.process(batch).entries == []


@pytest.mark.parametrize("keep_first", [True, False])
def test_substring_pipeline_matches_the_reference_at_any_batch_size(tmp_path, keep_first):
    texts = _copy_corpus(seed=7)
    expected = _substring_reference(texts, 50, keep_first)
    assert sum(e != t for e, t in zip(expected, texts, strict=True)) >= 5  # the corpus has copies
    for batch_size in (3, 100):
        substring = {"enabled": True, "keep_first": keep_first, "min_remaining_words": 5}
        out, ledger = _run(tmp_path, texts, substring=substring, batch_size=batch_size)
        for i, want in enumerate(expected):
            if len(want.split()) < 5:
                assert f"t{i}" not in out
            else:
                assert out[f"t{i}"] == want, (batch_size, i)
        changed = {e["id"] for e in ledger if e["action"] == "changed"}
        removed = {e["id"]: e for e in ledger if e["action"] == "removed"}
        assert changed == {f"t{i}" for i, w in enumerate(expected) if w != texts[i] and len(w.split()) >= 5}
        assert set(removed) == {f"t{i}" for i, w in enumerate(expected) if len(w.split()) < 5}
        assert all(e["rule"] == "remainder_too_short" and e["threshold"] == 5.0 for e in removed.values())
    assert "t14" in removed  # the whole copy of t3


def test_substring_stage_is_global_even_in_streaming_mode_and_reports_its_memory(tmp_path):
    texts = _copy_corpus(seed=9)
    stages = build_stages(PipelineConfig.model_validate({"substring": {"enabled": True}, "progress": False}))
    report = Pipeline(stages, batch_size=4).run(open_source(texts), None, Ledger())
    assert report.passes == 2  # exact and near dedup stream; substring dedup observes first
    extra = report.stages["substring_dedup"].extra
    assert extra["observed"] == report.stages["substring_dedup"].seen
    assert extra["corpus_bytes"] >= sum(len(t) for t in texts) // 2 and extra["removed_bytes"] > 0
    stage = SubstringDedupStage()
    with pytest.raises(InvalidArgumentError, match="observe the whole input"):
        stage.process(Batch(["x"], [0], np.arange(1)))
    stage.observe(Batch(["a b c"], [0], np.arange(1)), {})
    stage.finalize()
    with pytest.raises(Exception, match=r"changed between passes|unknown document position"):
        stage.process(Batch(["a b c"], [5], np.array([5])))
    with pytest.raises(InvalidArgumentError, match="min_tokens must be an integer >= 1, got 0"):
        SubstringDedupStage(0)
    with pytest.raises(InvalidArgumentError, match="min_remaining_words"):
        SubstringDedupStage(min_remaining_words=-1)
    assert cut_byte_ranges("héllo wörld", [[0, 6]]) == " wörld"  # "héllo" is 6 bytes of UTF-8
    with pytest.raises(InvalidArgumentError, match="byte range"):
        cut_byte_ranges("abc", [[2, 9]])


# --- decontamination: pure-Python references ---------------------------------------------------------------


def _grams(words: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def _ngram_reference(texts: list[str], evals: list[str], n: int = 13) -> list[tuple[int, list[int]]]:
    """Per text: (n-gram positions found in the eval set, sorted eval indices sharing an n-gram)."""
    eval_grams = [set(_grams(TOKEN.findall(e), n)) for e in evals]
    union = set().union(*eval_grams)
    out = []
    for text in texts:
        grams = _grams(TOKEN.findall(text), n)
        out.append((sum(g in union for g in grams), [e for e, s in enumerate(eval_grams) if s & set(grams)]))
    return out


def _eval_coverage_reference(text: str, eval_text: str, min_match: int) -> float:
    """Exact matches only: the fraction of the eval text's tokens inside a common run of >= min_match."""
    doc = set(_grams(TOKEN.findall(text), min_match))
    words = TOKEN.findall(eval_text)
    covered = [False] * len(words)
    for i, g in enumerate(_grams(words, min_match)):
        if g in doc:
            covered[i : i + min_match] = [True] * min_match
    return sum(covered) / len(words) if words else 0.0


def _contamination_corpus(seed: int = 13) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    evals = [" ".join(_words(rng, rng.randint(25, 40) if j != 2 else 40)) for j in range(6)]
    q = evals[2].split()
    half = q[:20]
    mutated = list(q)
    for k in (11, 16, 21, 26):  # four mismatches: exact runs cover 24 of 40 tokens, Llama 2 all 40
        mutated[k] = "zzzz"
    texts = [
        " ".join(_words(rng, 150)),  # clean
        " ".join(_words(rng, 80) + q + _words(rng, 120)),  # the whole question pasted into a long page
        " ".join(_words(rng, 60) + half + _words(rng, 60)),  # half of it: 13-grams hit, coverage 0.5
        " ".join(_words(rng, 40) + mutated + _words(rng, 200)),  # pasted with two words changed
        " ".join(_words(rng, 10) + evals[4].split()[:12] + _words(rng, 10)),  # 12 words: no 13-gram
        " ".join(q),  # the question alone
        " ".join(_words(rng, 90) + evals[0].split() + evals[5].split() + _words(rng, 5)),  # two eval docs
    ]
    return texts, evals


def test_decontamination_ngram_mode_matches_the_gpt3_reference(tmp_path):
    texts, evals = _contamination_corpus()
    eval_path = write_jsonl(
        tmp_path / "eval.jsonl", [{"id": f"q{j}", "text": e} for j, e in enumerate(evals)]
    )
    reference = _ngram_reference(texts, evals)
    assert [hits > 0 for hits, _ in reference] == [False, True, True, True, False, True, True]
    for min_hits in (1, 10):
        dec = {"enabled": True, "eval": [str(eval_path)], "min_hits": min_hits}
        out, ledger = _run(tmp_path, texts, decontaminate=dec, batch_size=3)
        expect_removed = [i for i, (hits, _) in enumerate(reference) if hits >= min_hits]
        assert sorted(out) == sorted(f"t{i}" for i in range(len(texts)) if i not in expect_removed)
        assert [e["id"] for e in ledger] == [f"t{i}" for i in expect_removed]
        for entry in ledger:
            hits, matched = reference[int(entry["id"][1:])]
            assert entry["rule"] == "ngram_overlap" and entry["score"] == hits
            assert entry["threshold"] == min_hits
            assert entry["duplicate_of"] == [f"eval.jsonl:q{j}" for j in matched]
    assert ledger[-1]["duplicate_of"] == ["eval.jsonl:q0", "eval.jsonl:q5"]


def test_decontamination_coverage_mode_catches_a_pasted_question_but_not_half_of_one(tmp_path):
    texts, evals = _contamination_corpus()
    stage = DecontaminateStage(evals, mode="coverage", max_mismatches=0)
    result = stage.process(Batch(texts, list(range(len(texts))), np.arange(len(texts))))
    expected = []
    for text in texts:
        expected.append(max(_eval_coverage_reference(text, e, 10) for e in evals))
    assert expected[1] == expected[5] == 1.0 and expected[2] == 0.5 and expected[3] == 0.6
    assert result.keep.tolist() == [c < 0.8 for c in expected]
    assert [e.score for e in result.entries] == pytest.approx([c for c in expected if c >= 0.8])
    assert [e.duplicate_of for e in result.entries] == [[2], [2], [0, 5]]
    # Llama 2's mismatches: the question with two words changed is still fully covered.
    lenient = DecontaminateStage(evals, mode="coverage").process(Batch(texts, list(range(7)), np.arange(7)))
    assert lenient.keep.tolist() == [True, False, True, False, True, False, False]
    # The document's own fraction: only the document that is the question alone is mostly eval text.
    own = DecontaminateStage(evals, mode="coverage", coverage_of="document")
    result = own.process(Batch(texts, list(range(7)), np.arange(7)))
    assert result.keep.tolist() == [True, True, True, True, True, False, True]
    assert result.entries[0].score == 1.0 and result.entries[0].rule == "token_coverage"


def test_eval_sets_load_from_several_files_and_bad_ones_are_clear_errors(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": "x", "text": "one two"}, {"text": "three"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"question": "four five"}])
    loaded = load_eval_set([a])
    assert loaded.texts == ("one two", "three") and loaded.ids == ("a.jsonl:x", "a.jsonl:2")
    with pytest.raises(InvalidArgumentError, match=r"'text' is missing in .*b\.jsonl"):
        load_eval_set([a, b])
    assert load_eval_set([b], text_field="question").ids == ("b.jsonl:1",)
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        load_eval_set([tmp_path / "nope.jsonl"])
    with pytest.raises(InvalidArgumentError, match="threshold must be in"):
        DecontaminateStage(["a b"], mode="coverage", threshold=1.5)
    with pytest.raises(InvalidArgumentError, match="mode must be"):
        DecontaminateStage(["a b"], mode="substring")
    with pytest.raises(InvalidArgumentError, match="empty"):
        DecontaminateStage([])
    with pytest.raises(ConfigError, match=r"decontaminate: .*eval file"):
        load_pipeline_config(None, {"decontaminate": {"enabled": True}})


def test_relative_eval_paths_in_a_config_file_resolve_against_its_folder(tmp_path):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "p.toml").write_text(
        '[decontaminate]\nenabled = true\neval = ["e.jsonl", "/abs.jsonl"]\n'
    )
    config = load_pipeline_config(tmp_path / "cfg" / "p.toml", {"decontaminate": {"ngram": 8}})
    assert config.decontaminate.eval == [tmp_path / "cfg" / "e.jsonl", Path("/abs.jsonl")]
    assert config.decontaminate.ngram == 8


# --- quality: Gopher defaults on the engine's signals ------------------------------------------------------

PROSE = (
    "The river town of Allerby grew slowly over the course of two centuries. Farmers brought grain to the "
    "mill that stood beside the old stone bridge, and merchants from the coast traded salt, cloth and iron "
    "for wool. When the railway arrived in the spring of that year, the quiet market square filled with new "
    "shops, a small school and a library that the mayor had promised for a long time. Many families still "
    "remember the first train and the brass band that played on the platform while children waved flags "
    "and their parents argued about whether the noise would frighten the cattle in the fields nearby."
)
BOILERPLATE = "\n".join(["Click here to subscribe to our newsletter today"] * 20)
HASHTAGS = " ".join(f"#{w}" for w in PROSE.split()[:70])


def test_gopher_defaults_remove_boilerplate_and_symbols_and_keep_prose(tmp_path):
    texts = [PROSE, BOILERPLATE, HASHTAGS, "Too short to be a document."]
    out, ledger = _run(tmp_path, texts, quality={"enabled": True})
    assert list(out) == ["t0"]
    got = {e["id"]: (e["rule"], e["score"], e["threshold"]) for e in ledger}
    # Independent values: 19 of 20 lines repeat an earlier one; every word has a '#'; 6 words.
    assert got == {
        "t1": ("dup_line_fraction", pytest.approx(19 / 20), 0.3),
        "t2": ("hash_to_word_ratio", 1.0, 0.1),
        "t3": ("word_count", 6.0, 50.0),
    }
    detail = next(e["detail"] for e in ledger if e["id"] == "t1")
    assert "dup_line_char_fraction=0.95" in detail and "dup_10gram_char_fraction=1" in detail
    assert list(QualityStage().rules) == list(GOPHER_RULES)


def test_quality_rules_are_configurable_per_rule_over_the_gopher_preset(tmp_path):
    rules = {"dup_line_fraction": {"max": 0.96}, "dup_line_char_fraction": {"enabled": False}}
    texts = [PROSE, BOILERPLATE]
    out, ledger = _run(tmp_path, texts, quality={"enabled": True, "rules": rules})
    assert list(out) == ["t0"] and ledger[0]["rule"] == "top_2gram_char_fraction"
    config = load_pipeline_config(None, {"quality": {"rules": {"word_count": {"min": 5}}}})
    resolved = config.quality.resolved_rules()
    assert resolved["word_count"] == (5.0, 100_000) and list(resolved) == list(GOPHER_RULES)
    config = load_pipeline_config(None, {"quality": {"preset": "none", "rules": {"word_count": {"min": 5}}}})
    assert config.quality.resolved_rules() == {"word_count": (5.0, None)}


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"symbol_ratio": {"max": 0.1}}, r"quality\.rules: .*unknown signal 'symbol_ratio'"),
        ({"word_count": {"min": -5}}, r"quality\.rules: .*word_count\.min = -5\.0 is negative"),
        ({"dup_line_fraction": {"max": -0.1}}, r"dup_line_fraction\.max = -0\.1 is negative"),
        ({"word_count": {"min": 200_000}}, r"quality: .*'word_count': min \(200000\.0\) exceeds"),
        ({"word_count": {"min": 9, "max": 3}}, r"min \(9\.0\) exceeds max \(3\.0\)"),
    ],
)
def test_quality_config_errors_name_the_rule_and_value(rules, message):
    with pytest.raises(ConfigError, match=message):
        load_pipeline_config(None, {"quality": {"enabled": True, "rules": rules}})


def test_quality_stage_checks_rules_against_the_engine_signal_names():
    with pytest.raises(InvalidArgumentError, match=r"'alnum_ratio' names no signal; .*alpha_word_fraction"):
        QualityStage({"alnum_ratio": (0.8, None)})
    with pytest.raises(InvalidArgumentError, match=r"'word_count': min -1 is negative"):
        QualityStage({"word_count": (-1, None)})
    with pytest.raises(InvalidArgumentError, match=r"'word_count': max must be a finite number"):
        QualityStage({"word_count": (None, float("nan"))})
    custom = QualityStage({"chars": (-1, 3)}, lambda t: (np.array([[len(x)] for x in t], float), ["chars"]))
    assert custom.process(Batch(["ab", "abcd"], [0, 1], np.arange(2))).keep.tolist() == [True, False]


# --- features ahead of decisions (the Ray path) -------------------------------------------------------------


class AheadExecutor(FeatureExecutor):
    """What RayExecutor does, in-process: the whole batch featurised per stage before any decision, the
    features pickled as they are on their way back from a worker."""

    name = "ahead"

    def featurize(
        self, batches: Iterator[list[Document]], featurizers: Featurizers
    ) -> Iterator[tuple[list[Document], list[Features] | None]]:
        fn = _FeaturizeBatches(tuple(featurizers))
        for docs in batches:
            (blob,) = fn({"texts": [[d.text for d in docs]]})["features"]
            yield docs, pickle.loads(blob)


def _parity_input(tmp_path):
    """A corpus where substring dedup cuts the pasted eval question out of one document (so decisions
    made on features computed before the cut would remove it) and leaves it in another."""
    rng = random.Random(17)
    evals = [" ".join(_words(rng, 30)) for _ in range(3)]
    source = _words(rng, 40) + evals[1].split() + _words(rng, 40)
    texts = [" ".join(_words(rng, 120)) for _ in range(10)]
    texts[2] = " ".join(source)
    texts[6] = " ".join(_words(rng, 20) + source + _words(rng, 20))  # the copy (question inside) is cut
    texts[8] = " ".join(_words(rng, 50) + evals[0].split() + _words(rng, 50))  # not copied: removed
    texts[9] = texts[4].upper() + "."  # an exact duplicate
    eval_path = write_jsonl(tmp_path / "eval.jsonl", [{"text": e} for e in evals])
    return texts, eval_path


def _parity_config(tmp_path, eval_path, engine_dir, mode):
    return {
        "output": {
            "path": str(tmp_path / engine_dir / "o.jsonl"),
            "ledger": str(tmp_path / engine_dir / "l.jsonl"),
        },
        "substring": {"enabled": True, "min_tokens": 50},
        "decontaminate": {"enabled": True, "eval": [str(eval_path)], "mode": mode},
        "batch_size": 3,
        "progress": False,
    }


@pytest.mark.parametrize("mode", ["ngram", "coverage"])
def test_features_computed_ahead_give_the_local_decisions(tmp_path, mode):
    texts, eval_path = _parity_input(tmp_path)
    results = []
    for name, executor in (("local", None), ("ahead", AheadExecutor())):
        config = PipelineConfig.model_validate(_parity_config(tmp_path, eval_path, name, mode))
        stages = build_stages(config)
        (tmp_path / name).mkdir()
        ledger = Ledger(config.output.ledger)
        report = Pipeline(stages, batch_size=3, executor=executor).run(open_source(texts), None, ledger)
        ledger.commit()
        results.append((read_jsonl(config.output.ledger), report.output_documents))
    (local, n_local), (ahead, n_ahead) = results
    assert local == ahead and n_local == n_ahead
    by_id = {e["id"]: e for e in local}
    assert by_id[6]["stage"] == "substring_dedup" and by_id[6]["action"] == "changed"
    assert by_id[8]["stage"] == "decontaminate" and by_id[2]["stage"] == "decontaminate"
    assert by_id[9]["rule"] == "exact_fingerprint"
    assert 6 not in {e["id"] for e in local if e["action"] == "removed"}  # its copy of the question is gone


@pytest.mark.ray
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("mode", ["ngram", "coverage"])
def test_ray_runs_substring_and_decontamination_exactly_like_local(ray_cluster, tmp_path, mode):
    texts, eval_path = _parity_input(tmp_path)
    path = write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": t} for i, t in enumerate(texts)])
    outputs = []
    for engine in ("local", "ray"):
        values = _parity_config(tmp_path, eval_path, engine, mode)
        config = PipelineConfig.model_validate(
            {**values, "input": {"path": str(path)}, "engine": engine, "ray_window": 2}
        )
        report = run_pipeline(config)
        assert report.engine == engine
        outputs.append(
            ((tmp_path / engine / "o.jsonl").read_bytes(), read_jsonl(tmp_path / engine / "l.jsonl"))
        )
    assert outputs[0] == outputs[1]
    stages = {e["stage"] for e in outputs[0][1]}
    assert {"substring_dedup", "decontaminate", "exact_dedup"} <= stages
    assert ray_cluster.is_initialized()
