"""Reading and writing corpora: JSON Lines (optionally gzipped), Parquet, Hugging Face ``datasets``
and Python iterables in; JSON Lines and Parquet out.

Readers stream: they yield one :class:`Document` per readable record and one :class:`Rejected` per
record that cannot be used (invalid JSON, invalid UTF-8, a missing text field when asked to keep
going), so the pipeline can log every input record in its ledger and drop none silently.

Document ids: the record's ``id_field`` when present, else the JSONL *line number* (1-based, as
``grep -n`` shows it) or, for Parquet, datasets and iterables, the 0-based *row index*.

Writers write to a hidden temporary file beside the target and rename it into place on
:meth:`AtomicWriter.commit`; an exception (or Ctrl-C) inside their ``with`` block deletes the
temporary file, so an interrupted run never leaves a half-written output.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

from reactor.atomic import fsync_directory
from reactor.errors import InvalidArgumentError

__all__ = [
    "AtomicWriter",
    "Document",
    "InputFormat",
    "JsonlWriter",
    "MissingText",
    "ParquetWriter",
    "Rejected",
    "Source",
    "detect_format",
    "open_source",
    "open_writer",
    "read_documents",
]

InputFormat = Literal["auto", "jsonl", "parquet", "hf"]
MissingText = Literal["error", "ledger"]


@dataclass(slots=True)
class Document:
    """One input record: ``text`` is what the stages see; ``record`` and ``raw`` are what gets written."""

    position: int  #: 0-based index among all input records (readable or not)
    id: Any  #: the ``id_field`` value, else the line number (JSONL) or row index
    text: str
    record: dict[str, Any] | None = None  #: the full input record (None for plain strings)
    raw: bytes | None = None  #: the JSONL line as read, written back byte for byte when unchanged
    changed: bool = False  #: a stage replaced ``text``


@dataclass(slots=True)
class Rejected:
    """An input record that cannot become a document; becomes a ledger entry of stage ``read``."""

    position: int
    id: Any
    rule: str  #: ``unreadable`` (bad bytes or JSON) or ``missing_text``
    detail: str


Item = Document | Rejected


def _bad(op: str, message: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"[data.io.{op}] {message}")


@dataclass
class _RecordParser:
    """Turns one record (dict or str) into a Document or a Rejected."""

    text_field: str
    id_field: str | None
    on_missing: MissingText
    source: str

    def __post_init__(self) -> None:
        if self.on_missing not in ("error", "ledger"):
            raise _bad("read", f"on_missing must be 'error' or 'ledger', got {self.on_missing!r}")
        if not self.text_field:
            raise _bad("read", "text_field must be a non-empty field name")

    def parse(self, value: object, position: int, fallback_id: int, raw: bytes | None = None) -> Item:
        if isinstance(value, str):
            return self._checked(Document(position, fallback_id, value), fallback_id)
        if not isinstance(value, Mapping):
            return Rejected(
                position, fallback_id, "unreadable", f"not a JSON object ({type(value).__name__})"
            )
        record = dict(value)
        doc_id = record.get(self.id_field) if self.id_field else None
        doc_id = fallback_id if doc_id is None else doc_id
        text = record.get(self.text_field)
        if not isinstance(text, str):
            problem = (
                "is missing" if self.text_field not in record else f"is {type(text).__name__}, not a string"
            )
            where = f"{self.source} record {fallback_id} (id {doc_id!r})"
            if self.on_missing == "error":
                raise _bad("read", f"text field {self.text_field!r} {problem} in {where}")
            return Rejected(position, doc_id, "missing_text", f"text field {self.text_field!r} {problem}")
        return self._checked(Document(position, doc_id, text, record, raw), doc_id)

    @staticmethod
    def _checked(doc: Document, doc_id: object) -> Item:
        # JSON escapes can produce lone surrogates, which no UTF-8 consumer (the engine included) accepts.
        if not doc.text.isascii():
            try:
                doc.text.encode("utf-8")
            except UnicodeEncodeError as error:
                return Rejected(
                    doc.position, doc_id, "unreadable", f"text is not valid Unicode ({error.reason})"
                )
        return doc


class Source(ABC):
    """A stream of input records; iterate :meth:`documents` (again for a second pass)."""

    #: Total units for a progress bar (bytes for JSONL files, records otherwise), or None if unknown.
    total: int | None = None
    unit: str = "docs"

    def __init__(self) -> None:
        self.progress = 0  #: units consumed so far (same unit as ``total``)

    @abstractmethod
    def documents(self) -> Iterator[Item]:
        """Yield a Document or Rejected per input record, in input order."""

    @property
    def schema(self) -> object | None:
        """The input's Arrow schema when it has one (Parquet, datasets), for a Parquet writer."""
        return None


