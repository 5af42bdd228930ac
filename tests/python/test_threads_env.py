"""REACTOR_NUM_THREADS sizes the pool at start-up; a bad value is a clear error."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = "from reactor import engine; print(engine.num_threads())"


def _run(value: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REACTOR_NUM_THREADS": value}
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)


def test_environment_variable_sets_pool_size():
    result = _run("3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_invalid_environment_variable_is_named_in_the_error():
    for value in ("zero", "0", "-2", "99999"):
        result = _run(value)
        assert result.returncode != 0
        assert "InvalidArgumentError" in result.stderr
        assert f"REACTOR_NUM_THREADS must be an integer in [1, 1024], got '{value}'" in result.stderr
