from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reactor import engine


@pytest.fixture(autouse=True)
def _isolated_reactor_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own REACTOR_HOME so nothing touches ~/.reactor."""
    home = tmp_path / "reactor-home"
    monkeypatch.setenv("REACTOR_HOME", str(home))
    monkeypatch.delenv("REACTOR_CONFIG", raising=False)
    yield home


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """One local Ray cluster (2 CPUs) shared by every ray-marked test of the session: Ray allows one
    ``ray.init`` per process, so per-module clusters would collide.
    """
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if engine.cuda_available():
        return
    skip_cuda = pytest.mark.skip(reason="needs a CUDA build of the engine and a GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip_cuda)
