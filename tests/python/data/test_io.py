from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from reactor.data.io import (
    Document,
    JsonlWriter,
    ParquetWriter,
    Rejected,
    detect_format,
    open_source,
    open_writer,
    read_documents,
)
from reactor.errors import InvalidArgumentError


def _messy_jsonl(path: Path) -> Path:
    lines = [
        b'{"id": "a", "text": "first doc", "lang": "en"}\n',
        b"\n",  # blank: no record, but line numbers still count it
        b'{"text": "no id here"}\n',
        b'{"id": "b", "text": broken json}\n',
        b'{"id": "c", "text": "bad \xff\xfe bytes"}\n',
        b'{"id": "d", "text": "lone \\ud800 surrogate"}\n',
        b"[1, 2, 3]\n",
        '{"id": "e", "text": "caf\u00e9 \u00fcber"}'.encode(),  # last line without a newline
    ]
    path.write_bytes(b"".join(lines))
    return path


def test_jsonl_reader_logs_every_bad_line_with_its_line_number(tmp_path):
    items = list(read_documents(_messy_jsonl(tmp_path / "in.jsonl")))
    assert [type(i).__name__ for i in items] == ["Document", "Document"] + ["Rejected"] * 4 + ["Document"]
    docs = [i for i in items if isinstance(i, Document)]
    assert [d.id for d in docs] == ["a", 3, "e"]  # no id field -> 1-based line number (blank line counted)
    assert [d.text for d in docs] == ["first doc", "no id here", "café über"]
    assert docs[0].record == {"id": "a", "text": "first doc", "lang": "en"}
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [r.id for r in rejected] == [4, 5, "d", 7]  # parsed records keep their own id
    assert {r.rule for r in rejected} == {"unreadable"}
    assert "invalid JSON" in rejected[0].detail
    assert "UTF-8" in rejected[1].detail
    assert "Unicode" in rejected[2].detail
    assert "not a JSON object" in rejected[3].detail
    positions = [i.position for i in items]
    assert positions == list(range(7))  # every record (not the blank line) has a position


def test_missing_text_field_is_an_error_naming_field_and_record_or_a_ledger_item(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1, "text": "ok"}\n{"id": 2, "body": "no text"}\n{"id": 3, "text": 7}\n')
    with pytest.raises(InvalidArgumentError, match=r"'text' is missing .*record 2 \(id 2\)"):
        list(read_documents(path))
    with pytest.raises(InvalidArgumentError, match="'body' is missing"):
        list(read_documents(path, text_field="body", on_missing="error"))
    items = list(read_documents(path, on_missing="ledger"))
    assert [type(i).__name__ for i in items] == ["Document", "Rejected", "Rejected"]
    assert items[1].rule == "missing_text" and items[1].id == 2
    assert "int" in items[2].detail
    with pytest.raises(InvalidArgumentError, match="on_missing"):
        list(read_documents(path, on_missing="skip"))


def test_gzip_jsonl_and_custom_fields(tmp_path):
    path = tmp_path / "in.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for i in range(5):
            handle.write(json.dumps({"key": f"k{i}", "body": f"text {i}"}) + "\n")
    docs = list(read_documents(path, text_field="body", id_field="key"))
    assert [d.id for d in docs] == [f"k{i}" for i in range(5)]
    assert [d.text for d in docs] == [f"text {i}" for i in range(5)]


def test_parquet_reads_in_batches_and_round_trips(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"text": [f"doc number {i}" for i in range(25)], "score": [float(i) for i in range(25)]})
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=4)
    source = open_source(tmp_path / "in.parquet", batch_size=7)
    docs = list(source.documents())
    assert source.total == 25 and source.progress == 25
    assert [d.id for d in docs] == list(range(25))  # no id column -> 0-based row index
    assert [d.record["score"] for d in docs] == [float(i) for i in range(25)]
    with ParquetWriter(tmp_path / "out.parquet", schema=source.schema) as writer:
        writer.write(docs[::2])
    back = pq.read_table(tmp_path / "out.parquet")
    assert back.schema == table.schema
    assert back.column("text").to_pylist() == [f"doc number {i}" for i in range(0, 25, 2)]


def test_hugging_face_datasets_objects_and_saved_directories(tmp_path):
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict({"text": ["a b c", "d e f", "g h i"], "id": ["x", "y", "z"]})
    docs = list(read_documents(ds, batch_size=2))
    assert [(d.id, d.text) for d in docs] == [("x", "a b c"), ("y", "d e f"), ("z", "g h i")]
    ds.save_to_disk(str(tmp_path / "saved"))
    assert detect_format(tmp_path / "saved") == "hf"
    assert [d.text for d in read_documents(tmp_path / "saved")] == ["a b c", "d e f", "g h i"]
    with pytest.raises(InvalidArgumentError, match="splits"):
        open_source(datasets.DatasetDict({"train": ds}))


def test_python_iterables_of_strings_and_dicts():
    assert [(d.id, d.text, d.record) for d in read_documents(["x", "y"])] == [(0, "x", None), (1, "y", None)]
    docs = list(read_documents([{"text": "a", "id": 9}, {"text": "b"}]))
    assert [d.id for d in docs] == [9, 1]
    source = open_source(iter(["once"]))
    assert len(list(source.documents())) == 1
    with pytest.raises(InvalidArgumentError, match="twice"):
        list(source.documents())
    again = open_source(lambda: iter(["p", "q"]))
    assert [d.text for d in again.documents()] == [d.text for d in again.documents()] == ["p", "q"]
    with pytest.raises(InvalidArgumentError, match="cannot read"):
        open_source(42)
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        open_source("/nonexistent/file.jsonl")
    with pytest.raises(InvalidArgumentError, match="suffix"):
        detect_format("data.csv")


def test_jsonl_writer_keeps_unchanged_lines_byte_for_byte(tmp_path):
    raw = b'{"text":   "spaced  out",  "id":1, "z": [1, 2]}\n'
    path = tmp_path / "in.jsonl"
    path.write_bytes(raw + b'{"text": "will change", "id": 2}\n')
    docs = list(read_documents(path))
    docs[1].text, docs[1].changed = "changed", True
    plain = Document(position=2, id=2, text="plain string")
    with open_writer(tmp_path / "out.jsonl") as writer:
        writer.write([*docs, plain])
    out = (tmp_path / "out.jsonl").read_bytes().splitlines(keepends=True)
    assert out[0] == raw
    assert json.loads(out[1]) == {"text": "changed", "id": 2}
    assert json.loads(out[2]) == {"text": "plain string"}
    with JsonlWriter(tmp_path / "out.jsonl.gz") as writer:
        writer.write(docs)
    with gzip.open(tmp_path / "out.jsonl.gz", "rb") as handle:
        assert handle.readline() == raw


def test_interrupted_writer_leaves_no_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("previous\n")
    docs = [Document(i, i, f"doc {i}") for i in range(3)]
    with pytest.raises(KeyboardInterrupt), JsonlWriter(target) as writer:
        writer.write(docs)
        raise KeyboardInterrupt
    assert target.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
    with pytest.raises(RuntimeError), open_writer(tmp_path / "new.parquet") as writer:
        writer.write(docs)
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