class _JsonlSource(Source):
    unit = "bytes"

    def __init__(self, path: Path, parser: _RecordParser) -> None:
        super().__init__()
        self.path, self.parser = path, parser
        self.total = None if path.suffix == ".gz" else path.stat().st_size

    def _open(self) -> IO[bytes]:
        return gzip.open(self.path, "rb") if self.path.suffix == ".gz" else open(self.path, "rb")

    def documents(self) -> Iterator[Item]:
        self.progress = 0
        position = 0
        with self._open() as handle:
            for line_number, raw in enumerate(handle, start=1):
                self.progress += len(raw)
                if not raw.strip():
                    continue  # a blank line holds no record
                try:
                    value = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError as error:
                    yield Rejected(
                        position, line_number, "unreadable", f"invalid UTF-8 at byte {error.start}"
                    )
                except json.JSONDecodeError as error:
                    yield Rejected(position, line_number, "unreadable", f"invalid JSON: {error.msg}")
                else:
                    line = raw if raw.endswith(b"\n") else raw + b"\n"
                    yield self.parser.parse(value, position, line_number, line)
                position += 1


class _ParquetSource(Source):
    def __init__(self, path: Path, parser: _RecordParser, batch_size: int) -> None:
        super().__init__()
        import pyarrow.parquet as pq

        self.path, self.parser, self.batch_size = path, parser, batch_size
        try:
            self._file = pq.ParquetFile(path)
        except Exception as error:  # pyarrow raises ArrowInvalid / OSError for damaged files
            raise _bad("read", f"{str(path)!r} is not a readable Parquet file: {error}") from error
        self.total = self._file.metadata.num_rows

    @property
    def schema(self) -> object | None:
        return self._file.schema_arrow

    def documents(self) -> Iterator[Item]:
        self.progress = 0
        position = 0
        for batch in self._file.iter_batches(batch_size=self.batch_size):
            for row in batch.to_pylist():
                yield self.parser.parse(row, position, position)
                position += 1
                self.progress += 1


class _HfSource(Source):
    def __init__(self, dataset: Any, parser: _RecordParser, batch_size: int) -> None:
        super().__init__()
        self.dataset, self.parser, self.batch_size = dataset, parser, batch_size
        self.total = len(dataset)

    @property
    def schema(self) -> object | None:
        return getattr(getattr(self.dataset, "data", None), "schema", None)

    def documents(self) -> Iterator[Item]:
        self.progress = 0
        position = 0
        for columns in self.dataset.iter(batch_size=self.batch_size):
            names = list(columns)
            for values in zip(*(columns[name] for name in names), strict=True):
                yield self.parser.parse(dict(zip(names, values, strict=True)), position, position)
                position += 1
                self.progress += 1


