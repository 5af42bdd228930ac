"""Suite ``core``: the cost of crossing the binding, against other ways of calling native code.

This suite imports ``reactor._mlforge`` directly (the one exception to "only reactor.engine
imports it") because the raw binding is what it measures; the facade adds Python-level checks.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

from reactor import _mlforge
from reactor.bench.harness import Report
from reactor.engine import describe_array, reduce_sum

__all__ = ["run_core"]


def _noop() -> None:
    return None


def run_core(report: Report, *, quick: bool = False) -> None:
    """Empty call, 1 MB array hand-over (numpy and torch) and a 1 MB reduction."""
    repeats = 3 if quick else 7
    round_s = 0.005 if quick else 0.05
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.labs.argtypes = [ctypes.c_long]
    libc.labs.restype = ctypes.c_long

    report.compare(
        "empty call",
        {
            "reactor._mlforge (pybind11)": _mlforge.cuda_compiled,
            "python function": _noop,
            "ctypes C function": lambda: libc.labs(1),
        },
        baseline="python function",
        repeats=repeats,
        min_round_s=round_s,
    )

    array = np.ones(1 << 18, dtype=np.float32)  # 1 MiB
    report.compare(
        "pass a 1 MB numpy array",
        {
            "reactor._mlforge (borrow only)": lambda: _mlforge.testing.borrow_address(array),
            "reactor.engine.describe_array": lambda: describe_array(array),
            "memoryview (buffer protocol)": lambda: memoryview(array),
            "numpy.asarray": lambda: np.asarray(array),
        },
        baseline="memoryview (buffer protocol)",
        repeats=repeats,
        min_round_s=round_s,
    )

    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        tensor = torch.ones(1 << 18, dtype=torch.float32)
        report.compare(
            "pass a 1 MB torch CPU tensor",
            {
                "reactor._mlforge (borrow only, DLPack)": lambda: _mlforge.testing.borrow_address(tensor),
                "numpy.from_dlpack": lambda: np.from_dlpack(tensor),
                "tensor.numpy()": tensor.numpy,
            },
            baseline="numpy.from_dlpack",
            repeats=repeats,
            min_round_s=round_s,
        )

    impls = {
        "reactor.engine.reduce_sum": lambda: reduce_sum(array),
        "numpy.sum(dtype=float64)": lambda: np.sum(array, dtype=np.float64),
        "numpy.sum (float32)": lambda: np.sum(array),
    }
    if torch is not None:
        impls["torch.sum(dtype=float64)"] = lambda: torch.sum(tensor, dtype=torch.float64)
    report.compare(
        "sum 1 MB float32", impls, baseline="numpy.sum(dtype=float64)", repeats=repeats, min_round_s=round_s
    )
