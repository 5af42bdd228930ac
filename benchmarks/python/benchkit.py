"""Helpers shared by the side-by-side benchmark scripts in ``benchmarks/python``.

- host metadata recorded with each run: :func:`versions` and :func:`machine`;
- number formatting for the markdown reports: :func:`fmt`;
- Linux ``/proc`` memory probes: :func:`status_bytes` and :func:`reset_peak`.

The scripts run from the repository root as ``.venv/bin/python benchmarks/python/<script>.py``, which
puts ``benchmarks/python`` on ``sys.path``, so both they and the ``dedupbench`` package next to this
module import it as plain ``benchkit``.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from importlib import metadata
from typing import Any


# ------------------------------------------------------------------------------ host metadata
def versions(*dists: str) -> dict[str, str]:
    """The Python version and the installed version of each distribution (``"not installed"`` if absent).

    Keys keep the order given, after ``"python"``.
    """
    out = {"python": platform.python_version()}
    for dist in dists:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def machine(env_prefixes: Sequence[str] | None = None) -> dict[str, Any]:
    """CPU model, CPU count and the load average at the start of a run.

    With ``env_prefixes``, also ``"env"``: the environment variables whose names start with any of
    them (thread-count settings such as ``OMP_NUM_THREADS``).
    """
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    out: dict[str, Any] = {"cpu": cpu, "cpus": os.cpu_count(), "loadavg_start": list(os.getloadavg())}
    if env_prefixes is not None:
        prefixes = tuple(env_prefixes)
        out["env"] = {k: v for k, v in os.environ.items() if k.startswith(prefixes)}
    return out


# --------------------------------------------------------------------------------- formatting
def fmt(value: float | None) -> str:
    """A number in a few significant characters: ``1.23M``, ``45k``, ``1,234``, ``12.34``, ``0.0123``.

    ``None`` is ``"n/a"``.
    """
    if value is None:
        return "n/a"
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:.2f}M"
    if a >= 1e4:
        return f"{value / 1e3:.0f}k"
    if a >= 100:
        return f"{value:,.0f}"
    if a >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


# ------------------------------------------------------------------------------------- memory
def status_bytes(field: str) -> int:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in bytes."""
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> bool:
    """Reset the kernel's RSS high-water mark (VmHWM); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True