class _IterableSource(Source):
    def __init__(
        self, items: Iterable[object] | Callable[[], Iterable[object]], parser: _RecordParser
    ) -> None:
        super().__init__()
        self.items, self.parser = items, parser
        self.total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]
        self._used = False

    def documents(self) -> Iterator[Item]:
        self.progress = 0
        items = self.items() if callable(self.items) else self.items
        if not callable(self.items) and isinstance(items, Iterator):
            if self._used:
                raise _bad("read", "a one-shot iterator cannot be read twice; pass a list or a callable")
            self._used = True
        for position, value in enumerate(items):
            yield self.parser.parse(value, position, position)
            self.progress += 1


def detect_format(path: str | os.PathLike[str]) -> Literal["jsonl", "parquet", "hf"]:
    """``jsonl`` for ``.jsonl``/``.json``/``.jsonl.gz``/``.json.gz``, ``parquet`` for ``.parquet``,
    ``hf`` for a directory saved by ``datasets.Dataset.save_to_disk``.
    """
    file = Path(path)
    name = file.name.lower()
    if file.is_dir():
        return "hf"
    if name.endswith((".jsonl", ".json", ".jsonl.gz", ".json.gz", ".ndjson")):
        return "jsonl"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise _bad("format", f"cannot tell the format of {str(file)!r} from its suffix (use .jsonl or .parquet)")


def open_source(
    source: str | os.PathLike[str] | Iterable[object] | Any,
    *,
    text_field: str = "text",
    id_field: str | None = "id",
    on_missing: MissingText = "error",
    format: InputFormat = "auto",
    batch_size: int = 10_000,
) -> Source:
    """A :class:`Source` over a path (JSONL, Parquet, a saved ``datasets`` directory), a
    ``datasets.Dataset``, or an iterable of dicts or strings (a callable returning one can be read twice).

    ``on_missing="error"`` raises :class:`InvalidArgumentError` naming the field and the record when a
    record has no string ``text_field``; ``"ledger"`` yields a :class:`Rejected` instead.
    """
    if format not in ("auto", "jsonl", "parquet", "hf"):
        raise _bad("read", f"format must be auto, jsonl, parquet or hf, got {format!r}")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise _bad("read", f"input {str(path)!r} does not exist")
        kind = detect_format(path) if format == "auto" else format
        parser = _RecordParser(text_field, id_field, on_missing, str(path))
        if kind == "jsonl":
            return _JsonlSource(path, parser)
        if kind == "parquet":
            return _ParquetSource(path, parser, batch_size)
        from datasets import load_from_disk

        return _HfSource(_single_split(load_from_disk(str(path)), path), parser, batch_size)
    if type(source).__module__.startswith("datasets"):
        parser = _RecordParser(text_field, id_field, on_missing, type(source).__name__)
        return _HfSource(_single_split(source, None), parser, batch_size)
    if isinstance(source, (bytes, Mapping)) or not (isinstance(source, Iterable) or callable(source)):
        raise _bad("read", f"cannot read documents from a {type(source).__name__}")
    return _IterableSource(source, _RecordParser(text_field, id_field, on_missing, "input"))


def _single_split(dataset: Any, path: Path | None) -> Any:
    if hasattr(dataset, "iter") and hasattr(dataset, "__len__") and not hasattr(dataset, "keys"):
        return dataset
    where = f" in {str(path)!r}" if path else ""
    splits = list(dataset.keys()) if hasattr(dataset, "keys") else []
    raise _bad("read", f"expected one dataset split{where}, got a DatasetDict with splits {splits}; pick one")


def read_documents(source: str | os.PathLike[str] | Iterable[object] | Any, **options: Any) -> Iterator[Item]:
    """Stream the :class:`Document` / :class:`Rejected` items of ``source`` (see :func:`open_source`)."""
    yield from open_source(source, **options).documents()


