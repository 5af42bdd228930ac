from __future__ import annotations

import json

import pytest

from reactor.data.ledger import Ledger, LedgerEntry, RunReport, read_ledger


def _entries():
    return [
        LedgerEntry("a", "quality", "word_count", 0, score=3.0, threshold=50.0, detail="word_count=3"),
        LedgerEntry(7, "near_dedup", "minhash_jaccard", 7, threshold=0.8, cluster_id=2, duplicate_of="x"),
        LedgerEntry("b", "normalise", "normalise", 9, action="changed"),
        LedgerEntry(8, "near_dedup", "minhash_jaccard", 11, threshold=0.8, cluster_id=2, duplicate_of="x"),
    ]


def test_entries_serialise_with_every_documented_field():
    record = _entries()[1].to_dict()
    assert record == {
        "id": 7,
        "stage": "near_dedup",
        "action": "removed",
        "rule": "minhash_jaccard",
        "score": None,
        "threshold": 0.8,
        "cluster_id": 2,
        "duplicate_of": "x",
        "position": 7,
        "detail": None,
    }
    json.dumps(record)


def test_ledger_file_appears_only_on_commit_and_counts_per_stage(tmp_path):
    path = tmp_path / "ledger.jsonl"
    ledger = Ledger(path)
    ledger.add(_entries()[:2])
    ledger.add(_entries()[2:])
    assert not path.exists()
    ledger.commit()
    lines = list(read_ledger(path))
    assert [(e["id"], e["stage"], e["action"]) for e in lines] == [
        ("a", "quality", "removed"),
        (7, "near_dedup", "removed"),
        ("b", "normalise", "changed"),
        (8, "near_dedup", "removed"),
    ]
    report = ledger.report
    assert report.stages["near_dedup"].removed == 2 and report.stages["near_dedup"].rules == {
        "minhash_jaccard": 2
    }
    assert report.stages["normalise"].changed == 1 and report.stages["normalise"].removed == 0
    assert report.removed == 3


def test_aborted_ledger_leaves_nothing(tmp_path):
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.add(_entries())
    ledger.abort()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["report.json", "report.md"])
def test_report_writes_json_and_markdown_with_the_same_numbers(tmp_path, name):
    report = RunReport(input_records=10, output_documents=6, seconds=1.5)
    for entry in _entries():
        report.count(entry)
    report.stage("quality").seen = 10
    report.stage("quality").seconds = 0.25
    json_path, md_path = report.write(tmp_path / name)
    assert {json_path.name, md_path.name} == {"report.json", "report.md"}
    data = json.loads(json_path.read_text())
    assert data["removed"] == 3 and data["input_records"] == 10 and data["output_documents"] == 6
    stages = {s["name"]: s for s in data["stages"]}
    assert stages["quality"]["seen"] == 10 and stages["quality"]["seconds"] == 0.25
    assert stages["near_dedup"]["rules"] == {"minhash_jaccard": 2}
    markdown = md_path.read_text()
    assert "| quality | 10 | 1 | 0 | 0.250 | word_count: 1 |" in markdown
    assert "10 input records -> 6 documents written (3 removed)" in markdown
