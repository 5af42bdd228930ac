"""Run a trainer from a config: read the data, build the tokenizer and model, train, and export
the final model (``output_dir/model``, Hugging Face format) next to the metrics and checkpoints.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from reactor.atomic import atomic_directory, atomic_write_text
from reactor.errors import InvalidArgumentError
from reactor.train.callbacks import Callback
from reactor.train.config import DPOConfig, GRPOConfig, PPOConfig, RewardModelConfig, SFTConfig
from reactor.train.data import read_jsonl
from reactor.train.distributed import full_model_state
from reactor.train.dpo import DPOTrainer
from reactor.train.models import BYTE_TOKENIZER_MARKER, build_model, build_tokenizer
from reactor.train.sft import SFTTrainer
from reactor.train.tokenizer import ByteTokenizer, HFTokenizer, Tokenizer
from reactor.train.trainer import TrainResult

__all__ = ["export_model", "run_dpo", "run_grpo", "run_ppo", "run_reward_model", "run_rloo", "run_sft"]

_DPO_FIELDS = ("prompt", "chosen", "rejected")


def export_model(
    model: nn.Module,
    directory: Path,
    state_dict: dict[str, Any] | None = None,
    tokenizer: Tokenizer | None = None,
) -> Path:
    """Save the trained weights where ``AutoModelForCausalLM.from_pretrained`` reads them (atomically),
    with the tokenizer, so the directory can be ``model.pretrained`` of the next run.

    ``state_dict`` replaces the model's own (the gathered full state of an FSDP-sharded model).
    """
    inner = getattr(model, "module", model)
    if hasattr(inner, "save_pretrained"):
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # one tiny shard: a bar is noise

        def fill(tmp: Path) -> None:
            inner.save_pretrained(str(tmp), state_dict=state_dict)
            if isinstance(tokenizer, ByteTokenizer):
                (tmp / BYTE_TOKENIZER_MARKER).write_text(
                    json.dumps({"type": "byte", "vocab_size": tokenizer.vocab_size})
                )
            elif isinstance(tokenizer, HFTokenizer):
                tokenizer.save(tmp)

        return atomic_directory(directory, fill)
    import torch

    weights = state_dict if state_dict is not None else inner.state_dict()
    return atomic_directory(directory, lambda tmp: torch.save(weights, tmp / "model.pt"))


def _records(path: Path | None, name: str, required: Sequence[str]) -> list[dict[str, Any]]:
    if path is None:
        if name == "train":
            raise InvalidArgumentError("[train.data] data.train: set the path of a JSONL training set")
        return []
    return read_jsonl(path, required)


def _run(kind: str, config: Any, resume: bool, callbacks: Sequence[Callback]) -> TrainResult:
    """Build the tokenizer, model and trainer of ``kind`` from ``config``, train, export the model."""
    from reactor.train.grpo import GRPOTrainer, RLOOTrainer
    from reactor.train.ppo import PPOTrainer
    from reactor.train.reward_model import RewardTrainer, build_reward_model

    # kind -> (trainer, its evaluation-set keyword, required record fields, model builder)
    kinds: dict[str, tuple[Any, str, tuple[str, ...], Any]] = {
        "sft": (SFTTrainer, "eval_examples", (), build_model),
        "dpo": (DPOTrainer, "eval_pairs", _DPO_FIELDS, build_model),
        "rm": (RewardTrainer, "eval_pairs", _DPO_FIELDS, build_reward_model),
        "ppo": (PPOTrainer, "eval_prompts", ("prompt",), build_model),
        "grpo": (GRPOTrainer, "eval_prompts", ("prompt",), build_model),
        "rloo": (RLOOTrainer, "eval_prompts", ("prompt",), build_model),
    }
    trainer_class, eval_keyword, fields, builder = kinds[kind]
    tokenizer = build_tokenizer(config.model)
    trainer = trainer_class(
        builder(config.model, tokenizer, seed=config.train.seed),
        tokenizer,
        _records(config.data.train, "train", fields),
        config=config,
        callbacks=callbacks,
        **{eval_keyword: _records(config.data.eval, "eval", fields)},
    )
    if trainer.context.is_main:
        dumped = json.dumps(config.model_dump(mode="json"), indent=2)
        atomic_write_text(config.train.output_dir / "config.json", dumped)
    result = trainer.train(resume=resume)
    gathered = full_model_state(trainer.wrapped)  # collective under FSDP
    if trainer.context.is_main:  # for PPO the policy alone: loadable as model.pretrained of a later run
        export_model(trainer.policy_model(), config.train.output_dir / "model", gathered, tokenizer)
    return result


def run_sft(config: SFTConfig, *, resume: bool = False, callbacks: Sequence[Callback] = ()) -> TrainResult:
    """SFT from ``config`` (``data.train`` and optional ``data.eval`` hold prompt/completion or messages)."""
    return _run("sft", config, resume, callbacks)


def run_dpo(config: DPOConfig, *, resume: bool = False, callbacks: Sequence[Callback] = ()) -> TrainResult:
    """DPO from ``config`` (``data.train`` and optional ``data.eval`` hold preference pairs)."""
    return _run("dpo", config, resume, callbacks)


def run_reward_model(
    config: RewardModelConfig, *, resume: bool = False, callbacks: Sequence[Callback] = ()
) -> TrainResult:
    """Bradley-Terry reward model from ``config`` (``data.train``: pairs, optional ``margin``)."""
    return _run("rm", config, resume, callbacks)


def run_ppo(config: PPOConfig, *, resume: bool = False, callbacks: Sequence[Callback] = ()) -> TrainResult:
    """PPO-RLHF from ``config`` (``data.train``: prompts)."""
    return _run("ppo", config, resume, callbacks)


def run_grpo(config: GRPOConfig, *, resume: bool = False, callbacks: Sequence[Callback] = ()) -> TrainResult:
    """GRPO from ``config`` (``data.train``: prompts)."""
    return _run("grpo", config, resume, callbacks)


def run_rloo(config: GRPOConfig, *, resume: bool = False, callbacks: Sequence[Callback] = ()) -> TrainResult:
    """RLOO from ``config`` (``data.train``: prompts; the ``[grpo]`` section holds its settings)."""
    return _run("rloo", config, resume, callbacks)
