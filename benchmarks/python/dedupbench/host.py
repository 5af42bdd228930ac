"""Host metadata recorded with each run: CPU, load average and package versions."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("reactor", "numpy", "datasketch", "xxhash", "rensa", "psutil"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cpus": os.cpu_count(), "loadavg_start": list(os.getloadavg())}
