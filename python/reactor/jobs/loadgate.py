"""The load gate: heavy jobs run only while the machine (or a service a probe command measures) is
below a threshold, and are preempted when load returns.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable

from reactor.errors import UnavailableError

__all__ = ["LoadGate", "command_probe", "loadavg_probe"]


def loadavg_probe() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def command_probe(command: str, timeout: float = 10.0) -> Callable[[], float]:
    """A probe that runs ``command`` and reads one number from its stdout."""
    argv = shlex.split(command)

    def probe() -> float:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        try:
            return float(result.stdout.strip().split()[0])
        except (ValueError, IndexError) as error:
            raise UnavailableError(
                f"[jobs.load_probe] {command!r} printed {result.stdout.strip()!r} "
                f"(exit {result.returncode}), "
                "expected a number"
            ) from error

    return probe


class LoadGate:
    """Open while ``probe() - own_load`` is below ``threshold``; no threshold: always open.

    ``own_load`` is what the daemon's own running heavy jobs are expected to add (their cpus), so a
    heavy job does not close the gate on itself. A probe that fails closes the gate (fail safe).
    """

    def __init__(self, threshold: float | None, probe: Callable[[], float] = loadavg_probe) -> None:
        self.threshold = threshold
        self.probe = probe
        self.last_load: float | None = None

    def is_open(self, own_load: float = 0.0) -> bool:
        """Whether heavy jobs may run now."""
        if self.threshold is None:
            return True
        try:
            self.last_load = float(self.probe())
        except (UnavailableError, OSError, subprocess.SubprocessError):
            self.last_load = None
            return False
        return max(0.0, self.last_load - own_load) < self.threshold
