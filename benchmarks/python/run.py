"""Run Reactor's side-by-side benchmark suites and write JSON, markdown and PNG results.

    .venv/bin/python benchmarks/python/run.py                 # every suite -> benchmarks/results/
    .venv/bin/python benchmarks/python/run.py --suite core --quick

Each suite lives in ``reactor.bench`` (so ``reactor bench <suite>`` runs it too) and compares
Reactor with numpy, torch and peer libraries in one process, reporting ratios.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from reactor.bench import SUITES, run_suite

RESULTS = Path(__file__).resolve().parents[1] / "results"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--suite", action="append", choices=sorted(SUITES), help="suite to run (repeatable; default: all)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="output directory")
    parser.add_argument("--quick", action="store_true", help="short smoke run (noisy figures)")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG plots")
    args = parser.parse_args()
    combined = []
    for name in args.suite or sorted(SUITES):
        report = run_suite(name, quick=args.quick)
        report.write(
            json_path=args.out / f"{name}.json",
            markdown_path=args.out / f"{name}.md",
            plot_path=None if args.no_plot else args.out / f"{name}.png",
        )
        combined.append(report.to_markdown())
        print(report.to_markdown())
    (args.out / "summary.md").write_text("\n".join(combined), encoding="utf-8")
    print(f"results in {args.out}")


if __name__ == "__main__":
    main()
