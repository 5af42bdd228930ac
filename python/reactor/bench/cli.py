"""``reactor bench``: run benchmark suites and write JSON, markdown and a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


@app.command()
def core(
    json_path: Annotated[Path | None, typer.Option("--json", help="Write results as JSON here.")] = None,
    markdown_path: Annotated[
        Path | None, typer.Option("--markdown", help="Write a markdown table here.")
    ] = None,
    plot_path: Annotated[
        Path | None, typer.Option("--plot", help="Write a PNG bar chart here (needs matplotlib).")
    ] = None,
    quick: Annotated[bool, typer.Option(help="Fewer, shorter rounds (a smoke run, noisy figures).")] = False,
) -> None:
    """Binding call overhead: empty call, 1 MB array hand-over, 1 MB reduction."""
    from reactor.bench.suites import run_suite

    report = run_suite("core", quick=quick)
    report.write(json_path=json_path, markdown_path=markdown_path, plot_path=plot_path)
    Console().print(Markdown(report.to_markdown()))
