"""Data curation for training corpora: deduplication, decontamination and quality filtering.

:mod:`reactor.data.dedup` holds the dedup functions on the MLForge engine; :mod:`reactor.data.pipeline`
the streaming pipeline (stages in the :mod:`reactor.data.stages` package, one module per stage:
normalise, quality (engine Gopher signals and thresholds), exact, near (MinHash, SimHash), substring
(Lee et al.), decontaminate (GPT-3 n-grams, Llama 2 coverage); semantic dedup in
:mod:`reactor.data.semantic`; readers and writers in :mod:`reactor.data.io`, the removal ledger in
:mod:`reactor.data.ledger`, Ray Data scale-out in :mod:`reactor.data.distributed`).
"""

from __future__ import annotations

from reactor.data.config import PipelineConfig, load_pipeline_config
from reactor.data.dedup import (
    LshParams,
    NearDuplicateIndex,
    exact_duplicates,
    keep_mask,
    lsh_params,
    minhash_signatures,
    near_duplicates,
    s_curve,
    simhash_duplicates,
)
from reactor.data.io import Document, Rejected, open_source, open_writer, read_documents
from reactor.data.ledger import Ledger, LedgerEntry, RunReport, read_ledger
from reactor.data.pipeline import Pipeline, build_stages, run_pipeline
from reactor.data.semantic import SemanticDedupStage, kmeans, semantic_duplicates
from reactor.data.stages import (
    GOPHER_RULES,
    Batch,
    DecontaminateStage,
    EvalSet,
    ExactDedupStage,
    MinHashDedupStage,
    NormaliseStage,
    QualityStage,
    SimHashDedupStage,
    Stage,
    StageResult,
    SubstringDedupStage,
    basic_signals,
    default_signals,
    load_eval_set,
)

__all__ = [
    "GOPHER_RULES",
    "Batch",
    "DecontaminateStage",
    "Document",
    "EvalSet",
    "ExactDedupStage",
    "Ledger",
    "LedgerEntry",
    "LshParams",
    "MinHashDedupStage",
    "NearDuplicateIndex",
    "NormaliseStage",
    "Pipeline",
    "PipelineConfig",
    "QualityStage",
    "Rejected",
    "RunReport",
    "SemanticDedupStage",
    "SimHashDedupStage",
    "Stage",
    "StageResult",
    "SubstringDedupStage",
    "basic_signals",
    "build_stages",
    "default_signals",
    "exact_duplicates",
    "keep_mask",
    "kmeans",
    "load_eval_set",
    "load_pipeline_config",
    "lsh_params",
    "minhash_signatures",
    "near_duplicates",
    "open_source",
    "open_writer",
    "read_documents",
    "read_ledger",
    "run_pipeline",
    "s_curve",
    "semantic_duplicates",
    "simhash_duplicates",
]
