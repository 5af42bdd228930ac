"""Configuration of the trainers: one pydantic model per section, filled from a TOML/YAML file
and ``--set section.key=value`` overrides. Invalid values fail at load time with the field path.

A DPO config file looks like::

    [model]
    arch = "llama"
    hidden_size = 64

    [data]
    train = "pairs.jsonl"

    [train]
    max_steps = 200
    batch_size = 16

    [dpo]
    beta = 0.1
    loss_type = "sigmoid"
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reactor.config import read_config_file
from reactor.errors import ConfigError

__all__ = [
    "DPOConfig",
    "DPOSettings",
    "DataConfig",
    "GRPOConfig",
    "GRPOSettings",
    "ModelConfig",
    "PPOConfig",
    "PPOSettings",
    "RewardModelConfig",
    "RewardModelSettings",
    "RolloutSettings",
    "SFTConfig",
    "SFTSettings",
    "Section",
    "TrainConfig",
    "load_run_config",
    "parse_overrides",
]


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelConfig(Section):
    """The model: a tiny transformer built from a config, or a local Hugging Face checkpoint."""

    arch: Literal["llama", "gpt2"] = "llama"
    pretrained: Path | None = Field(
        default=None, description="Local directory of a Hugging Face causal LM (nothing is downloaded)."
    )
    hidden_size: int = Field(default=64, ge=8)
    num_layers: int = Field(default=2, ge=1)
    num_heads: int = Field(default=4, ge=1)
    intermediate_size: int = Field(default=256, ge=8)
    max_positions: int = Field(default=256, ge=8)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _heads_divide_width(self) -> ModelConfig:
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_heads ({self.num_heads})"
            )
        return self


class DataConfig(Section):
    """Where the examples come from (JSON Lines files) and how long a sequence may be."""

    train: Path | None = Field(default=None, description="JSONL training set.")
    eval: Path | None = Field(default=None, description="JSONL evaluation set (optional).")
    max_length: int = Field(default=128, ge=4, description="Longest tokenised prompt + completion.")
    max_prompt_length: int = Field(default=64, ge=1, description="Prompts are cut to this many tokens.")


class TrainConfig(Section):
    """The training loop shared by every trainer."""

    seed: int = Field(default=0, ge=0)
    output_dir: Path = Path("runs/train")
    max_steps: int = Field(default=100, ge=1, description="Optimizer steps.")
    batch_size: int = Field(default=16, ge=1, description="Examples per optimizer step, all ranks together.")
    micro_batch_size: int | None = Field(
        default=None, ge=1, description="Examples per forward pass on one rank; default: the whole share."
    )
    auto_micro_batch: bool = Field(
        default=True, description="On out-of-memory, halve the micro-batch and accumulate more."
    )
    learning_rate: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=0.0, ge=0)
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = Field(default=1e-8, gt=0)
    max_grad_norm: float | None = Field(default=1.0, gt=0)
    lr_schedule: Literal["constant", "linear", "cosine"] = "cosine"
    warmup_steps: int = Field(default=0, ge=0)
    precision: Literal["auto", "fp32", "bf16"] = Field(
        default="auto", description="auto: bf16 autocast on a GPU that supports it, float32 otherwise."
    )
    gradient_checkpointing: bool = False
    eval_every: int | None = Field(default=None, ge=1, description="Evaluate every N steps (and at the end).")
    early_stopping_patience: int | None = Field(
        default=None, ge=1, description="Stop after this many evaluations without improvement."
    )
    metric_for_best: str = "eval/loss"
    greater_is_better: bool = False
    checkpoint_every: int | None = Field(default=None, ge=1, description="Checkpoint every N steps.")
    keep_checkpoints: int = Field(default=2, ge=1)
    log_every: int = Field(default=1, ge=1)
    tensorboard: bool = False
    progress: bool = True
    device: str = Field(default="auto", description="auto, cpu, cuda or cuda:N.")
    strategy: Literal["auto", "ddp", "fsdp"] = Field(
        default="auto", description="Under torchrun: auto = DDP, or FSDP2 (parameters sharded across ranks)."
    )

    @model_validator(mode="after")
    def _warmup_fits(self) -> TrainConfig:
        if self.warmup_steps > self.max_steps:
            raise ValueError(f"warmup_steps ({self.warmup_steps}) exceeds max_steps ({self.max_steps})")
        return self


class DPOSettings(Section):
    """The DPO objective (Rafailov et al. 2023) and its reference model."""

    beta: float = Field(default=0.1, gt=0)
    loss_type: Literal["sigmoid", "ipo", "hinge", "robust", "cdpo"] = "sigmoid"
    label_smoothing: float = Field(default=0.0, ge=0.0, lt=0.5)
    reference: Literal["copy", "offload", "precompute"] = Field(
        default="copy",
        description="copy: frozen copy beside the policy; offload: frozen copy kept on the CPU; "
        "precompute: reference log-probs computed once, cached to disk, no model kept.",
    )


class SFTSettings(Section):
    """Supervised fine-tuning options."""

    completion_only_loss: bool = Field(default=True, description="Mask the prompt out of the loss.")
    packing: bool = Field(default=False, description="Pack several examples into one sequence.")


class RolloutSettings(Section):
    """How completions are sampled during online training."""

    max_new_tokens: int = Field(default=24, ge=1, description="Response length limit.")
    temperature: float = Field(default=1.0, gt=0)
    reward: Literal["model", "token_frequency", "target_length"] = Field(
        default="model",
        description="The reward model at reward_model, or a built-in programmatic reward.",
    )
    reward_model: Path | None = Field(default=None, description="A reward model directory (train rm).")
    reward_token: str = Field(default="a", description="token_frequency: the rewarded character.")
    target_length: int = Field(default=12, ge=1, description="target_length: the rewarded response length.")


class PPOSettings(Section):
    """PPO-RLHF (Ziegler et al. 2019; TRL's defaults where they exist)."""

    kl_coef: float = Field(default=0.05, ge=0)
    kl_estimator: Literal["k1", "k3"] = "k1"
    adaptive_kl: bool = Field(default=False, description="Ziegler et al.'s proportional KL controller.")
    kl_target: float = Field(default=6.0, gt=0)
    kl_horizon: int = Field(default=10000, ge=1)
    cliprange: float = Field(default=0.2, gt=0)
    cliprange_value: float = Field(default=0.2, gt=0)
    vf_coef: float = Field(default=0.1, ge=0)
    gamma: float = Field(default=1.0, ge=0, le=1)
    lam: float = Field(default=0.95, ge=0, le=1)
    whiten_advantages: bool = True
    num_ppo_epochs: int = Field(default=4, ge=1)
    num_mini_batches: int = Field(default=1, ge=1)
    missing_eos_penalty: float | None = None


class GRPOSettings(Section):
    """GRPO (Shao et al. 2024) and RLOO (Ahmadian et al. 2024) on groups of completions per prompt."""

    num_generations: int = Field(default=8, ge=2, description="Completions per prompt (the group).")
    beta: float = Field(default=0.0, ge=0, description="KL weight (0: no reference model).")
    epsilon: float = Field(default=0.2, gt=0, description="Lower clip range (and upper unless epsilon_high).")
    epsilon_high: float | None = Field(default=None, gt=0, description="Upper clip range (DAPO: 0.28).")
    loss_type: Literal["grpo", "bnpo", "dr_grpo", "dapo"] = "dapo"
    scale_rewards: Literal["group", "batch", "none"] = "group"
    num_iterations: int = Field(default=1, ge=1, description="Updates per batch of completions (mu).")
    num_mini_batches: int = Field(default=1, ge=1)


class _RunConfig(Section):
    model: ModelConfig = Field(default_factory=ModelConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)


ConfigT = TypeVar("ConfigT", bound=BaseModel)


class DPOConfig(_RunConfig):
    """Everything ``reactor train dpo`` reads: ``[model]``, ``[data]``, ``[train]``, ``[dpo]``."""

    dpo: DPOSettings = Field(default_factory=DPOSettings)


class SFTConfig(_RunConfig):
    """Everything ``reactor train sft`` reads: ``[model]``, ``[data]``, ``[train]``, ``[sft]``."""

    sft: SFTSettings = Field(default_factory=SFTSettings)


class RewardModelSettings(Section):
    """Bradley-Terry reward modelling."""

    center_rewards_coefficient: float | None = Field(
        default=None,
        ge=0,
        description="Weight of mean((r_chosen + r_rejected)^2) (Eisenstein et al. 2023: 0.01).",
    )


class RewardModelConfig(_RunConfig):
    """``reactor train rm``: ``[model] [data] [train] [rm]``; data: pairs with an optional margin."""

    rm: RewardModelSettings = Field(default_factory=RewardModelSettings)


class _OnlineConfig(_RunConfig):
    rollout: RolloutSettings = Field(default_factory=RolloutSettings)


class PPOConfig(_OnlineConfig):
    """``reactor train ppo``: ``[model] [data] [train] [rollout] [ppo]``; data holds prompts."""

    ppo: PPOSettings = Field(default_factory=PPOSettings)


class GRPOConfig(_OnlineConfig):
    """``reactor train grpo`` / ``rloo``: ``[model] [data] [train] [rollout] [grpo]``; data holds prompts."""

    grpo: GRPOSettings = Field(default_factory=GRPOSettings)


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["train.max_steps=10", "dpo.beta=0.2"]`` -> nested dict; values parsed as TOML scalars."""
    import tomllib

    nested: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects section.key=value, got {pair!r}")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw  # a bare string such as a path
        *parents, leaf = key.strip().split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {part!r} is a value, not a section")
        node[leaf] = value
    return nested


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


_RUN_PATHS = (("data", "train"), ("data", "eval"), ("model", "pretrained"))


def load_run_config(
    model: type[ConfigT],
    path: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    defaults: dict[str, Any] | None = None,
    relative_paths: tuple[tuple[str, str], ...] = _RUN_PATHS,
) -> ConfigT:
    """Build a config from ``defaults`` < a TOML/YAML file < ``overrides``, merged section by
    section. The ``(section, key)`` paths in ``relative_paths`` are resolved against the file's
    directory when relative. Errors name the field path.
    """
    values: dict[str, Any] = {}
    if path is not None:
        values = read_config_file(path)
        base = Path(path).resolve().parent
        for section, key in relative_paths:
            table = values.get(section)
            raw = table.get(key) if isinstance(table, dict) else None
            if isinstance(raw, str) and not Path(raw).is_absolute():
                table[key] = str(base / raw)
    values = _merge(_merge(defaults or {}, values), overrides or {})
    try:
        return model.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or '<root>'}: {issue['msg']}"
            + (f" (got {issue['input']!r})" if issue["type"] != "missing" else "")
            for issue in error.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from error
