"""The quickstart, Reactor's main job end to end on a laptop CPU in about a minute:

generate a corpus of assistant replies -> curate it (quality filter, exact and MinHash
near-duplicate removal) -> build preference pairs -> DPO-train a tiny Llama-style model ->
evaluate on held-out prompts -> write ``metrics.jsonl``, a checkpoint, the model and ``report.md``
with a PNG plot into the output directory (default ``runs/quickstart``).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import Field
from rich.console import Console

import reactor
from reactor.atomic import atomic_write_text
from reactor.quickstart.corpus import generate_corpus
from reactor.quickstart.curate import curate
from reactor.quickstart.pairs import build_pairs, split_by_prompt
from reactor.quickstart.report import plot_training, read_metrics, write_report
from reactor.train.config import DPOConfig, Section, TrainConfig, load_run_config

__all__ = ["QuickstartConfig", "QuickstartSettings", "load_quickstart_config", "run_quickstart"]


class QuickstartSettings(Section):
    """The data side of the quickstart."""

    num_prompts: int = Field(default=400, ge=10, description="Distinct prompts in the generated corpus.")
    heldout_fraction: float = Field(default=0.2, gt=0, lt=1)
    near_duplicate_threshold: float = Field(default=0.5, gt=0, le=1)


# The quickstart's own training defaults; a config file or --set changes any of them.
TRAIN_DEFAULTS: dict[str, Any] = {
    "output_dir": "runs/quickstart",
    "max_steps": 60,
    "batch_size": 16,
    "learning_rate": 2e-3,
    "warmup_steps": 5,
    "eval_every": 10,
    "checkpoint_every": 20,
}


class QuickstartConfig(DPOConfig):
    """DPO settings (``[model]``, ``[train]``, ``[dpo]``) plus ``[quickstart]``."""

    quickstart: QuickstartSettings = Field(default_factory=QuickstartSettings)
    train: TrainConfig = Field(default_factory=lambda: TrainConfig(**TRAIN_DEFAULTS))


def load_quickstart_config(
    path: Path | None, out: Path | None, overrides: dict[str, Any] | None = None
) -> QuickstartConfig:
    """Defaults < ``path`` (TOML/YAML) < overrides < ``out`` (the output directory)."""
    extra = dict(overrides or {})
    if out is not None:
        extra.setdefault("train", {})["output_dir"] = str(out)
    return load_run_config(QuickstartConfig, path, extra, defaults={"train": TRAIN_DEFAULTS})


def _clear_previous_outputs(directory: Path) -> None:
    for name in ("checkpoints", "model", "data", "tensorboard"):
        shutil.rmtree(directory / name, ignore_errors=True)
    for pattern in ("metrics.jsonl", "report.md", "training.png", "summary.json", "reference_logps-*.pt"):
        for file in directory.glob(pattern):
            file.unlink()


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in records))


def run_quickstart(config: QuickstartConfig, console: Console | None = None) -> dict[str, Any]:
    """Run the pipeline; returns the summary also written to ``summary.json``."""
    from reactor.train import DPOTrainer, build_model, build_tokenizer
    from reactor.train.runner import export_model

    console = console or Console()
    started = time.perf_counter()
    out = config.train.output_dir
    out.mkdir(parents=True, exist_ok=True)
    _clear_previous_outputs(out)
    seed = config.train.seed

    console.print(
        f"[bold]1/4 corpus[/]: generating replies to {config.quickstart.num_prompts} prompts (seed {seed})"
    )
    corpus = generate_corpus(config.quickstart.num_prompts, seed)
    kept, curation = curate(
        corpus, near_duplicate_threshold=config.quickstart.near_duplicate_threshold, seed=seed + 1
    )
    console.print(
        f"[bold]2/4 curation[/]: {curation.input_records} records -> {curation.kept} kept "
        f"(quality {curation.quality_removed}, exact dup {curation.exact_duplicates}, "
        f"near dup {curation.near_duplicates})"
    )
    train_pairs, heldout_pairs = split_by_prompt(build_pairs(kept), config.quickstart.heldout_fraction, seed)
    _write_jsonl(out / "data" / "train.jsonl", train_pairs)
    _write_jsonl(out / "data" / "heldout.jsonl", heldout_pairs)
    atomic_write_text(out / "data" / "curation.json", json.dumps(asdict(curation), indent=2))

    console.print(f"[bold]3/4 DPO[/]: {len(train_pairs)} training pairs, {len(heldout_pairs)} held-out")
    tokenizer = build_tokenizer(config.model)
    model = build_model(config.model, tokenizer, seed=seed)
    trainer = DPOTrainer(model, tokenizer, train_pairs, eval_pairs=heldout_pairs, config=config)
    before = trainer.evaluate()
    train_started = time.perf_counter()
    result = trainer.train()
    train_seconds = time.perf_counter() - train_started
    after = {key: value for key, value in result.metrics.items() if key.startswith("eval/")}
    export_model(trainer.model, out / "model", tokenizer=tokenizer)

    console.print("[bold]4/4 report[/]")
    plot_training(read_metrics(out / "metrics.jsonl"), out / "training.png")
    summary: dict[str, Any] = {
        "reactor_version": reactor.__version__,
        "seed": seed,
        "curation": asdict(curation),
        "train_pairs": len(train_pairs),
        "heldout_pairs": len(heldout_pairs),
        "model": config.model.arch,
        "parameters": sum(p.numel() for p in trainer.model.parameters()),
        "loss_type": config.dpo.loss_type,
        "beta": config.dpo.beta,
        "steps": result.state.step,
        "batch_size": config.train.batch_size,
        "train_seconds": train_seconds,
        "peak_memory_mb": result.peak_memory_mb,
        "heldout_before": before,
        "heldout_after": after,
        "checkpoint": str(result.checkpoint.relative_to(out)) if result.checkpoint else None,
        "seconds": time.perf_counter() - started,
    }
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    write_report(out / "report.md", summary, "training.png")
    console.print(
        "held-out reward accuracy "
        f"{before['eval/rewards/accuracies']:.2f} -> {after['eval/rewards/accuracies']:.2f}, "
        f"loss {before['eval/loss']:.4f} -> {after['eval/loss']:.4f}"
    )
    console.print(f"[bold green]done[/] in {summary['seconds']:.1f} s: see {out / 'report.md'}")
    return summary
