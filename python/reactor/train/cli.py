"""``reactor train sft|dpo --config FILE.toml [--set section.key=value ...] [--resume]``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from reactor.train.trainer import TrainResult

__all__ = ["app", "require_training_stack"]

app = typer.Typer(
    no_args_is_help=True, help="Fine-tune and align language models: SFT, DPO, RM, PPO, GRPO, RLOO, CAI."
)
console = Console()

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML/YAML file: [model] [data] [train] ...")
]
SetOption = Annotated[
    list[str] | None, typer.Option("--set", help="Override a setting: --set train.max_steps=50")
]
ResumeOption = Annotated[
    bool, typer.Option("--resume", help="Continue from the newest good checkpoint in train.output_dir.")
]


def require_training_stack() -> None:
    """A clear error when the ``train`` extra (torch, transformers) is not installed."""
    import importlib.util

    missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
    if missing:
        from reactor.errors import UnavailableError

        raise UnavailableError(
            f"training needs {', '.join(missing)}: pip install 'reactor[train]' (or run scripts/setup.sh)"
        )


def _report(result: TrainResult) -> None:
    shown = {k: v for k, v in result.metrics.items() if not k.startswith("step_")}
    for key in sorted(shown):
        console.print(f"  {key:28s} {shown[key]:.6g}")
    console.print(f"[bold green]done[/] step {result.state.step}; outputs in {result.output_dir}")


@app.command()
def dpo(config: ConfigOption = None, set_: SetOption = None, resume: ResumeOption = False) -> None:
    """Direct Preference Optimization on JSONL pairs {prompt, chosen, rejected}."""
    from reactor.train.config import DPOConfig, load_run_config, parse_overrides
    from reactor.train.runner import run_dpo

    require_training_stack()
    settings = load_run_config(DPOConfig, config, parse_overrides(set_ or []))
    _report(run_dpo(settings, resume=resume))


@app.command()
def sft(config: ConfigOption = None, set_: SetOption = None, resume: ResumeOption = False) -> None:
    """Supervised fine-tuning on JSONL {prompt, completion} or {messages}."""
    from reactor.train.config import SFTConfig, load_run_config, parse_overrides
    from reactor.train.runner import run_sft

    require_training_stack()
    settings = load_run_config(SFTConfig, config, parse_overrides(set_ or []))
    _report(run_sft(settings, resume=resume))


@app.command()
def rm(config: ConfigOption = None, set_: SetOption = None, resume: ResumeOption = False) -> None:
    """Bradley-Terry reward model on JSONL pairs {prompt, chosen, rejected[, margin]}."""
    from reactor.train.config import RewardModelConfig, load_run_config, parse_overrides
    from reactor.train.runner import run_reward_model

    require_training_stack()
    settings = load_run_config(RewardModelConfig, config, parse_overrides(set_ or []))
    _report(run_reward_model(settings, resume=resume))


@app.command()
def ppo(config: ConfigOption = None, set_: SetOption = None, resume: ResumeOption = False) -> None:
    """PPO-RLHF on JSONL prompts, scored by a reward model or a built-in reward."""
    from reactor.train.config import PPOConfig, load_run_config, parse_overrides
    from reactor.train.runner import run_ppo

    require_training_stack()
    settings = load_run_config(PPOConfig, config, parse_overrides(set_ or []))
    _report(run_ppo(settings, resume=resume))


@app.command()
def grpo(config: ConfigOption = None, set_: SetOption = None, resume: ResumeOption = False) -> None:
    """GRPO on JSONL prompts (groups of num_generations completions per prompt)."""
    from reactor.train.config import GRPOConfig, load_run_config, parse_overrides
    from reactor.train.runner import run_grpo

    require_training_stack()
    settings = load_run_config(GRPOConfig, config, parse_overrides(set_ or []))
    _report(run_grpo(settings, resume=resume))


@app.command()
def rloo(config: ConfigOption = None, set_: SetOption = None, resume: ResumeOption = False) -> None:
    """RLOO on JSONL prompts (leave-one-out baseline; its settings go in the grpo section)."""
    from reactor.train.config import GRPOConfig, load_run_config, parse_overrides
    from reactor.train.runner import run_rloo

    require_training_stack()
    settings = load_run_config(GRPOConfig, config, parse_overrides(set_ or []))
    _report(run_rloo(settings, resume=resume))


@app.command()
def cai(config: ConfigOption = None, set_: SetOption = None) -> None:
    """Constitutional AI data: SL-CAI revisions and RL-CAI preference pairs from a constitution."""
    from reactor.train.cai.config import load_cai_config
    from reactor.train.cai.runner import run_cai
    from reactor.train.config import parse_overrides

    settings = load_cai_config(config, parse_overrides(set_ or []))
    if settings.needs_torch:
        require_training_stack()
    result = run_cai(settings)
    for key, value in result.counts.items():
        console.print(f"  {key:28s} {value}")
    console.print(f"[bold green]done[/] in {result.seconds:.1f} s; outputs in {result.output_dir}")