class AtomicWriter(ABC):
    """Writes to ``.<name>.tmp-<pid>`` beside ``path``; :meth:`commit` fsyncs and renames it into place,
    :meth:`abort` (or leaving the ``with`` block by an exception) deletes it.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self.count = 0
        self._done = False

    @abstractmethod
    def write(self, docs: Iterable[Document]) -> None:
        """Append documents in order."""

    @abstractmethod
    def _close(self) -> None:
        """Flush and close the temporary file."""

    def commit(self) -> None:
        """Make the output visible under its final name (atomically, durably)."""
        if self._done:
            return
        self._close()
        with open(self.tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(self.tmp, self.path)
        fsync_directory(self.path.parent)
        self._done = True

    def abort(self) -> None:
        """Drop everything written; the target path is left as it was."""
        if self._done:
            return
        self._done = True
        try:
            self._close()
        finally:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()


class JsonlWriter(AtomicWriter):
    """JSON Lines (gzipped when the name ends in ``.gz``). Unchanged JSONL input lines are written
    byte for byte; other documents as ``json.dumps(record)`` with the (possibly changed) text.
    """

    def __init__(self, path: str | os.PathLike[str], *, text_field: str = "text") -> None:
        super().__init__(path)
        self.text_field = text_field
        raw: IO[bytes] = open(self.tmp, "wb")  # noqa: SIM115 - closed in _close
        self._handle: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="wb") if self.path.suffix == ".gz" else raw
        self._raw = raw

    def write(self, docs: Iterable[Document]) -> None:
        """Append documents in order."""
        buffer = io.BytesIO()
        for doc in docs:
            if doc.raw is not None and not doc.changed:
                buffer.write(doc.raw)
            else:
                record = _record_of(doc, self.text_field)  # default=str: Parquet dates, decimals...
                buffer.write(json.dumps(record, ensure_ascii=False, default=str).encode("utf-8") + b"\n")
            self.count += 1
        self._handle.write(buffer.getvalue())

    def _close(self) -> None:
        if not self._raw.closed:
            self._handle.close()
            self._raw.close()


class ParquetWriter(AtomicWriter):
    """Parquet through pyarrow, one row group per :meth:`write` call; the schema is ``schema`` (the
    input's, when it was Parquet) or inferred from the first batch.
    """

    def __init__(self, path: str | os.PathLike[str], *, text_field: str = "text", schema: Any = None) -> None:
        super().__init__(path)
        self.text_field = text_field
        self.schema = schema
        self._writer: Any = None

    def write(self, docs: Iterable[Document]) -> None:
        """Append documents in order."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = [_record_of(doc, self.text_field) for doc in docs]
        if not rows:
            return
        table = pa.Table.from_pylist(rows, schema=self.schema)
        if self._writer is None:
            self.schema = table.schema
            self._writer = pq.ParquetWriter(self.tmp, self.schema)
        self._writer.write_table(table)
        self.count += len(rows)

    def _close(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:  # nothing written: still a valid (empty) file
            schema = self.schema if self.schema is not None else pa.schema([(self.text_field, pa.string())])
            self._writer = pq.ParquetWriter(self.tmp, schema)
        if self._writer is not False:
            self._writer.close()
            self._writer = False


def _record_of(doc: Document, text_field: str) -> dict[str, Any]:
    if doc.record is None:
        return {text_field: doc.text}
    if doc.changed:
        return {**doc.record, text_field: doc.text}
    return doc.record


def open_writer(
    path: str | os.PathLike[str],
    *,
    format: Literal["auto", "jsonl", "parquet"] = "auto",
    text_field: str = "text",
    schema: Any = None,
) -> AtomicWriter:
    """A JSONL or Parquet :class:`AtomicWriter` chosen by ``format`` or by the suffix of ``path``."""
    kind = format
    if kind == "auto":
        kind = detect_format(path) if not Path(path).is_dir() else "hf"
    if kind == "jsonl":
        return JsonlWriter(path, text_field=text_field)
    if kind == "parquet":
        return ParquetWriter(path, text_field=text_field, schema=schema)
    raise _bad("write", f"output format must be jsonl or parquet, got {kind!r} for {str(path)!r}")
