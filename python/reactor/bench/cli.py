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


@app.command()
def kernels(
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    sizes: Annotated[
        list[str] | None, typer.Option("--sizes", help="Size presets: small, medium, large (repeatable).")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write one record per (kernel, size, backend).")
    ] = None,
    markdown_path: Annotated[
        Path | None, typer.Option("--markdown", help="Write a markdown table here.")
    ] = None,
    plot_path: Annotated[
        Path | None, typer.Option("--plot", help="Write a roofline PNG here (needs matplotlib).")
    ] = None,
    quick: Annotated[bool, typer.Option(help="Fewer, shorter rounds (a smoke run, noisy figures).")] = False,
) -> None:
    """Every kernel against numpy and torch: time, GB/s and fraction of the measured bandwidth."""
    from reactor.bench.kernels import run_kernel_bench

    report = run_kernel_bench(sizes or ["small", "medium"], device=device, quick=quick)
    report.write(json_path=json_path, markdown_path=markdown_path, plot_path=plot_path)
    Console().print(Markdown(report.to_markdown()))
