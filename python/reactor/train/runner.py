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


def _finish(
    trainer: DPOTrainer | SFTTrainer, tokenizer: Tokenizer, config: DPOConfig | SFTConfig, resume: bool
) -> TrainResult:
    if trainer.context.is_main:
        dumped = json.dumps(config.model_dump(mode="json"), indent=2)
        atomic_write_text(config.train.output_dir / "config.json", dumped)
    result = trainer.train(resume=resume)
    gathered = full_model_state(trainer.wrapped)  # collective under FSDP
    if trainer.context.is_main:
        export_model(trainer.model, config.train.output_dir / "model", gathered, tokenizer)
    return result


def run_dpo(config: DPOConfig, *, resume: bool = False, callbacks: Sequence[Callback] = ()) -> TrainResult:
    """DPO from ``config`` (``data.train`` and optional ``data.eval`` hold preference pairs)."""
    tokenizer = build_tokenizer(config.model)
    model = build_model(config.model, tokenizer, seed=config.train.seed)
    trainer = DPOTrainer(
        model,
        tokenizer,
        _records(config.data.train, "train", _DPO_FIELDS),
        eval_pairs=_records(config.data.eval, "eval", _DPO_FIELDS),
        config=config,
        callbacks=callbacks,
    )
    return _finish(trainer, tokenizer, config, resume)


def run_sft(config: SFTConfig, *, resume: bool = False, callbacks: Sequence[Callback] = ()) -> TrainResult:
    """SFT from ``config`` (``data.train`` and optional ``data.eval`` hold prompt/completion or messages)."""
    tokenizer = build_tokenizer(config.model)
    model = build_model(config.model, tokenizer, seed=config.train.seed)
    trainer = SFTTrainer(
        model,
        tokenizer,
        _records(config.data.train, "train", ()),
        eval_examples=_records(config.data.eval, "eval", ()),
        config=config,
        callbacks=callbacks,
    )
    return _finish(trainer, tokenizer, config, resume)


def run_reward_model(
    config: RewardModelConfig, *, resume: bool = False, callbacks: Sequence[Callback] = ()
) -> TrainResult:
    """Bradley-Terry reward model from ``config`` (``data.train``: pairs, optional ``margin``)."""
    from reactor.train.reward_model import RewardTrainer, build_reward_model

    tokenizer = build_tokenizer(config.model)
    model = build_reward_model(config.model, tokenizer, seed=config.train.seed)
    trainer = RewardTrainer(
        model,
        tokenizer,
        _records(config.data.train, "train", _DPO_FIELDS),
        eval_pairs=_records(config.data.eval, "eval", _DPO_FIELDS),
        config=config,
        callbacks=callbacks,
    )
    return _finish(trainer, tokenizer, config, resume)


def _run_online(
    kind: str, config: PPOConfig | GRPOConfig, resume: bool, callbacks: Sequence[Callback]
) -> TrainResult:
    from reactor.train.grpo import GRPOTrainer, RLOOTrainer
    from reactor.train.ppo import PPOTrainer

    tokenizer = build_tokenizer(config.model)
    policy = build_model(config.model, tokenizer, seed=config.train.seed)
    trainer_class: Any = {"ppo": PPOTrainer, "grpo": GRPOTrainer, "rloo": RLOOTrainer}[kind]
    trainer = trainer_class(
        policy,
        tokenizer,
        _records(config.data.train, "train", ("prompt",)),
        eval_prompts=_records(config.data.eval, "eval", ("prompt",)),
        config=config,
        callbacks=callbacks,
    )
    if trainer.context.is_main:
        dumped = json.dumps(config.model_dump(mode="json"), indent=2)
        atomic_write_text(config.train.output_dir / "config.json", dumped)
    result = trainer.train(resume=resume)
    if trainer.context.is_main:  # the policy alone, loadable as model.pretrained of a later run
        export_model(trainer.policy_model(), config.train.output_dir / "model", None, tokenizer)
    return result


def run_ppo(config: PPOConfig, *, resume: bool = False, callbacks: Sequence[Callback] = ()) -> TrainResult:
    """PPO-RLHF from ``config`` (``data.train``: prompts)."""
    return _run_online("ppo", config, resume, callbacks)


def run_grpo(config: GRPOConfig, *, resume: bool = False, callbacks: Sequence[Callback] = ()) -> TrainResult:
    """GRPO from ``config`` (``data.train``: prompts)."""
    return _run_online("grpo", config, resume, callbacks)


def run_rloo(config: GRPOConfig, *, resume: bool = False, callbacks: Sequence[Callback] = ()) -> TrainResult:
    """RLOO from ``config`` (``data.train``: prompts; the ``[grpo]`` section holds its settings)."""
    return _run_online("rloo", config, resume, callbacks)
