"""Per-phase CPU and wall timing, interleaved repeated cases with medians, and stderr logging."""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Stopwatch:
    """Process CPU and wall seconds per named phase of one run."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def run(self, phase: str, fn: Callable[[], T]) -> T:
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        self.times[f"{phase}_cpu_s"] = self.times.get(f"{phase}_cpu_s", 0.0) + cpu
        self.times[f"{phase}_wall_s"] = self.times.get(f"{phase}_wall_s", 0.0) + wall
        return out

    def totals(self) -> dict[str, float]:
        cpu = sum(v for k, v in self.times.items() if k.endswith("_cpu_s"))
        wall = sum(v for k, v in self.times.items() if k.endswith("_wall_s"))
        return {**self.times, "cpu_s": cpu, "wall_s": wall}


Case = Callable[[Stopwatch], Any]


def run_cases(cases: dict[str, Case], repeats: int, n_docs: int, tag: str) -> tuple[dict, dict[str, Any]]:
    """Each case ``repeats`` times, interleaved with the order rotated; per case the median of every
    phase and total, docs per CPU-second and per wall-second, and the output of its last run.
    """
    names = list(cases)
    raw: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    last: dict[str, Any] = {}
    for run in range(repeats):
        for name in names[run % len(names) :] + names[: run % len(names)]:
            last.pop(name, None)
            gc.collect()
            watch = Stopwatch()
            last[name] = cases[name](watch)
            raw[name].append(watch.totals())
            log(f"{tag} run {run + 1}/{repeats} {name}: {raw[name][-1]['cpu_s']:.2f} CPU-s")
    summary = {}
    for name, runs in raw.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        summary[name] = {
            "median": med,
            "docs_per_cpu_s": n_docs / max(med["cpu_s"], 1e-9),
            "docs_per_s": n_docs / max(med["wall_s"], 1e-9),
            "runs": runs,
        }
    return summary, last


def log(message: str) -> None:
    print(f"[dedup_bench] {message}", file=sys.stderr, flush=True)
