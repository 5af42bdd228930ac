"""The pool size comes from REACTOR_NUM_THREADS or the config file; bad values are clear errors."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = "from reactor import engine; print(engine.num_threads())"


def _run(probe: str = PROBE, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REACTOR_NUM_THREADS", "REACTOR_CONFIG")
    }
    env.update(variables)
    return subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)


def test_environment_variable_sets_pool_size():
    result = _run(REACTOR_NUM_THREADS="3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_invalid_environment_variable_is_named_in_the_error():
    for value in ("zero", "0", "-2", "99999"):
        result = _run(REACTOR_NUM_THREADS=value)
        assert result.returncode != 0
        assert "ConfigError" in result.stderr
        assert "core.num_threads" in result.stderr
        assert value in result.stderr


def test_engine_checks_the_variable_itself_for_embedders():
    result = _run("from reactor import _mlforge; _mlforge.num_threads()", REACTOR_NUM_THREADS="2x")
    assert result.returncode != 0
    expected = (
        "InvalidArgumentError: [parallel] REACTOR_NUM_THREADS must be an integer in [1, 1024], got '2x'"
    )
    assert expected in result.stderr


def test_config_file_sizes_the_pool(tmp_path):
    config = tmp_path / "reactor.toml"
    config.write_text("[core]\nnum_threads = 3\n")
    result = _run(REACTOR_CONFIG=str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_invalid_config_file_fails_at_import_with_the_field_path(tmp_path):
    config = tmp_path / "reactor.toml"
    config.write_text("[core]\nnum_threads = 0\n")
    result = _run(REACTOR_CONFIG=str(config))
    assert result.returncode != 0
    assert "core.num_threads: Input should be greater than or equal to 1 (got 0)" in result.stderr
