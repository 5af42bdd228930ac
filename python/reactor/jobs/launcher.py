"""Runs one job attempt: ``python launcher.py GATE_FD EXIT_FILE CWD -- CMD ARGS...``.

The daemon starts this as the leader of a new session, records its pid and start time, and only
then writes ``1`` to the gate pipe; if the daemon dies first the pipe closes and nothing runs.
The launcher then runs the command (inheriting stdout/stderr, the log files) and writes its exit
status atomically to EXIT_FILE, so a daemon restarted after ``kill -9`` learns how the attempt
ended even though it is not the parent. Deliberately imports nothing from reactor (fast start).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


def _write_status(path: str, status: dict[str, object]) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as handle:
        json.dump(status, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    """Wait at the gate, run the command, record its exit status."""
    gate_fd, exit_file, cwd, command = int(argv[1]), argv[2], argv[3], argv[5:]
    go = os.read(gate_fd, 1)
    os.close(gate_fd)
    if go != b"1":
        return 125  # the daemon never confirmed the launch: nothing ran
    # SIGTERM goes to the whole group: the command handles it, the launcher stays to record the end.
    # (A handler, not SIG_IGN: handlers are reset by exec, SIG_IGN would be inherited.)
    signal.signal(signal.SIGTERM, lambda *_: None)
    signal.signal(signal.SIGINT, lambda *_: None)
    try:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, cwd=cwd or None)
    except OSError as error:
        _write_status(exit_file, {"exit_code": 127, "error": f"cannot run {command[0]!r}: {error}"})
        return 127
    while True:
        try:
            code = child.wait()
            break
        except InterruptedError:  # pragma: no cover - PEP 475 retries, kept for clarity
            continue
    status: dict[str, object] = {"exit_code": code, "ended": time.time()}
    if code < 0:
        status["error"] = f"killed by signal {signal.Signals(-code).name}"
    _write_status(exit_file, status)
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
