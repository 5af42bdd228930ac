"""Configuration of the data pipeline: one pydantic section per stage, filled from TOML/YAML and
``--set section.key=value`` overrides. Invalid values fail at load time with the field path.

A pipeline file looks like::

    batch_size = 10000
    engine = "local"          # or "ray": features (signatures, embeddings) computed on Ray Data
    mode = "streaming"        # or "global": exact clusters, two passes over the input

    [input]
    path = "corpus.jsonl"
    text_field = "text"

    [output]
    path = "clean.jsonl"
    ledger = "ledger.jsonl"
    report = "report.json"

    [quality]
    enabled = true
    [quality.rules.word_count]
    min = 50

    [near]
    method = "minhash"
    threshold = 0.8
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from reactor.train.config import Section, load_run_config

__all__ = [
    "ExactConfig",
    "InputConfig",
    "NearConfig",
    "NormaliseConfig",
    "OutputConfig",
    "PipelineConfig",
    "QualityConfig",
    "RuleBounds",
    "SemanticConfig",
    "load_pipeline_config",
]


class InputConfig(Section):
    """Where documents come from."""

    path: Path | None = Field(default=None, description="JSONL(.gz), Parquet or a saved datasets directory.")
    format: Literal["auto", "jsonl", "parquet", "hf"] = "auto"
    text_field: str = Field(default="text", min_length=1)
    id_field: str | None = Field(default="id", description="Ledger id; else line number / row index.")
    on_missing_text: Literal["error", "ledger"] = Field(
        default="error", description="A record without a string text field: stop, or log it and go on."
    )
    drop_empty: bool = Field(
        default=True, description="Drop whitespace-only documents (ledger rule 'empty')."
    )


class OutputConfig(Section):
    """Where the kept documents, the ledger and the report go."""

    path: Path | None = Field(default=None, description="JSONL(.gz) or Parquet, by suffix.")
    format: Literal["auto", "jsonl", "parquet"] = "auto"
    ledger: Path | None = Field(default=None, description="JSONL, one line per removed or changed document.")
    report: Path | None = Field(default=None, description="JSON summary (a markdown copy goes beside it).")


class NormaliseConfig(Section):
    """Optional text normalisation; changed documents are logged with action 'changed'."""

    enabled: bool = False
    unicode_form: Literal["NFC", "NFKC", "none"] = "NFKC"
    collapse_whitespace: bool = Field(default=True, description="Runs of spaces/tabs to one space.")
    strip: bool = True


class RuleBounds(Section):
    """Accepted range of one quality signal (inclusive); a missing bound is open."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> RuleBounds:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) exceeds max ({self.max})")
        return self


def _gopher_rules() -> dict[str, RuleBounds]:
    # Rae et al. 2021 (Gopher), the rules our default signals can express.
    return {
        "word_count": RuleBounds(min=50, max=100_000),
        "mean_word_length": RuleBounds(min=3, max=10),
        "symbol_ratio": RuleBounds(max=0.1),
        "alnum_ratio": RuleBounds(min=0.8),
    }


class QualityConfig(Section):
    """Heuristic quality filter: a signals function and accepted ranges per signal."""

    enabled: bool = False
    signals: str | None = Field(
        default=None,
        description="'module:function' returning (matrix, names) for a list of texts; default: "
        "reactor.data.stages.default_signals.",
    )
    rules: dict[str, RuleBounds] = Field(default_factory=_gopher_rules)


class ExactConfig(Section):
    """Exact dedup on 128-bit fingerprints of the normalised token stream."""

    enabled: bool = True
    tokenizer: str = "words-v1"


class NearConfig(Section):
    """Near-duplicate removal by MinHash-LSH (Jaccard of word n-grams) or SimHash (Hamming bits)."""

    enabled: bool = True
    method: Literal["minhash", "simhash"] = "minhash"
    threshold: float = Field(default=0.8, gt=0, le=1, description="MinHash: Jaccard threshold.")
    num_perm: int = Field(default=128, ge=1, le=4096)
    ngram: int = Field(default=5, ge=1, le=64)
    seed: int = Field(default=0, ge=0)
    bands: int | None = Field(default=None, ge=1)
    rows: int | None = Field(default=None, ge=1)
    target_recall: float = Field(default=0.95, gt=0, le=1)
    verify: Literal["jaccard", "minhash", "none"] = "jaccard"
    tokenizer: str = "words-v1"
    max_distance: int = Field(default=3, ge=0, le=64, description="SimHash: most differing bits.")
    simhash_ngram: int = Field(default=3, ge=1, le=64)

    @model_validator(mode="after")
    def _banding(self) -> NearConfig:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows or neither")
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows ({self.bands} x {self.rows}) exceeds num_perm ({self.num_perm})")
        return self


class SemanticConfig(Section):
    """SemDeDup (Abbas et al. 2023): embeddings, k-means, cosine >= 1 - eps within a cluster."""

    enabled: bool = False
    embedder: str | None = Field(default=None, description="'module:function': list[str] -> float32 (n, d).")
    model_path: Path | None = Field(default=None, description="Local sentence-transformers model directory.")
    n_clusters: int = Field(default=100, ge=1)
    eps: float = Field(default=0.05, ge=0, lt=1, description="Duplicates have cosine >= 1 - eps.")
    seed: int = Field(default=0, ge=0)
    max_iter: int = Field(default=50, ge=1)

    @model_validator(mode="after")
    def _one_embedder(self) -> SemanticConfig:
        if self.enabled and (self.embedder is None) == (self.model_path is None):
            raise ValueError("semantic dedup needs exactly one of embedder or model_path")
        return self


class PipelineConfig(Section):
    """``reactor data pipeline``: read -> normalise -> quality -> exact -> near -> semantic -> write."""

    input: InputConfig = Field(default_factory=InputConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    normalise: NormaliseConfig = Field(default_factory=NormaliseConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    exact: ExactConfig = Field(default_factory=ExactConfig)
    near: NearConfig = Field(default_factory=NearConfig)
    semantic: SemanticConfig = Field(default_factory=SemanticConfig)
    batch_size: int = Field(default=10_000, ge=1, description="Documents per batch (bounds memory).")
    mode: Literal["streaming", "global"] = Field(
        default="streaming",
        description="streaming: one pass, a document is dropped when it duplicates an earlier one; "
        "global: one extra pass per dedup stage, exactly one document kept per duplicate cluster.",
    )
    keep: Literal["first", "longest"] = Field(
        default="first", description="global mode: who a cluster keeps."
    )
    engine: Literal["local", "ray"] = "local"
    ray_window: int = Field(default=4, ge=1, description="ray: batches featurised concurrently.")
    progress: bool = True

    @model_validator(mode="after")
    def _keep_needs_global(self) -> PipelineConfig:
        if self.keep != "first" and self.mode != "global":
            raise ValueError(f"keep={self.keep!r} needs mode='global' (streaming keeps the first copy)")
        return self


_PATHS = (
    ("input", "path"),
    ("output", "path"),
    ("output", "ledger"),
    ("output", "report"),
    ("semantic", "model_path"),
)


def load_pipeline_config(
    path: str | os.PathLike[str] | None = None, overrides: dict[str, Any] | None = None
) -> PipelineConfig:
    """Defaults < TOML/YAML file < overrides; relative paths in the file are resolved against its folder."""
    return load_run_config(PipelineConfig, path, overrides, relative_paths=_PATHS)
