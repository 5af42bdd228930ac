from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from data_corpus import jaccard, near_corpus, normalised, read_jsonl, write_jsonl
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
        # Independently measured: a direct near-duplicate, or a chain through another copy.
        assert jaccard(by_id[entry["id"]], by_id[entry["duplicate_of"]]) >= 0.75


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


def test_quality_command(tmp_path):
    good = "a perfectly ordinary sentence with words " * 10
    records = [
        {"id": 0, "text": good},
        {"id": 1, "text": "short one"},
        {"id": 2, "text": good + " $$$$ " * 40},
    ]
    path = write_jsonl(tmp_path / "in.jsonl", records)
    result = runner.invoke(
        app, ["data", "quality", str(path), "-o", str(tmp_path / "o.jsonl"), "--min-words", "20",
              "--ledger", str(tmp_path / "l.jsonl")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in read_jsonl(tmp_path / "o.jsonl")] == [0]
    assert [(e["id"], e["rule"]) for e in read_jsonl(tmp_path / "l.jsonl")] == [
        (1, "word_count"),
        (2, "symbol_ratio"),
    ]


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
