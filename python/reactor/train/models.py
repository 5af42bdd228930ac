"""Models the trainers accept: Hugging Face causal LMs (built from a config, or loaded from a local
directory) and plain torch modules that map ``input_ids`` [B, T] to logits [B, T, V].
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import torch
from torch import nn

from reactor.errors import InvalidArgumentError
from reactor.train.config import ModelConfig
from reactor.train.tokenizer import ByteTokenizer, HFTokenizer, Tokenizer

__all__ = [
    "BYTE_TOKENIZER_MARKER",
    "build_model",
    "build_tokenizer",
    "causal_lm_logits",
    "enable_gradient_checkpointing",
]


BYTE_TOKENIZER_MARKER = "reactor_tokenizer.json"  # written next to exported models that use ByteTokenizer


def build_tokenizer(config: ModelConfig) -> Tokenizer:
    """The byte tokenizer for a model built from a config (or exported by Reactor with it); the
    checkpoint's own Hugging Face tokenizer for any other local model directory.
    """
    if config.pretrained is None:
        return ByteTokenizer()
    marker = config.pretrained / BYTE_TOKENIZER_MARKER
    if marker.is_file() and json.loads(marker.read_text()).get("type") == "byte":
        return ByteTokenizer()
    return HFTokenizer(config.pretrained)


def build_model(config: ModelConfig, tokenizer: Tokenizer, *, seed: int) -> nn.Module:
    """A causal LM from ``config``: weights initialised from ``seed``, or loaded from ``pretrained``."""
    import transformers

    if config.pretrained is not None:
        if not config.pretrained.is_dir():
            raise InvalidArgumentError(
                f"[train.model] model.pretrained: {str(config.pretrained)!r} is not a directory"
            )
        return transformers.AutoModelForCausalLM.from_pretrained(
            str(config.pretrained), local_files_only=True
        )
    common = {
        "vocab_size": tokenizer.vocab_size,
        "bos_token_id": tokenizer.bos_id,
        "eos_token_id": tokenizer.eos_id,
        "pad_token_id": tokenizer.pad_id,
        "attn_implementation": "eager",
    }
    if config.arch == "llama":
        hf_config: Any = transformers.LlamaConfig(
            hidden_size=config.hidden_size,
            intermediate_size=config.intermediate_size,
            num_hidden_layers=config.num_layers,
            num_attention_heads=config.num_heads,
            num_key_value_heads=config.num_heads,
            max_position_embeddings=config.max_positions,
            attention_dropout=config.dropout,
            **common,
        )
        model_class: Any = transformers.LlamaForCausalLM
    else:
        hf_config = transformers.GPT2Config(
            n_embd=config.hidden_size,
            n_inner=config.intermediate_size,
            n_layer=config.num_layers,
            n_head=config.num_heads,
            n_positions=config.max_positions,
            resid_pdrop=config.dropout,
            embd_pdrop=config.dropout,
            attn_pdrop=config.dropout,
            **common,
        )
        model_class = transformers.GPT2LMHeadModel
    # Initialise from a private generator so building a model does not move the global RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return model_class(hf_config)


def causal_lm_logits(
    model: nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    position_ids: torch.Tensor | None = None,
) -> torch.Tensor:
    """Logits [B, T, V] from a Hugging Face causal LM (also DDP/FSDP-wrapped) or a plain module.

    ``attention_mask`` is [B, T] (1 = token, 0 = padding) or an additive float [B, 1, T, T] mask
    (used by sequence packing); a plain module receives only ``input_ids``.
    """
    inner = getattr(model, "module", model)
    if hasattr(inner, "config") and hasattr(inner, "get_input_embeddings"):
        kwargs: dict[str, Any] = {"input_ids": input_ids, "use_cache": False}
        if attention_mask is not None:
            kwargs["attention_mask"] = attention_mask
        if position_ids is not None:
            kwargs["position_ids"] = position_ids
        return model(**kwargs).logits
    output = model(input_ids)
    logits = getattr(output, "logits", output)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 3 or logits.shape[:2] != input_ids.shape:
        raise InvalidArgumentError(
            "[train.model] a plain torch module must map input_ids [B, T] to logits [B, T, V], "
            f"got {type(output).__name__} {getattr(logits, 'shape', '')}"
        )
    return logits


def enable_gradient_checkpointing(model: nn.Module) -> None:
    """Recompute activations in the backward pass (Hugging Face models); a clear error otherwise."""
    inner = getattr(model, "module", model)
    for name in ("activation_checkpointing_enable", "gradient_checkpointing_enable"):
        method = getattr(inner, name, None)
        if method is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # renamed in transformers 5
                method()
            return
    raise InvalidArgumentError(
        f"[train.memory] gradient_checkpointing: {type(inner).__name__} has no checkpointing switch "
        "(Hugging Face models have one; wrap a plain module's blocks in torch.utils.checkpoint)"
    )
