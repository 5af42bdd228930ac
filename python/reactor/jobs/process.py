"""Process identity on Linux: a pid plus its start time (``/proc/<pid>/stat`` field 22) names one
process for good, so a recycled pid is never mistaken for (or signalled as) a job.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

__all__ = ["group_members", "is_alive", "kill_group", "process_start_time"]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may hold spaces or parentheses: split after the last ')'.
    return text[text.rfind(")") + 2 :].split()


def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot, or None if there is no such process."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def is_alive(pid: int, start_time: int) -> bool:
    """Whether the process ``pid`` that started at ``start_time`` still runs (zombies do not)."""
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] != "Z" and int(fields[19]) == start_time


def group_members(pgid: int, not_before: int) -> list[int]:
    """Live processes of group ``pgid`` that started at or after ``not_before`` (clock ticks)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and fields[0] != "Z" and int(fields[2]) == pgid and int(fields[19]) >= not_before:
            out.append(int(entry.name))
    return out


def kill_group(pgid: int, start_time: int, sig: int = signal.SIGKILL) -> bool:
    """Signal the job's process group if it is still ours; returns whether anything was signalled.

    The group is ours while its leader (pid == pgid) has the recorded start time; once the leader is
    gone, only members that started after it are signalled, one by one.
    """
    if is_alive(pgid, start_time):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
            return True
        return False
    members = group_members(pgid, start_time)
    for pid in members:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    return bool(members)
