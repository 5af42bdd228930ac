"""Side-by-side benchmarks: Reactor against numpy, torch and peer libraries, reported as ratios.

Each area adds a suite module here and registers it in :data:`reactor.bench.suites.SUITES`;
``reactor bench <suite>`` and ``benchmarks/python/run.py`` run them and write JSON, a markdown
table and (with matplotlib) a PNG plot.
"""

from __future__ import annotations

from reactor.bench.harness import Measurement, Report, measure
from reactor.bench.suites import SUITES, run_suite

__all__ = ["SUITES", "Measurement", "Report", "measure", "run_suite"]
