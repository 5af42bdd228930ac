"""The registry of benchmark suites. Areas add theirs here."""

from __future__ import annotations

from collections.abc import Callable

from reactor.bench.core import run_core
from reactor.bench.harness import Report

__all__ = ["SUITES", "run_suite"]

SUITES: dict[str, Callable[..., None]] = {
    "core": run_core,
}


def run_suite(name: str, *, quick: bool = False) -> Report:
    """Run suite ``name`` and return its report."""
    if name not in SUITES:
        raise ValueError(f"unknown benchmark suite {name!r}; choose from {sorted(SUITES)}")
    report = Report(suite=name)
    SUITES[name](report, quick=quick)
    return report
