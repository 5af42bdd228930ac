"""Timing and reporting for side-by-side benchmarks.

A *case* (e.g. "pass a 1 MB array") is measured for several *implementations* (Reactor and its
baselines) in the same process, one after another, and reported relative to a named baseline.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reactor.atomic import atomic_write_text

__all__ = ["Measurement", "Report", "measure"]


@dataclass(frozen=True)
class Measurement:
    """Per-call time of one implementation of one case (nanoseconds, over ``repeats`` rounds)."""

    case: str
    impl: str
    median_ns: float
    min_ns: float
    max_ns: float
    calls_per_round: int
    repeats: int
    baseline: str
    ratio_vs_baseline: float = float("nan")  # baseline time / this time: > 1 means faster


def measure(
    fn: Callable[[], object], *, repeats: int = 7, min_round_s: float = 0.02
) -> tuple[float, float, float, int]:
    """Time ``fn``: calibrate calls per round so a round lasts >= ``min_round_s``, then run
    ``repeats`` rounds. Returns (median, min, max) nanoseconds per call and calls per round.
    """
    if repeats < 1 or min_round_s <= 0:
        raise ValueError(f"measure: repeats must be >= 1 and min_round_s > 0, got {repeats}, {min_round_s}")
    fn()  # warm-up: first-call costs (imports, page faults) are not what we report
    calls = 1
    while True:
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter_ns() - start
        if elapsed >= min_round_s * 1e9 or calls >= 1 << 24:
            break
        calls *= 2 if elapsed == 0 else max(2, min(10, int(min_round_s * 1e9 / elapsed) + 1))
    rounds = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        rounds.append((time.perf_counter_ns() - start) / calls)
    return statistics.median(rounds), min(rounds), max(rounds), calls


def _environment() -> dict[str, Any]:
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        # numpy is slower when these are set (see the env notes); record them with the figures.
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "REACTOR_NUM_THREADS": os.environ.get("REACTOR_NUM_THREADS"),
    }
    try:
        from reactor.engine import build_info

        env["engine"] = asdict(build_info())
    except ImportError:
        env["engine"] = None
    for module in ("numpy", "torch"):
        try:
            env[module] = __import__(module).__version__
        except ImportError:
            env[module] = None
    return env


@dataclass
class Report:
    """Results of one suite run, with the environment they were measured in."""

    suite: str
    measurements: list[Measurement] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=_environment)

    def compare(
        self,
        case: str,
        impls: dict[str, Callable[[], object]],
        *,
        baseline: str,
        repeats: int = 7,
        min_round_s: float = 0.02,
    ) -> list[Measurement]:
        """Measure every implementation of ``case`` and record ratios against ``baseline``."""
        if baseline not in impls:
            raise ValueError(f"compare: baseline {baseline!r} is not one of {sorted(impls)}")
        timings = {name: measure(fn, repeats=repeats, min_round_s=min_round_s) for name, fn in impls.items()}
        base_ns = timings[baseline][0]
        rows = [
            Measurement(
                case,
                name,
                med,
                low,
                high,
                calls,
                repeats,
                baseline,
                base_ns / med if med > 0 else float("inf"),
            )
            for name, (med, low, high, calls) in timings.items()
        ]
        self.measurements.extend(rows)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation."""
        return {
            "suite": self.suite,
            "environment": self.environment,
            "measurements": [asdict(m) for m in self.measurements],
        }

    def to_markdown(self) -> str:
        """A markdown table: one row per (case, implementation), time per call and ratio."""
        lines = [
            f"## {self.suite}",
            "",
            "| case | implementation | median per call | ratio (baseline / this) |",
            "|---|---|---:|---:|",
        ]
        for m in self.measurements:
            marker = " (baseline)" if m.impl == m.baseline else ""
            lines.append(
                f"| {m.case} | {m.impl}{marker} | {_format_ns(m.median_ns)} | {m.ratio_vs_baseline:.2f}x |"
            )
        return "\n".join(lines) + "\n"

    def write(
        self,
        *,
        json_path: Path | None = None,
        markdown_path: Path | None = None,
        plot_path: Path | None = None,
    ) -> None:
        """Write the requested outputs atomically (temp file + rename)."""
        if json_path is not None:
            atomic_write_text(json_path, json.dumps(self.to_dict(), indent=2))
        if markdown_path is not None:
            atomic_write_text(markdown_path, self.to_markdown())
        if plot_path is not None:
            self.plot(plot_path)

    def plot(self, path: Path) -> None:
        """Horizontal bars of time per call (log scale), grouped by case. Needs matplotlib."""
        plt = _pyplot()
        labels = [f"{m.case} · {m.impl}" for m in self.measurements]
        values = [m.median_ns for m in self.measurements]
        fig, ax = plt.subplots(figsize=(10, 0.4 * len(labels) + 1.5))
        ax.barh(
            range(len(labels)),
            values,
            color=["tab:orange" if m.impl.startswith("reactor") else "tab:gray" for m in self.measurements],
        )
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("median time per call (ns, log scale)")
        ax.set_title(f"reactor bench {self.suite}")
        fig.tight_layout()
        _save_figure(fig, path)


def _format_ns(ns: float) -> str:
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns / 1e6:.2f} ms"


def _pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend (plots are files, never windows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_figure(fig: Any, path: Path) -> None:
    """Save a PNG atomically (temp file + rename) and release the figure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    fig.clf()
    _pyplot().close(fig)
    os.replace(tmp, path)
