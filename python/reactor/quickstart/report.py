"""The quickstart's report: ``report.md`` with a PNG of the loss and held-out reward accuracy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reactor.atomic import atomic_write_text

__all__ = ["plot_training", "read_metrics", "write_report"]


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl``."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plot_training(records: list[dict[str, Any]], path: Path) -> None:
    """Training and held-out loss (left), held-out reward accuracy and margin (right)."""
    from reactor.bench.harness import _pyplot, _save_figure

    plt = _pyplot()
    train = [r for r in records if r["split"] == "train"]
    held = [r for r in records if r["split"] == "eval"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot([r["step"] for r in train], [r["loss"] for r in train], label="train", alpha=0.7)
    left.plot([r["step"] for r in held], [r["eval/loss"] for r in held], "o-", label="held-out")
    left.set(xlabel="step", ylabel="DPO loss", title="Loss")
    left.legend()
    right.plot(
        [r["step"] for r in held], [r["eval/rewards/accuracies"] for r in held], "o-", label="reward accuracy"
    )
    right.set(xlabel="step", ylabel="accuracy", ylim=(-0.02, 1.02), title="Held-out pairs")
    margins = right.twinx()
    margins.plot(
        [r["step"] for r in held], [r["eval/rewards/margins"] for r in held], "s--", color="tab:orange"
    )
    margins.set_ylabel("reward margin", color="tab:orange")
    right.legend(loc="lower right")
    fig.tight_layout()
    _save_figure(fig, path)


def write_report(path: Path, summary: dict[str, Any], plot_name: str) -> None:
    """``report.md`` from the run summary."""
    curation = summary["curation"]
    before, after = summary["heldout_before"], summary["heldout_after"]
    rules = ", ".join(f"{k} {v}" for k, v in sorted(curation["quality_rule_hits"].items())) or "none"
    lines = [
        "# Reactor quickstart report",
        "",
        f"Reactor {summary['reactor_version']}, seed {summary['seed']}, {summary['seconds']:.1f} s in all.",
        "",
        "## Data",
        "",
        "| step | records |",
        "|---|---:|",
        f"| generated corpus | {curation['input_records']} |",
        f"| removed by the quality filter (rules broken: {rules}) | {curation['quality_removed']} |",
        f"| removed as exact duplicates | {curation['exact_duplicates']} |",
        f"| removed as near-duplicates (MinHash) | {curation['near_duplicates']} |",
        f"| kept | {curation['kept']} |",
        f"| preference pairs: training / held-out | {summary['train_pairs']} / {summary['heldout_pairs']} |",
        "",
        "## Training",
        "",
        f"DPO ({summary['loss_type']}, beta {summary['beta']}) on a {summary['model']} model with "
        f"{summary['parameters']:,} parameters, {summary['steps']} steps of {summary['batch_size']} pairs, "
        f"{summary['train_seconds']:.1f} s, peak memory {summary['peak_memory_mb']:.0f} MB.",
        "",
        f"![loss and held-out accuracy]({plot_name})",
        "",
        "## Held-out pairs (prompts never seen in training)",
        "",
        "| metric | before | after |",
        "|---|---:|---:|",
        *(
            f"| {key} | {before[key]:.4f} | {after[key]:.4f} |"
            for key in (
                "eval/loss",
                "eval/rewards/accuracies",
                "eval/rewards/margins",
                "eval/logps/chosen",
                "eval/logps/rejected",
            )
        ),
        "",
        "Before training the policy equals the reference, so every reward is 0 and no pair counts as",
        "correct (accuracy uses a strict >); the loss starts at ln 2 = 0.6931.",
        "",
        "## Files",
        "",
        "- `metrics.jsonl`: one line per training step and evaluation",
        f"- `{summary['checkpoint']}`: the last checkpoint (model, optimizer, schedule, RNG, data position)",
        "- `model/`: the trained model (`transformers.AutoModelForCausalLM.from_pretrained`)",
        "- `data/`: curated training and held-out pairs, `curation.json`",
        "",
    ]
    atomic_write_text(path, "\n".join(lines))
