"""``reactor data dedup|quality|decontaminate|pipeline``: corpus curation from the command line.

    reactor data dedup in.jsonl -o out.jsonl --method minhash --threshold 0.8 --ledger removed.jsonl
    reactor data dedup in.jsonl -o out.jsonl --method substring --min-tokens 50 --ledger cut.jsonl
    reactor data quality in.parquet -o good.parquet --rule 'word_count>=100' --ledger dropped.jsonl
    reactor data decontaminate in.jsonl -o clean.jsonl --eval mmlu.jsonl --eval gsm8k.jsonl
    reactor data pipeline curate.toml --set near.threshold=0.85 --set engine=ray

Outputs are the input records unchanged (all fields; only the text of a document that substring
dedup rewrote differs), in input order; the ledger has one line per removed or changed document.
Everything is written to temporary files renamed at the end, so an error or Ctrl-C leaves no partial
output. Errors print as one line (exit 1; 2 for a bad option value).
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help="Curate corpora: exact, near-duplicate, substring and semantic dedup, decontamination, "
    "quality filtering, pipelines.",
)
console = Console(stderr=True)


class Method(StrEnum):
    """Dedup methods."""

    exact = "exact"
    minhash = "minhash"
    simhash = "simhash"
    substring = "substring"
    semantic = "semantic"


class Keep(StrEnum):
    """Which document of a duplicate cluster is kept."""

    first = "first"
    longest = "longest"


class ContaminationMode(StrEnum):
    """Decontamination definitions."""

    ngram = "ngram"
    coverage = "coverage"


class CoverageOf(StrEnum):
    """Whose tokens the coverage fraction counts."""

    eval = "eval"
    document = "document"


class Preset(StrEnum):
    """Quality rule presets."""

    gopher = "gopher"
    none = "none"


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
        Method, typer.Option("--method", help="exact, minhash, simhash, substring or semantic.")
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
    min_tokens: Annotated[
        int, typer.Option("--min-tokens", min=1, help="substring: shortest repeated span, in tokens.")
    ] = 50,
    min_remaining_words: Annotated[
        int,
        typer.Option("--min-remaining-words", min=0, help="substring: remove a document left this short."),
    ] = 5,
    batch_size: BatchOpt = 10_000,
    skip_missing_text: MissingOpt = False,
    progress: ProgressOpt = True,
) -> None:
    """Remove duplicates: keep one document per cluster, log the others with the id they duplicate.

    ``--method substring`` instead cuts every repeated span of at least ``--min-tokens`` tokens out of
    the later copies (Lee et al. 2021); it needs the whole corpus in memory and one extra read.
    """
    if not (math.isfinite(threshold) and 0.0 < threshold <= 1.0):
        _fail(f"--threshold must be in (0, 1], got {threshold}", 2)
    if keep is not Keep.first and streaming:
        _fail("--keep longest needs the default two-pass mode, not --streaming", 2)
    if method is Method.substring and streaming:
        _fail("--method substring needs the whole corpus (one extra read); it has no --streaming mode", 2)
    if method is Method.substring and keep is not Keep.first:
        _fail("--method substring keeps the first copy of a span; --keep longest does not apply", 2)
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
        substring={
            "enabled": method is Method.substring,
            "min_tokens": min_tokens,
            "min_remaining_words": min_remaining_words,
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


_RULE = re.compile(r"^\s*([A-Za-z_]\w*)\s*(>=|<=|=)\s*(\S+)\s*$")


def _parse_rules(specs: list[str]) -> dict[str, dict[str, Any]]:
    """``["word_count>=100", "dup_line_fraction<=0.5", "stop_word_count=off"]`` -> config rules."""
    rules: dict[str, dict[str, Any]] = {}
    for spec in specs:
        match = _RULE.match(spec)
        if match is None:
            _fail(f"--rule must look like NAME>=MIN, NAME<=MAX or NAME=off, got {spec!r}", 2)
        name, op, raw = match.groups()
        rule = rules.setdefault(name, {})
        if op == "=":
            if raw.lower() != "off":
                _fail(f"--rule {spec!r}: use NAME>=MIN or NAME<=MAX, or NAME=off to drop the rule", 2)
            rule["enabled"] = False
            continue
        try:
            value = float(raw)
        except ValueError:
            _fail(f"--rule {spec!r}: {raw!r} is not a number", 2)
        if not math.isfinite(value):
            _fail(f"--rule {spec!r}: the bound must be finite, got {raw}", 2)
        rule["min" if op == ">=" else "max"] = value
    return rules


@app.command()
def quality(
    input_path: InputArg,
    output: OutputOpt,
    rule: Annotated[
        list[str] | None,
        typer.Option(
            "--rule",
            help="Bound on a signal over the preset, repeatable: 'word_count>=100', "
            "'dup_line_fraction<=0.5', 'stop_word_count=off'.",
        ),
    ] = None,
    min_words: Annotated[float | None, typer.Option("--min-words", help="Fewest words (Gopher: 50).")] = None,
    max_words: Annotated[
        float | None, typer.Option("--max-words", help="Most words (Gopher: 100000).")
    ] = None,
    preset: Annotated[
        Preset | None,
        typer.Option(
            "--preset", help="Rules to start from: gopher (default with the engine signals) or none."
        ),
    ] = None,
    signals: Annotated[
        str | None,
        typer.Option(
            "--signals", help="'module:function' texts -> (matrix, names); default: engine Gopher signals."
        ),
    ] = None,
    text_field: TextFieldOpt = "text",
    id_field: IdFieldOpt = "id",
    ledger: LedgerOpt = None,
    report: ReportOpt = None,
    batch_size: BatchOpt = 10_000,
    skip_missing_text: MissingOpt = False,
    progress: ProgressOpt = True,
) -> None:
    """Keep documents whose quality signals pass the rules: by default the engine's 21 Gopher signals
    with Gopher's thresholds (Rae et al. 2021). The ledger names the rule, the value and the bound.
    """
    values = _io(input_path, output, ledger, report, text_field, id_field, skip_missing_text)
    rules = _parse_rules(rule or [])
    for key, value in (("min", min_words), ("max", max_words)):
        if value is not None:
            rules.setdefault("word_count", {})[key] = value
    values.update(
        batch_size=batch_size,
        progress=progress,
        quality={
            "enabled": True,
            "signals": signals,
            "preset": None if preset is None else preset.value,
            "rules": rules,
        },
        exact={"enabled": False},
        near={"enabled": False},
    )
    _run(_config(values))


@app.command()
def decontaminate(
    input_path: InputArg,
    output: OutputOpt,
    eval_files: Annotated[
        list[Path],
        typer.Option("--eval", help="Eval set file (JSONL, Parquet, datasets folder); repeatable."),
    ],
    mode: Annotated[
        ContaminationMode,
        typer.Option("--mode", help="ngram: GPT-3 n-gram overlap; coverage: Llama 2 token coverage."),
    ] = ContaminationMode.ngram,
    ngram: Annotated[int, typer.Option("--ngram", min=1, help="ngram: n-gram length in tokens.")] = 13,
    min_hits: Annotated[
        int, typer.Option("--min-hits", min=1, help="ngram: hits that make a document contaminated.")
    ] = 1,
    min_match: Annotated[int, typer.Option("--min-match", min=1, help="coverage: shortest match.")] = 10,
    max_mismatches: Annotated[
        int, typer.Option("--max-mismatches", min=0, help="coverage: differing tokens allowed in a match.")
    ] = 4,
    threshold: Annotated[
        float, typer.Option("--threshold", help="coverage: covered fraction that is 'dirty', in (0, 1].")
    ] = 0.8,
    coverage_of: Annotated[
        CoverageOf,
        typer.Option(
            "--coverage-of", help="coverage: fraction of the eval document's tokens, or the document's."
        ),
    ] = CoverageOf.eval,
    eval_text_field: Annotated[
        str, typer.Option("--eval-text-field", help="Text field of eval records.")
    ] = "text",
    eval_id_field: Annotated[str, typer.Option("--eval-id-field", help="Id field of eval records.")] = "id",
    text_field: TextFieldOpt = "text",
    id_field: IdFieldOpt = "id",
    ledger: LedgerOpt = None,
    report: ReportOpt = None,
    engine: Annotated[
        Engine, typer.Option("--engine", help="local, or ray (contamination computed on Ray Data).")
    ] = Engine.local,
    batch_size: BatchOpt = 10_000,
    skip_missing_text: MissingOpt = False,
    progress: ProgressOpt = True,
) -> None:
    """Remove documents that contain eval data; the ledger lists the eval documents each one matched."""
    if not (math.isfinite(threshold) and 0.0 < threshold <= 1.0):
        _fail(f"--threshold must be in (0, 1], got {threshold}", 2)
    for path in eval_files:
        if not path.exists():
            _fail(f"eval file {str(path)!r} does not exist")
    values = _io(input_path, output, ledger, report, text_field, id_field, skip_missing_text)
    values.update(
        batch_size=batch_size,
        progress=progress,
        engine=engine.value,
        exact={"enabled": False},
        near={"enabled": False},
        decontaminate={
            "enabled": True,
            "eval": [str(p) for p in eval_files],
            "text_field": eval_text_field,
            "id_field": eval_id_field or None,
            "mode": mode.value,
            "ngram": ngram,
            "min_hits": min_hits,
            "min_match": min_match,
            "max_mismatches": max_mismatches,
            "threshold": threshold,
            "coverage_of": coverage_of.value,
        },
    )
    _run(_config(values))


@app.command()
def pipeline(
    config: Annotated[Path, typer.Argument(help="Pipeline config (TOML or YAML).")],
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a setting: --set near.threshold=0.85")
    ] = None,
) -> None:
    """Run a whole pipeline: read -> normalise -> quality -> exact -> near -> substring -> decontaminate
    -> semantic -> write.
    """
    settings = _config({}, config, set_)
    if settings.input.path is None or settings.output.path is None:
        _fail("the config must set input.path and output.path")
    _run(settings)
