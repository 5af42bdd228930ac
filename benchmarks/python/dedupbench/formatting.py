"""Markdown formatting helpers: ratios, verdicts, tables and throughput lookups (numbers: ``benchkit``)."""

from __future__ import annotations

from typing import Any


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a is not None and b else "n/a"


def verdict(ok: bool | None, info: bool = False) -> str:
    if info:
        return "info"
    return "n/a" if ok is None else ("PASS" if ok else "**FAIL**")


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def rate(summary: dict[str, Any], name: str, phase: str | None = None, wall: bool = False) -> float | None:
    """Docs per CPU-second (or wall-second) of a case, or of one of its phases."""
    case = summary.get(name)
    if case is None:
        return None
    if phase is None:
        return case["docs_per_s" if wall else "docs_per_cpu_s"]
    seconds = case["median"].get(f"{phase}_{'wall' if wall else 'cpu'}_s")
    return case["n_docs"] / seconds if seconds else None
