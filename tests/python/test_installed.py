"""The package works as installed, from outside the source tree, and as a wheel in a new venv."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import reactor

REPO = Path(__file__).resolve().parents[2]
PROBE = "import reactor, reactor.engine; print(reactor.__file__); print(reactor.engine.build_info())"


def test_imports_from_outside_the_source_tree(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "BuildInfo(version=" in result.stdout


@pytest.mark.skipif(
    os.environ.get("REACTOR_TEST_INSTALLED") != "1", reason="set by scripts/test.sh (installed build)"
)
def test_package_under_test_is_the_installed_one_not_the_sources():
    assert not Path(reactor.__file__).resolve().is_relative_to(REPO / "python")


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("REACTOR_WHEEL"), reason="scripts/test.sh builds the wheel and sets REACTOR_WHEEL"
)
def test_wheel_installs_into_a_fresh_virtualenv(tmp_path):
    wheel = Path(os.environ["REACTOR_WHEEL"])
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    result = subprocess.run([python, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert str(env_dir) in result.stdout.splitlines()[0]
    cli = subprocess.run(
        [env_dir / "bin" / "reactor", "info", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    # without the train extra the main job says what to install instead of a traceback
    quickstart = subprocess.run(
        [env_dir / "bin" / "reactor", "quickstart"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert quickstart.returncode != 0
    assert "pip install 'reactor[train]'" in quickstart.stderr


def test_the_cli_imports_no_optional_dependency(tmp_path):
    """A base install (no extras) must run `reactor`: optional packages load only where used."""
    optional = ["cryptography", "opacus", "flwr", "ray", "torch", "pyarrow", "datasets", "transformers"]
    probe = f"import sys, reactor.cli; print([m for m in {optional!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
