"""Constitutional AI (Bai et al. 2022): SL-CAI critique -> revision data and RL-CAI preference
pairs from AI feedback, with a local causal LM or an OpenAI-compatible endpoint as generator and
judge.

Quick use::

    from reactor.train.cai import Constitution, LocalModelBackend, rl_cai, sl_cai

    policy = LocalModelBackend(model, tokenizer)
    sft_set = sl_cai(policy, prompts, Constitution.default(), revisions=2, seed=0)
    pairs = rl_cai(policy, policy, prompts, Constitution.default(), principles_per_comparison=4)

or from the command line: ``reactor train cai --config cai.toml``. Nothing here needs torch
unless a local model is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reactor.train.cai.backends import (
        Backend,
        BackendError,
        LocalModelBackend,
        OpenAIBackend,
    )
    from reactor.train.cai.config import CAIConfig, load_cai_config
    from reactor.train.cai.constitution import Constitution, Principle
    from reactor.train.cai.pipeline import (
        feedback_prompt,
        read_prompts,
        render_conversation,
        rl_cai,
        sl_cai,
        write_jsonl,
    )
    from reactor.train.cai.runner import CAIResult, build_backend, run_cai

_HOMES = {
    "Backend": "backends",
    "BackendError": "backends",
    "LocalModelBackend": "backends",
    "OpenAIBackend": "backends",
    "CAIConfig": "config",
    "load_cai_config": "config",
    "Constitution": "constitution",
    "Principle": "constitution",
    "feedback_prompt": "pipeline",
    "read_prompts": "pipeline",
    "render_conversation": "pipeline",
    "rl_cai": "pipeline",
    "sl_cai": "pipeline",
    "write_jsonl": "pipeline",
    "CAIResult": "runner",
    "build_backend": "runner",
    "run_cai": "runner",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'reactor.train.cai' has no attribute {name!r}")
    return getattr(importlib.import_module(f"reactor.train.cai.{_HOMES[name]}"), name)


__all__ = [
    "Backend",
    "BackendError",
    "CAIConfig",
    "CAIResult",
    "Constitution",
    "LocalModelBackend",
    "OpenAIBackend",
    "Principle",
    "build_backend",
    "feedback_prompt",
    "load_cai_config",
    "read_prompts",
    "render_conversation",
    "rl_cai",
    "run_cai",
    "sl_cai",
    "write_jsonl",
]
