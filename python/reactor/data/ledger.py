"""The removal ledger and the run report.

Every document a stage removes or changes gets one JSON line::

    {"id": 17, "stage": "near_dedup", "action": "removed", "rule": "minhash_jaccard", "score": null,
     "threshold": 0.8, "cluster_id": 3, "duplicate_of": "doc-4", "position": 16, "detail": null}

``id`` is the input's id field or its line number / row index (see :mod:`reactor.data.io`);
``cluster_id`` is the stream position of the first document of the duplicate cluster and
``duplicate_of`` the id of the document that was kept in its place (dedup stages only); ``score``
is the measured value the rule judged (a quality signal, a similarity) when the stage has one.

:class:`RunReport` sums the ledger per stage and rule with timings, as JSON and markdown.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from reactor.atomic import atomic_write_text
from reactor.data.io import JsonlWriter

__all__ = ["Ledger", "LedgerEntry", "RunReport", "StageReport", "read_ledger"]


@dataclass(slots=True)
class LedgerEntry:
    """Why one document was removed or changed."""

    id: Any
    stage: str
    rule: str
    position: int
    score: float | None = None
    threshold: float | None = None
    cluster_id: int | None = None
    duplicate_of: Any = None
    action: Literal["removed", "changed"] = "removed"
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to the ledger file."""
        return {
            "id": self.id,
            "stage": self.stage,
            "action": self.action,
            "rule": self.rule,
            "score": None if self.score is None else float(self.score),
            "threshold": None if self.threshold is None else float(self.threshold),
            "cluster_id": None if self.cluster_id is None else int(self.cluster_id),
            "duplicate_of": self.duplicate_of,
            "position": int(self.position),
            "detail": self.detail,
        }


@dataclass
class StageReport:
    """Counts and time of one stage."""

    name: str
    seen: int = 0
    removed: int = 0
    changed: int = 0
    seconds: float = 0.0
    rules: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunReport:
    """What a pipeline run read, removed, changed and wrote, stage by stage."""

    input_records: int = 0
    output_documents: int = 0
    seconds: float = 0.0
    passes: int = 1
    engine: str = "local"
    stages: dict[str, StageReport] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def stage(self, name: str) -> StageReport:
        """The report of stage ``name`` (created on first use, in pipeline order)."""
        if name not in self.stages:
            self.stages[name] = StageReport(name)
        return self.stages[name]

    def count(self, entry: LedgerEntry) -> None:
        """Add one ledger entry to its stage's counts."""
        stage = self.stage(entry.stage)
        if entry.action == "removed":
            stage.removed += 1
        else:
            stage.changed += 1
        stage.rules[entry.rule] = stage.rules.get(entry.rule, 0) + 1

    @property
    def removed(self) -> int:
        """Documents removed by all stages together."""
        return sum(stage.removed for stage in self.stages.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "input_records": self.input_records,
            "output_documents": self.output_documents,
            "removed": self.removed,
            "seconds": round(self.seconds, 6),
            "passes": self.passes,
            "engine": self.engine,
            "stages": [
                {
                    "name": s.name,
                    "seen": s.seen,
                    "removed": s.removed,
                    "changed": s.changed,
                    "seconds": round(s.seconds, 6),
                    "rules": dict(sorted(s.rules.items())),
                    **s.extra,
                }
                for s in self.stages.values()
            ],
            "config": self.config,
        }

    def to_markdown(self) -> str:
        """A markdown table of the run."""
        lines = [
            "# Data pipeline report",
            "",
            f"{self.input_records} input records -> {self.output_documents} documents written "
            f"({self.removed} removed) in {self.seconds:.2f} s, {self.passes} pass(es), "
            f"engine {self.engine}.",
            "",
            "| stage | seen | removed | changed | seconds | rules |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for s in self.stages.values():
            rules = ", ".join(f"{rule}: {count}" for rule, count in sorted(s.rules.items())) or "-"
            lines.append(f"| {s.name} | {s.seen} | {s.removed} | {s.changed} | {s.seconds:.3f} | {rules} |")
        return "\n".join(lines) + "\n"

    def write(self, path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write the JSON report to ``path`` (``.json``) and the markdown beside it (``.md``), atomically.
        A ``.md`` path gets the markdown and the JSON goes beside it. Returns (json path, markdown path).
        """
        target = Path(path)
        json_path = target.with_suffix(".json") if target.suffix == ".md" else target
        md_path = target if target.suffix == ".md" else target.with_suffix(".md")
        atomic_write_text(json_path, json.dumps(self.to_dict(), indent=2, default=str) + "\n")
        atomic_write_text(md_path, self.to_markdown())
        return json_path, md_path


class Ledger:
    """Collects ledger entries: counts them into a :class:`RunReport` and, given a path, streams them
    to an atomic JSONL file (committed with the output, deleted if the run fails).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, report: RunReport | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.report = report if report is not None else RunReport()
        self._writer = _LedgerWriter(self.path) if self.path is not None else None

    def add(self, entries: Iterable[LedgerEntry]) -> None:
        """Record entries (in stream order)."""
        batch = list(entries)
        for entry in batch:
            self.report.count(entry)
        if self._writer is not None and batch:
            self._writer.write_entries(batch)

    def commit(self) -> None:
        """Make the ledger file visible."""
        if self._writer is not None:
            self._writer.commit()

    def abort(self) -> None:
        """Delete the partial ledger file."""
        if self._writer is not None:
            self._writer.abort()


class _LedgerWriter(JsonlWriter):
    def write_entries(self, entries: list[LedgerEntry]) -> None:
        data = "".join(json.dumps(e.to_dict(), ensure_ascii=False, default=str) + "\n" for e in entries)
        self._handle.write(data.encode("utf-8"))
        self.count += len(entries)


def read_ledger(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Stream the entries of a ledger file."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
