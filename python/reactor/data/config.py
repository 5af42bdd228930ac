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

    [quality]                 # Gopher's rules on the engine's signals unless told otherwise
    enabled = true
    [quality.rules.word_count]
    min = 20                  # replaces the preset's min; its max (100000) stays
    [quality.rules.stop_word_count]
    enabled = false           # drops the preset's rule

    [near]
    method = "minhash"
    threshold = 0.8

    [substring]               # always global: one extra read, the texts held in memory
    enabled = true
    min_tokens = 50

    [decontaminate]
    enabled = true
    eval = ["mmlu.jsonl", "gsm8k.jsonl"]
    mode = "ngram"            # or "coverage" (Llama 2)
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from reactor.config import read_config_file
from reactor.data.stages.quality import DEFAULT_SIGNALS, GOPHER_RULES
from reactor.errors import InvalidArgumentError
from reactor.train.config import Section, load_run_config

__all__ = [
    "DecontaminateConfig",
    "ExactConfig",
    "InputConfig",
    "NearConfig",
    "NormaliseConfig",
    "OutputConfig",
    "PipelineConfig",
    "QualityConfig",
    "RuleBounds",
    "SemanticConfig",
    "SubstringConfig",
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
    """Accepted range of one quality signal (inclusive). Over a preset rule of the same name, the
    bounds given replace the preset's and the others stay; ``enabled = false`` drops the rule.
    """

    enabled: bool = True
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> RuleBounds:
        for name, value in (("min", self.min), ("max", self.max)):
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) exceeds max ({self.max})")
        return self


class QualityConfig(Section):
    """Heuristic quality filter: a signals function and accepted ranges per signal."""

    enabled: bool = False
    signals: str | None = Field(
        default=None,
        description="'module:function' returning (matrix, names) for a list of texts; default: the "
        "engine's 21 Gopher signals (reactor.data.stages.default_signals).",
    )
    preset: Literal["gopher", "none"] | None = Field(
        default=None,
        description="Rules the 'rules' table starts from: 'gopher' (Gopher's thresholds) or 'none'; "
        "default: gopher with the engine's signals, none with a custom signals function.",
    )
    rules: dict[str, RuleBounds] = Field(
        default_factory=dict, description="Per-signal bounds over the preset (see RuleBounds)."
    )

    @field_validator("rules")
    @classmethod
    def _known_signals(cls, rules: dict[str, RuleBounds], info: ValidationInfo) -> dict[str, RuleBounds]:
        if info.data.get("signals") is not None:
            return rules  # a custom function's names are checked on its first batch
        for name, bounds in rules.items():
            if name not in DEFAULT_SIGNALS:
                raise ValueError(f"unknown signal {name!r}; the engine's signals are {list(DEFAULT_SIGNALS)}")
            for which, value in (("min", bounds.min), ("max", bounds.max)):
                if value is not None and value < 0:
                    raise ValueError(f"{name}.{which} = {value} is negative; the engine's signals are >= 0")
        return rules

    def resolved_rules(self, *, custom: bool | None = None) -> dict[str, tuple[float | None, float | None]]:
        """The preset's rules with ``rules`` applied, in check order (preset rules first).

        ``custom`` says whether a custom signals function is in use (default: ``signals`` is set); it
        picks the preset when ``preset`` is not given.
        """
        custom = self.signals is not None if custom is None else custom
        preset = self.preset or ("none" if custom else "gopher")
        resolved = dict(GOPHER_RULES) if preset == "gopher" else {}
        for name, bounds in self.rules.items():
            if not bounds.enabled:
                resolved.pop(name, None)
                continue
            low, high = resolved.get(name, (None, None))
            if "min" in bounds.model_fields_set:
                low = bounds.min
            if "max" in bounds.model_fields_set:
                high = bounds.max
            if low is not None and high is not None and low > high:
                raise InvalidArgumentError(
                    f"[data.quality] rule {name!r}: min ({low}) exceeds the preset's max ({high})"
                )
            resolved[name] = (low, high)
        return resolved

    @model_validator(mode="after")
    def _resolvable(self) -> QualityConfig:
        self.resolved_rules()
        return self


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


class SubstringConfig(Section):
    """Exact-substring dedup (Lee et al. 2021). Global in every mode: one extra read of the input,
    and every text that reaches the stage is held in memory for the suffix array.
    """

    enabled: bool = False
    min_tokens: int = Field(default=50, ge=1, description="Shortest repeated span, in tokens.")
    keep_first: bool = Field(
        default=True, description="Keep the first copy of a span (false: cut every copy, like the paper)."
    )
    min_remaining_words: int = Field(
        default=5, ge=0, description="A document left with fewer words is removed, not rewritten."
    )
    tokenizer: str = "words-v1"


class DecontaminateConfig(Section):
    """Removal of documents that contain eval data: GPT-3 n-gram overlap or Llama 2 token coverage."""

    enabled: bool = False
    eval: list[Path] = Field(default_factory=list, description="Eval set files (JSONL, Parquet, datasets).")
    text_field: str = Field(default="text", min_length=1, description="Text field of the eval records.")
    id_field: str | None = Field(default="id", description="Id field of the eval records (else line number).")
    mode: Literal["ngram", "coverage"] = "ngram"
    ngram: int = Field(default=13, ge=1, description="ngram: n-gram length (GPT-3: 13).")
    min_hits: int = Field(default=1, ge=1, description="ngram: hits that make a document contaminated.")
    min_match: int = Field(default=10, ge=1, description="coverage: shortest match, in tokens.")
    max_mismatches: int = Field(default=4, ge=0, description="coverage: differing tokens allowed in a match.")
    threshold: float = Field(default=0.8, gt=0, le=1, description="coverage: fraction that is 'dirty'.")
    coverage_of: Literal["eval", "document"] = Field(
        default="eval",
        description="coverage: fraction of a matched eval document's tokens (eval) or of the training "
        "document's own tokens (document).",
    )
    tokenizer: str = "words-v1"

    @model_validator(mode="after")
    def _has_eval(self) -> DecontaminateConfig:
        if self.enabled and not self.eval:
            raise ValueError("decontamination needs at least one eval file (eval = [...])")
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
    """``reactor data pipeline``: read -> normalise -> quality -> exact -> near -> substring ->
    decontaminate -> semantic -> write.
    """

    input: InputConfig = Field(default_factory=InputConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    normalise: NormaliseConfig = Field(default_factory=NormaliseConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    exact: ExactConfig = Field(default_factory=ExactConfig)
    near: NearConfig = Field(default_factory=NearConfig)
    substring: SubstringConfig = Field(default_factory=SubstringConfig)
    decontaminate: DecontaminateConfig = Field(default_factory=DecontaminateConfig)
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
    """Defaults < TOML/YAML file < overrides; relative paths in the file (eval files included) are
    resolved against its folder. Errors name the field path.
    """
    if path is None:
        return load_run_config(PipelineConfig, None, overrides, relative_paths=_PATHS)
    values = read_config_file(path)
    base = Path(path).resolve().parent
    for section, key in _PATHS:
        table = values.get(section)
        raw = table.get(key) if isinstance(table, dict) else None
        if isinstance(raw, str) and not Path(raw).is_absolute():
            table[key] = str(base / raw)
    table = values.get("decontaminate")
    files = table.get("eval") if isinstance(table, dict) else None
    if isinstance(files, list):
        table["eval"] = [
            str(base / f) if isinstance(f, str) and not Path(f).is_absolute() else f for f in files
        ]
    return load_run_config(PipelineConfig, None, overrides, defaults=values, relative_paths=())
