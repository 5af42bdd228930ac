"""``reactor data dedup|quality|pipeline``: corpus curation from the command line.

    reactor data dedup in.jsonl -o out.jsonl --method minhash --threshold 0.8 --ledger removed.jsonl
    reactor data quality in.parquet -o good.parquet --min-words 50 --ledger dropped.jsonl
    reactor data pipeline curate.toml --set near.threshold=0.85 --set engine=ray

Outputs are the input records unchanged (all fields), in input order; the ledger has one line per
removed document. Everything is written to temporary files renamed at the end, so an error or Ctrl-C
leaves no partial output. Errors print as one line (exit 1; 2 for a bad option value).
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help="Curate corpora: exact, near-duplicate and semantic dedup, quality filtering, pipelines.",
)
console = Console(stderr=True)


class Method(StrEnum):
    """Dedup methods."""

    exact = "exact"
    minhash = "minhash"
    simhash = "simhash"
    semantic = "semantic"


class Keep(StrEnum):
    """Which document of a duplicate cluster is kept."""

    first = "first"
    longest = "longest"


class Engine(StrEnum):
    """Where features are computed."""

    local = "local"
    ray = "ray"


def _fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _run(config: Any, **kwargs: Any) -> None:
    """Run a pipeline config with one-line errors and a clean Ctrl-C."""
    from reactor.data.pipeline import run_pipeline
    from reactor.errors import ReactorError

    try:
        report = run_pipeline(config, console=console, **kwargs)
    except KeyboardInterrupt:
        _fail("interrupted; no output was written", 130)
    except (ReactorError, OSError) as error:
        _fail(str(error))
    removed = ", ".join(f"{s.name} {s.removed}" for s in report.stages.values() if s.removed) or "none"
    console.print(
        f"[bold green]done[/] {report.input_records} records -> {report.output_documents} written "
        f"(removed: {removed}) in {report.seconds:.2f} s"
    )


def _config(
    values: dict[str, Any], config_file: Path | None = None, overrides: list[str] | None = None
) -> Any:
    from reactor.data.config import load_pipeline_config
    from reactor.errors import ReactorError
    from reactor.train.config import parse_overrides

    try:
        if config_file is None:
            return load_pipeline_config(None, values)
        return load_pipeline_config(config_file, parse_overrides(overrides or []))
    except ReactorError as error:
        _fail(str(error))


InputArg = Annotated[
    Path, typer.Argument(help="Input: .jsonl, .jsonl.gz, .parquet or a saved datasets folder.")
]
OutputOpt = Annotated[Path, typer.Option("--output", "-o", help="Output file (.jsonl or .parquet).")]
LedgerOpt = Annotated[Path | None, typer.Option("--ledger", help="Removal ledger (JSONL).")]
ReportOpt = Annotated[
    Path | None, typer.Option("--report", help="Summary report (JSON, markdown beside it).")
]
TextFieldOpt = Annotated[str, typer.Option("--text-field", help="Field holding the text.")]
IdFieldOpt = Annotated[str, typer.Option("--id-field", help="Field naming a record in the ledger.")]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Documents per batch.")]
MissingOpt = Annotated[
    bool,
    typer.Option("--skip-missing-text", help="Log records without text in the ledger instead of stopping."),
]
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")]


def _io(
    input_path: Path,
    output: Path,
    ledger: Path | None,
    report: Path | None,
    text_field: str,
    id_field: str,
    skip_missing: bool,
) -> dict[str, Any]:
    if not input_path.exists():
        _fail(f"input {str(input_path)!r} does not exist")
    return {
        "input": {
            "path": str(input_path),
            "text_field": text_field,
            "id_field": id_field or None,
            "on_missing_text": "ledger" if skip_missing else "error",
        },
        "output": {
            "path": str(output),
            "ledger": None if ledger is None else str(ledger),
            "report": None if report is None else str(report),
        },
    }


@app.command()
def dedup(
    input_path: InputArg,
    output: OutputOpt,
    method: Annotated[
        Method, typer.Option("--method", help="exact, minhash, simhash or semantic.")
    ] = Method.minhash,
    threshold: Annotated[
        float, typer.Option("--threshold", help="minhash: Jaccard; semantic: cosine. In (0, 1].")
    ] = 0.8,
    num_perm: Annotated[int, typer.Option("--num-perm", min=1, help="MinHash permutations.")] = 128,
    ngram: Annotated[int, typer.Option("--ngram", min=1, help="Word n-gram shingle size (minhash).")] = 5,
    max_distance: Annotated[
        int, typer.Option("--max-distance", min=0, max=64, help="simhash: most differing bits.")
    ] = 3,
    text_field: TextFieldOpt = "text",
    id_field: IdFieldOpt = "id",
    ledger: LedgerOpt = None,
    keep: Annotated[Keep, typer.Option("--keep", help="Which copy of a cluster to keep.")] = Keep.first,
    report: ReportOpt = None,
    streaming: Annotated[
        bool,
        typer.Option(
            "--streaming",
            help="One pass: drop a document when it duplicates an earlier one (default: exact clusters, "
            "one extra read of the input).",
        ),
    ] = False,
    engine: Annotated[
        Engine, typer.Option("--engine", help="local, or ray (features on Ray Data).")
    ] = Engine.local,
    embedder: Annotated[
        str | None, typer.Option("--embedder", help="semantic: 'module:function' texts -> float32 (n, d).")
    ] = None,
    model_path: Annotated[
        Path | None,
        typer.Option("--model-path", help="semantic: local sentence-transformers model directory."),
    ] = None,
    n_clusters: Annotated[int, typer.Option("--n-clusters", min=1, help="semantic: k-means clusters.")] = 100,
    batch_size: BatchOpt = 10_000,
    skip_missing_text: MissingOpt = False,
    progress: ProgressOpt = True,
) -> None:
    """Remove duplicates: keep one document per cluster, log the others with the id they duplicate."""
    if not (math.isfinite(threshold) and 0.0 < threshold <= 1.0):
        _fail(f"--threshold must be in (0, 1], got {threshold}", 2)
    if keep is not Keep.first and streaming:
        _fail("--keep longest needs the default two-pass mode, not --streaming", 2)
    if method is Method.semantic and (embedder is None) == (model_path is None):
        _fail("--method semantic needs exactly one of --embedder or --model-path", 2)
    values = _io(input_path, output, ledger, report, text_field, id_field, skip_missing_text)
    values.update(
        batch_size=batch_size,
        mode="streaming" if streaming else "global",
        keep=keep.value,
        engine=engine.value,
        progress=progress,
        exact={"enabled": method is Method.exact},
        near={
            "enabled": method in (Method.minhash, Method.simhash),
            "method": "simhash" if method is Method.simhash else "minhash",
            "threshold": threshold,
            "num_perm": num_perm,
            "ngram": ngram,
            "max_distance": max_distance,
        },
        semantic={
            "enabled": method is Method.semantic,
            "embedder": embedder,
            "model_path": None if model_path is None else str(model_path),
            "eps": 1.0 - threshold,
            "n_clusters": n_clusters,
        },
    )
    _run(_config(values))


@app.command()
def quality(
    input_path: InputArg,
    output: OutputOpt,
    min_words: Annotated[float | None, typer.Option("--min-words", help="Fewest words.")] = 50,
    max_words: Annotated[float | None, typer.Option("--max-words", help="Most words.")] = 100_000,
    min_mean_word_length: Annotated[float | None, typer.Option("--min-mean-word-length")] = 3,
    max_mean_word_length: Annotated[float | None, typer.Option("--max-mean-word-length")] = 10,
    max_symbol_ratio: Annotated[
        float | None, typer.Option("--max-symbol-ratio", help="'#', '$', '%', '<', '>', '...' per word.")
    ] = 0.1,
    min_alnum_ratio: Annotated[
        float | None, typer.Option("--min-alnum-ratio", help="Fraction of words with a letter or digit.")
    ] = 0.8,
    signals: Annotated[
        str | None, typer.Option("--signals", help="'module:function' texts -> (matrix, names).")
    ] = None,
    text_field: TextFieldOpt = "text",
    id_field: IdFieldOpt = "id",
    ledger: LedgerOpt = None,
    report: ReportOpt = None,
    batch_size: BatchOpt = 10_000,
    skip_missing_text: MissingOpt = False,
    progress: ProgressOpt = True,
) -> None:
    """Keep documents whose quality signals (Gopher-style by default) are inside the given bounds."""
    values = _io(input_path, output, ledger, report, text_field, id_field, skip_missing_text)
    rules = {
        "word_count": {"min": min_words, "max": max_words},
        "mean_word_length": {"min": min_mean_word_length, "max": max_mean_word_length},
        "symbol_ratio": {"max": max_symbol_ratio},
        "alnum_ratio": {"min": min_alnum_ratio},
    }
    values.update(
        batch_size=batch_size,
        progress=progress,
        quality={"enabled": True, "signals": signals, "rules": rules},
        exact={"enabled": False},
        near={"enabled": False},
    )
    _run(_config(values))


@app.command()
def pipeline(
    config: Annotated[Path, typer.Argument(help="Pipeline config (TOML or YAML).")],
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a setting: --set near.threshold=0.85")
    ] = None,
) -> None:
    """Run a whole pipeline: read -> normalise -> quality -> exact -> near -> semantic -> write."""
    settings = _config({}, config, set_)
    if settings.input.path is None or settings.output.path is None:
        _fail("the config must set input.path and output.path")
    _run(settings)
