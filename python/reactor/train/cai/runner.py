"""Run the CAI pipeline from a :class:`~reactor.train.cai.config.CAIConfig`: build the backends,
read the prompts and constitution, write ``sl_cai.jsonl``, ``rl_cai.jsonl`` and ``summary.json``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reactor.atomic import atomic_write_text
from reactor.errors import InvalidArgumentError
from reactor.train.cai.backends import Backend, LocalModelBackend, OpenAIBackend
from reactor.train.cai.config import BackendConfig, CAIConfig
from reactor.train.cai.constitution import Constitution
from reactor.train.cai.pipeline import read_prompts, rl_cai, sl_cai, write_jsonl

__all__ = ["CAIResult", "build_backend", "run_cai"]


@dataclass
class CAIResult:
    """What a CAI run wrote."""

    output_dir: Path
    sl_path: Path | None = None
    rl_path: Path | None = None
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _device(name: str) -> Any:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidArgumentError(f"[train.cai] device {name!r}: CUDA is not available")
    return device


def build_backend(config: BackendConfig) -> Backend:
    """The backend a config section names (a local model is loaded onto its device)."""
    if config.backend == "openai":
        assert config.base_url is not None and config.model is not None  # checked by the config
        api_key = os.environ.get(config.api_key_env) if config.api_key_env else None
        return OpenAIBackend(
            config.base_url,
            config.model,
            api_key=api_key,
            timeout=config.timeout,
            max_retries=config.max_retries,
            batch_size=config.batch_size,
            top_logprobs=config.top_logprobs,
        )
    from transformers.utils import logging as hf_logging

    from reactor.train.config import ModelConfig
    from reactor.train.models import build_model, build_tokenizer

    hf_logging.disable_progress_bar()  # loading a local checkpoint: a bar is noise

    assert config.model_dir is not None
    model_config = ModelConfig(pretrained=config.model_dir)
    tokenizer = build_tokenizer(model_config)
    model = build_model(model_config, tokenizer, seed=0)
    return LocalModelBackend(
        model,
        tokenizer,
        _device(config.device),
        batch_size=config.batch_size,
        max_prompt_tokens=config.max_prompt_tokens,
    )


def run_cai(config: CAIConfig) -> CAIResult:
    """SL-CAI and/or RL-CAI as configured; outputs under ``data.output_dir``."""
    started = time.perf_counter()
    prompts = read_prompts(config.data.prompts)
    if config.data.limit is not None:
        prompts = prompts[: config.data.limit]
    constitution = (
        Constitution.load(config.data.constitution)
        if config.data.constitution is not None
        else Constitution.default()
    )
    out = config.data.output_dir
    atomic_write_text(out / "config.json", json.dumps(config.model_dump(mode="json"), indent=2))
    generator = build_backend(config.generator)
    judge = (
        generator if config.judge is None or config.judge == config.generator else build_backend(config.judge)
    )
    sampling = config.sampling
    result = CAIResult(output_dir=out, counts={"prompts": len(prompts)})
    if config.sl.enabled:
        sft = sl_cai(
            generator,
            prompts,
            constitution,
            revisions=config.sl.revisions,
            seed=sampling.seed,
            max_new_tokens=sampling.max_new_tokens,
            temperature=sampling.temperature,
            critique_max_new_tokens=sampling.critique_max_new_tokens,
            keep_unrevised=config.sl.keep_unrevised,
        )
        result.sl_path = write_jsonl(out / "sl_cai.jsonl", sft)
        result.counts["sl_examples"] = len(sft)
    if config.rl.enabled:
        pairs = rl_cai(
            generator,
            judge,
            prompts,
            constitution,
            principles_per_comparison=config.rl.principles_per_comparison,
            seed=sampling.seed,
            max_new_tokens=sampling.max_new_tokens,
            temperature=sampling.temperature,
            min_margin=config.rl.min_margin,
            order=config.rl.order,
        )
        result.rl_path = write_jsonl(out / "rl_cai.jsonl", pairs)
        result.counts["rl_pairs"] = len(pairs)
    result.seconds = time.perf_counter() - started
    summary = {
        "counts": result.counts,
        "constitution": constitution.source,
        "principles": list(constitution.names()),
        "seconds": round(result.seconds, 3),
        "sl_cai": str(result.sl_path) if result.sl_path else None,
        "rl_cai": str(result.rl_path) if result.rl_path else None,
    }
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    return result
