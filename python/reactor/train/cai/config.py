"""Configuration of ``reactor train cai``: which backends generate and judge, the prompts, the
constitution, where the outputs go, and the SL-CAI / RL-CAI settings. A file looks like::

    [data]
    prompts = "red_team.jsonl"          # {"prompt": ...} per line, or a .txt file, one per line
    constitution = "constitution.toml"  # optional: Reactor's default constitution
    output_dir = "runs/cai"

    [generator]                         # the policy
    backend = "local"                   # a local Hugging Face model directory ...
    model_dir = "runs/sft/model"

    [judge]                             # optional: by default the generator judges too
    backend = "openai"                  # ... or an OpenAI-compatible /v1/completions endpoint
    base_url = "http://127.0.0.1:8000/v1"
    model = "my-feedback-model"
    api_key_env = "OPENAI_API_KEY"      # the key is read from this variable, never from the file

    [sampling]
    seed = 0
    max_new_tokens = 128
    temperature = 1.0

    [sl]
    enabled = true
    revisions = 2

    [rl]
    enabled = true
    principles_per_comparison = 4
    min_margin = 0.05
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from reactor.train.config import Section, load_run_config

__all__ = [
    "BackendConfig",
    "CAIConfig",
    "CAIDataConfig",
    "RLCAISettings",
    "SLCAISettings",
    "SamplingSettings",
    "load_cai_config",
]


class BackendConfig(Section):
    """A generator or judge: a local causal LM directory, or an OpenAI-compatible endpoint."""

    backend: Literal["local", "openai"] = "local"
    # local
    model_dir: Path | None = Field(
        default=None, description="local: a Hugging Face causal LM directory (e.g. a run's output_dir/model)."
    )
    device: str = Field(default="auto", description="local: auto, cpu, cuda or cuda:N.")
    max_prompt_tokens: int | None = Field(
        default=None, ge=8, description="local: keep the last N prompt tokens (default: the model's context)."
    )
    # openai
    base_url: str | None = Field(default=None, description="openai: the API root, e.g. http://host:8000/v1.")
    model: str | None = Field(default=None, description="openai: the served model's name.")
    api_key_env: str | None = Field(
        default="OPENAI_API_KEY", description="openai: environment variable holding the API key (if set)."
    )
    timeout: float = Field(default=60.0, gt=0, description="openai: seconds per request.")
    max_retries: int = Field(default=3, ge=0, description="openai: retries of 429/5xx/timeouts.")
    top_logprobs: int = Field(default=5, ge=1, le=20, description="openai: top log-probs read for a choice.")
    # both
    batch_size: int = Field(default=16, ge=1, description="Prompts per forward pass / per request.")

    @model_validator(mode="after")
    def _complete(self) -> BackendConfig:
        if self.backend == "local" and self.model_dir is None:
            raise ValueError("backend 'local' needs model_dir (a local Hugging Face model directory)")
        if self.backend == "openai" and (not self.base_url or not self.model):
            raise ValueError("backend 'openai' needs base_url and model")
        return self


class CAIDataConfig(Section):
    """Inputs and outputs."""

    prompts: Path = Field(description="JSONL with a 'prompt' per line (string or messages), or .txt.")
    constitution: Path | None = Field(default=None, description="TOML constitution; default: Reactor's.")
    output_dir: Path = Path("runs/cai")
    limit: int | None = Field(default=None, ge=1, description="Use only the first N prompts.")


class SamplingSettings(Section):
    """How the generator samples responses, critiques and revisions."""

    seed: int = Field(default=0, ge=0)
    max_new_tokens: int = Field(default=128, ge=1)
    critique_max_new_tokens: int | None = Field(default=None, ge=1, description="SL-CAI critiques.")
    temperature: float = Field(default=1.0, ge=0)


class SLCAISettings(Section):
    """Supervised CAI: critique -> revision rounds; writes ``sl_cai.jsonl`` (prompt, completion)."""

    enabled: bool = True
    revisions: int = Field(default=1, ge=1, description="Critique/revision rounds per prompt.")
    keep_unrevised: bool = Field(default=False, description="Keep prompts whose every revision was empty.")


class RLCAISettings(Section):
    """RL from AI feedback: judged sample pairs; writes ``rl_cai.jsonl`` (prompt, chosen, rejected)."""

    enabled: bool = True
    principles_per_comparison: int = Field(default=1, ge=1, description="Principles ensembled per pair.")
    min_margin: float = Field(default=0.0, ge=0.0, lt=0.5, description="Drop pairs with |p - 0.5| <= this.")
    order: Literal["random", "fixed", "both"] = Field(
        default="random", description="How the two samples are placed as (A)/(B)."
    )


class CAIConfig(Section):
    """Everything ``reactor train cai`` reads: ``[data] [generator] [judge] [sampling] [sl] [rl]``."""

    data: CAIDataConfig
    generator: BackendConfig
    judge: BackendConfig | None = Field(default=None, description="Default: the generator judges.")
    sampling: SamplingSettings = Field(default_factory=SamplingSettings)
    sl: SLCAISettings = Field(default_factory=SLCAISettings)
    rl: RLCAISettings = Field(default_factory=RLCAISettings)

    @model_validator(mode="after")
    def _something_to_do(self) -> CAIConfig:
        if not self.sl.enabled and not self.rl.enabled:
            raise ValueError("both sl.enabled and rl.enabled are false: nothing to do")
        return self

    @property
    def needs_torch(self) -> bool:
        """Whether a backend is a local model (needs the ``train`` extra)."""
        judge = self.judge if self.judge is not None else self.generator
        return "local" in (self.generator.backend, judge.backend)


def load_cai_config(
    path: str | os.PathLike[str] | None = None, overrides: dict[str, Any] | None = None
) -> CAIConfig:
    """A :class:`CAIConfig` from a TOML/YAML file and ``--set`` overrides (see
    :func:`reactor.train.config.parse_overrides`). Relative ``data.prompts``, ``data.constitution``
    and ``model_dir`` paths in the file are resolved against the file's directory.
    """
    paths = (
        ("data", "prompts"),
        ("data", "constitution"),
        ("generator", "model_dir"),
        ("judge", "model_dir"),
    )
    return load_run_config(CAIConfig, path, overrides, relative_paths=paths)
