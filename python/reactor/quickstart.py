"""The quickstart: what a newcomer runs first. For now it demonstrates the engine; later work
grows it into the full dedup -> train -> evaluate pipeline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from reactor import engine

__all__ = ["run_quickstart"]

T = TypeVar("T")


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def run_quickstart(*, size: int, seed: int, console: Console) -> dict[str, float]:
    """Generate ``size`` normal samples and sum them with the engine and with numpy; print a table.

    Returns the measured seconds and results so callers (and tests) can check them.
    """
    info = engine.build_info()
    console.print(
        f"MLForge {info.version} · {info.compiler} · SIMD {info.simd} · {info.num_threads} threads · "
        f"CUDA {'available' if info.cuda_available else 'not available'}"
    )
    results: dict[str, float] = {}
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("running the engine demonstration", total=4)
        samples, results["engine_normal_s"] = _timed(lambda: engine.normal(size, seed=seed, dtype=np.float32))
        progress.advance(task)
        reference, results["numpy_normal_s"] = _timed(
            lambda: np.random.Generator(np.random.Philox(seed)).standard_normal(size, dtype=np.float32)
        )
        progress.advance(task)
        results["engine_sum"], results["engine_sum_s"] = _timed(lambda: engine.reduce_sum(samples))
        progress.advance(task)
        numpy_sum, results["numpy_sum_s"] = _timed(lambda: float(np.sum(samples, dtype=np.float64)))
        results["numpy_sum"] = numpy_sum
        progress.advance(task)
    del reference

    table = Table(title=f"Engine vs numpy on {size:,} float32 values")
    table.add_column("operation")
    table.add_column("reactor.engine", justify="right")
    table.add_column("numpy", justify="right")
    table.add_column("speed-up", justify="right")
    for label, ours, theirs in (
        ("normal samples (Philox)", results["engine_normal_s"], results["numpy_normal_s"]),
        ("sum (float64 accumulation)", results["engine_sum_s"], results["numpy_sum_s"]),
    ):
        table.add_row(label, f"{ours * 1e3:.1f} ms", f"{theirs * 1e3:.1f} ms", f"{theirs / ours:.1f}x")
    console.print(table)
    console.print(
        f"mean of the samples: {results['engine_sum'] / size:+.5f} (engine) vs "
        f"{results['numpy_sum'] / size:+.5f} (numpy); both should be close to 0."
    )
    return results
