from __future__ import annotations

import json
import random
import subprocess
import sys

import numpy as np
import pytest
from data_corpus import jaccard, near_corpus, normalised, read_jsonl, vocabulary, write_jsonl
from typer.testing import CliRunner

from reactor.cli import app

runner = CliRunner()


def _corpus_file(tmp_path, with_ids=True, seed=29):
    texts, source = near_corpus(originals=40, near=30, exact=10, seed=seed)
    records = []
    for i, text in enumerate(texts):
        record = {"text": text, "source": source[i], "extra": {"n": i}}
        if with_ids:
            record["id"] = f"doc-{i}"
        records.append(record)
    return write_jsonl(tmp_path / "in.jsonl", records), texts, source


def test_dedup_minhash_contract(tmp_path):
    path, texts, source = _corpus_file(tmp_path)
    out, ledger_path = tmp_path / "out.jsonl", tmp_path / "ledger.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "reactor", "data", "dedup", str(path), "-o", str(out), "--method", "minhash",
         "--threshold", "0.8", "--ledger", str(ledger_path), "--no-progress"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    in_lines = path.read_text().splitlines()
    out_lines = out.read_text().splitlines()
    # Output records are input lines unchanged, in input order.
    assert out_lines == [line for line in in_lines if line in set(out_lines)]
    kept = [json.loads(line) for line in out_lines]
    kept_ids = [r["id"] for r in kept]
    ledger = read_jsonl(ledger_path)
    by_id = {f"doc-{i}": t for i, t in enumerate(texts)}
    # One ledger line per removed document; every input is either kept or in the ledger.
    assert sorted(kept_ids + [e["id"] for e in ledger]) == sorted(by_id)
    # One document per original: the first copy (in input order) of each.
    first_of = {}
    for i, s in enumerate(source):
        first_of.setdefault(s, f"doc-{i}")
    assert kept_ids == sorted(first_of.values(), key=lambda k: int(k[4:]))
    for entry in ledger:
        assert entry["duplicate_of"] in kept_ids
        assert source[int(entry["id"][4:])] == source[int(entry["duplicate_of"][4:])]
        # Independently measured: a direct near-duplicate, or a chain through another copy; the
        # ledger's score is the exact Jaccard with the kept copy.
        measured = jaccard(by_id[entry["id"]], by_id[entry["duplicate_of"]])
        assert measured >= 0.75 and entry["score"] == pytest.approx(measured, abs=1e-9)


def test_dedup_without_id_field_uses_line_numbers(tmp_path):
    path, texts, _ = _corpus_file(tmp_path, with_ids=False)
    result = runner.invoke(
        app,
        ["data", "dedup", str(path), "-o", str(tmp_path / "o.jsonl"), "--ledger", str(tmp_path / "l.jsonl")],
    )
    assert result.exit_code == 0, result.output
    kept_lines = [r["extra"]["n"] + 1 for r in read_jsonl(tmp_path / "o.jsonl")]
    ledger = read_jsonl(tmp_path / "l.jsonl")
    assert sorted(kept_lines + [e["id"] for e in ledger]) == list(range(1, len(texts) + 1))
    assert all(e["duplicate_of"] in kept_lines for e in ledger)
    for e in ledger:
        assert jaccard(texts[e["id"] - 1], texts[e["duplicate_of"] - 1]) >= 0.75


