"""Runs a Python entry point as a job: ``python -m reactor.jobs.entry module:function [CONFIG]``.

``function`` is called with the parsed config file (TOML, YAML or JSON, by extension; ``{}``
without one). An int it returns is the exit code; None means 0.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reactor.config import read_config_file
from reactor.errors import InvalidArgumentError

__all__ = ["load_entry_point", "main"]


def load_entry_point(spec: str) -> Callable[[dict[str, Any]], Any]:
    """Import ``module:function`` or raise naming it."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise InvalidArgumentError(
            f"[jobs.entry] entry point must look like 'package.module:function', got {spec!r}"
        )
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise InvalidArgumentError(f"[jobs.entry] cannot load entry point {spec!r}: {error}") from error
    if not callable(target):
        raise InvalidArgumentError(f"[jobs.entry] entry point {spec!r} is not callable")
    return target


def main(argv: list[str]) -> int:
    """Load the entry point and its config, call it, map its result to an exit code."""
    function = load_entry_point(argv[1])
    config: dict[str, Any] = {}
    if len(argv) > 2:
        path = Path(argv[2])
        config = json.loads(path.read_text()) if path.suffix == ".json" else read_config_file(path)
    result = function(config)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