def test_dedup_exact_matches_a_dict_over_normalised_text(tmp_path):
    path, texts, _ = _corpus_file(tmp_path)
    result = runner.invoke(
        app,
        ["data", "dedup", str(path), "-o", str(tmp_path / "o.jsonl"), "--method", "exact",
         "--ledger", str(tmp_path / "l.jsonl"), "--report", str(tmp_path / "r.json")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    first = {}
    for i, t in enumerate(texts):
        first.setdefault(normalised(t), i)
    assert [r["id"] for r in read_jsonl(tmp_path / "o.jsonl")] == [f"doc-{i}" for i in sorted(first.values())]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["removed"] == len(texts) - len(first) == len(read_jsonl(tmp_path / "l.jsonl"))
    assert (tmp_path / "r.md").exists()


def test_dedup_simhash_and_keep_longest(tmp_path):
    path, texts, source = _corpus_file(tmp_path)
    out = tmp_path / "o.jsonl"
    result = runner.invoke(
        app, ["data", "dedup", str(path), "-o", str(out), "--method", "simhash", "--max-distance", "16"]
    )
    assert result.exit_code == 0, result.output
    kept = read_jsonl(out)  # copies of one original are within 15 bits here, other pairs 18 or more apart
    assert sorted(r["source"] for r in kept) == sorted(set(source))
    result = runner.invoke(
        app, ["data", "dedup", str(path), "-o", str(out), "--method", "exact", "--keep", "longest"]
    )
    assert result.exit_code == 0, result.output
    best: dict[str, int] = {}
    for i, t in enumerate(texts):
        key = normalised(t)
        if key not in best or len(t) > len(texts[best[key]]):
            best[key] = i
    assert sorted(r["extra"]["n"] for r in read_jsonl(out)) == sorted(best.values())


@pytest.mark.parametrize("threshold", ["0", "1.5", "-1", "nan"])
def test_bad_threshold_is_a_one_line_error_and_writes_nothing(tmp_path, threshold):
    path, _, _ = _corpus_file(tmp_path)
    result = runner.invoke(
        app, ["data", "dedup", str(path), "-o", str(tmp_path / "o.jsonl"), "--threshold", threshold,
              "--ledger", str(tmp_path / "l.jsonl")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--threshold" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_missing_text_field_is_a_one_line_error_or_a_ledger_entry(tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": "a b c d e"}, {"id": 2, "body": "x"}])
    out = tmp_path / "o.jsonl"
    result = runner.invoke(app, ["data", "dedup", str(path), "-o", str(out)])
    assert result.exit_code == 1
    assert "'text' is missing" in result.stderr and "id 2" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
    result = runner.invoke(
        app,
        [
            "data",
            "dedup",
            str(path),
            "-o",
            str(out),
            "--skip-missing-text",
            "--ledger",
            str(tmp_path / "l.jsonl"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert [(e["id"], e["rule"]) for e in read_jsonl(tmp_path / "l.jsonl")] == [(2, "missing_text")]
    result = runner.invoke(app, ["data", "dedup", str(tmp_path / "nope.jsonl"), "-o", str(out)])
    assert result.exit_code == 1 and "does not exist" in result.stderr


def test_ctrl_c_leaves_no_partial_output(tmp_path, monkeypatch):
    from reactor.data import stages

    path, _, _ = _corpus_file(tmp_path)
    calls = []
    original = stages.MinHashDedupStage.decide

    def interrupted(self, batch, features):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, batch, features)

    monkeypatch.setattr(stages.MinHashDedupStage, "decide", interrupted)
    result = runner.invoke(
        app,
        ["data", "dedup", str(path), "-o", str(tmp_path / "o.jsonl"), "--ledger", str(tmp_path / "l.jsonl"),
         "--streaming", "--batch-size", "10"],
    )  # fmt: skip
    assert result.exit_code == 130 and "interrupted" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


PROSE = (
    "The river town of Allerby grew slowly over the course of two centuries. Farmers brought grain to the "
    "mill that stood beside the old stone bridge, and merchants from the coast traded salt, cloth and iron "
    "for wool. When the railway arrived in the spring of that year, the quiet market square filled with new "
    "shops, a small school and a library that the mayor had promised for a long time."
)


def test_quality_command_uses_the_engine_signals_and_gopher_rules(tmp_path):
    records = [
        {"id": 0, "text": PROSE},
        {"id": 1, "text": "short one"},
        {"id": 2, "text": PROSE + " " + "$$$ ... " * 20},
        {"id": 3, "text": "\n".join(["- buy now - limited offer - free shipping"] * 12)},
    ]
    path = write_jsonl(tmp_path / "in.jsonl", records)
    out, ledger_path = str(tmp_path / "o.jsonl"), str(tmp_path / "l.jsonl")
    result = runner.invoke(app, ["data", "quality", str(path), "-o", out, "--ledger", ledger_path])
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in read_jsonl(tmp_path / "o.jsonl")] == [0]
    ledger = read_jsonl(ledger_path)
    assert [(e["id"], e["rule"], e["threshold"]) for e in ledger] == [
        (1, "word_count", 50.0),
        (2, "ellipsis_to_word_ratio", 0.1),  # 20 "..." over 83 + 40 words
        (3, "bullet_line_fraction", 0.9),  # every line starts with '-'
    ]
    assert ledger[1]["score"] == pytest.approx(20 / (len(PROSE.split()) + 40))
    # Per-rule bounds, here over no preset: the ellipses are allowed, two words are not enough.
    result = runner.invoke(
        app, ["data", "quality", str(path), "-o", out, "--preset", "none", "--min-words", "3",
              "--rule", "ellipsis_to_word_ratio<=0.2", "--ledger", ledger_path],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in read_jsonl(out)] == [0, 2, 3]
    assert [(e["id"], e["rule"], e["score"], e["threshold"]) for e in read_jsonl(ledger_path)] == [
        (1, "word_count", 2.0, 3.0)
    ]
    # Over the Gopher preset, a rule can be switched off: the ellipses no longer count.
    result = runner.invoke(
        app, ["data", "quality", str(path), "-o", out, "--rule", "ellipsis_to_word_ratio=off",
              "--ledger", ledger_path],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert read_jsonl(ledger_path)[1]["rule"] == "ellipsis_line_fraction"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("nonsense", "--rule must look like"),
        ("word_count>=abc", "is not a number"),
        ("symbol_ratio<=0.1", "unknown signal 'symbol_ratio'"),
        ("word_count>=-3", "is negative"),
    ],
)
def test_quality_command_rule_errors_are_one_line_and_write_nothing(tmp_path, rule, message):
    path = write_jsonl(tmp_path / "in.jsonl", [{"text": PROSE}])
    result = runner.invoke(
        app, ["data", "quality", str(path), "-o", str(tmp_path / "o.jsonl"), "--rule", rule,
              "--ledger", str(tmp_path / "l.jsonl")],
    )  # fmt: skip
    assert result.exit_code in (1, 2) and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_dedup_substring_cuts_the_later_copy_and_logs_byte_ranges(tmp_path):
    rng = random.Random(3)
    vocab = vocabulary(seed=3)
    words = [[rng.choice(vocab) for _ in range(n)] for n in (100, 30, 90, 20)]
    span = words[0][10:70]  # 60 words
    texts = [" ".join(words[0]), " ".join(words[1] + span + words[3]), " ".join(words[2]), " ".join(span)]
    path = write_jsonl(
        tmp_path / "in.jsonl", [{"id": f"d{i}", "text": t, "k": i} for i, t in enumerate(texts)]
    )
    out, ledger = tmp_path / "o.jsonl", tmp_path / "l.jsonl"
    result = runner.invoke(
        app, ["data", "dedup", str(path), "-o", str(out), "--method", "substring", "--min-tokens", "50",
              "--ledger", str(ledger)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    kept = read_jsonl(out)
    assert [r["id"] for r in kept] == ["d0", "d1", "d2"]  # d3 is nothing but the span
    assert kept[1] == {"id": "d1", "text": " ".join(words[1]) + "  " + " ".join(words[3]), "k": 1}
    assert kept[0]["text"] == texts[0] and kept[2]["text"] == texts[2]
    entries = {e["id"]: e for e in read_jsonl(ledger)}
    begin = len(" ".join(words[1])) + 1
    assert entries["d1"]["action"] == "changed" and entries["d1"]["rule"] == "duplicate_span"
    assert f"[[{begin}, {begin + len(' '.join(span))}]]" in entries["d1"]["detail"]
    assert entries["d3"]["action"] == "removed" and entries["d3"]["rule"] == "remainder_too_short"
    result = runner.invoke(
        app,
        ["data", "dedup", str(path), "-o", str(tmp_path / "x.jsonl"), "--method", "substring", "--streaming"],
    )
    assert result.exit_code == 2 and "whole corpus" in result.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_decontaminate_command_both_modes(tmp_path):
    rng = random.Random(8)
    vocab = vocabulary(seed=8)
    question = " ".join(rng.choice(vocab) for _ in range(30))
    other = " ".join(rng.choice(vocab) for _ in range(30))
    page = lambda n: " ".join(rng.choice(vocab) for _ in range(n))  # noqa: E731
    records = [
        {"id": "clean", "text": page(120)},
        {"id": "pasted", "text": page(60) + " " + question + " " + page(200)},
        {"id": "half", "text": page(40) + " " + " ".join(question.split()[:15]) + " " + page(40)},
    ]
    path = write_jsonl(tmp_path / "in.jsonl", records)
    e1 = write_jsonl(tmp_path / "mmlu.jsonl", [{"id": "m1", "text": other}])
    e2 = write_jsonl(tmp_path / "gsm.jsonl", [{"id": "g7", "text": question}])
    for mode, removed in (("ngram", ["pasted", "half"]), ("coverage", ["pasted"])):
        out, ledger = tmp_path / f"{mode}.jsonl", tmp_path / f"{mode}-l.jsonl"
        result = runner.invoke(
            app, ["data", "decontaminate", str(path), "-o", str(out), "--eval", str(e1), "--eval", str(e2),
                  "--mode", mode, "--ledger", str(ledger)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert [r["id"] for r in read_jsonl(out)] == [r["id"] for r in records if r["id"] not in removed]
        entries = read_jsonl(ledger)
        assert [e["id"] for e in entries] == removed
        assert all(e["duplicate_of"] == ["gsm.jsonl:g7"] and e["stage"] == "decontaminate" for e in entries)
    assert entries[0]["rule"] == "token_coverage" and entries[0]["score"] == 1.0


@pytest.mark.parametrize(
    ("extra", "message", "code"),
    [
        (["--eval", "missing.jsonl"], "eval file 'missing.jsonl' does not exist", 1),
        (["--eval", "eval.jsonl", "--threshold", "1.5"], "--threshold must be in (0, 1]", 2),
        (["--eval", "bad.jsonl"], "'text' is missing in bad.jsonl record 1", 1),
    ],
)
def test_decontaminate_errors_are_one_line_and_write_nothing(tmp_path, monkeypatch, extra, message, code):
    monkeypatch.chdir(tmp_path)
    path = write_jsonl(tmp_path / "in.jsonl", [{"text": "a b c d e"}])
    write_jsonl(tmp_path / "eval.jsonl", [{"text": "a b c"}])
    write_jsonl(tmp_path / "bad.jsonl", [{"question": "a b c"}])
    result = runner.invoke(
        app, ["data", "decontaminate", str(path), "-o", "o.jsonl", "--ledger", "l.jsonl", *extra]
    )
    assert result.exit_code == code and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "eval.jsonl", "in.jsonl"]


def test_pipeline_command_with_toml_and_overrides(tmp_path):
    path, _, source = _corpus_file(tmp_path)
    (tmp_path / "p.toml").write_text(
        f'progress = false\n[input]\npath = "{path.name}"\n[output]\npath = "clean.parquet"\n'
        'ledger = "ledger.jsonl"\nreport = "report.json"\n[near]\nthreshold = 0.5\n'
    )
    result = runner.invoke(app, ["data", "pipeline", str(tmp_path / "p.toml"), "--set", "near.threshold=0.6",
                                 "--set", "mode=global"])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["config"]["near"]["threshold"] == 0.6 and report["passes"] == 3
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(tmp_path / "clean.parquet")
    assert sorted(set(table.column("source").to_pylist())) == sorted(set(source))
    assert table.num_rows == len(set(source))
    result = runner.invoke(app, ["data", "pipeline", str(tmp_path / "p.toml"), "--set", "near.threshold=2"])
    assert result.exit_code == 1 and "near.threshold" in result.stderr
    assert np.isfinite(report["seconds"])
