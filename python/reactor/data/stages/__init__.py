"""Pipeline stages, one module each, and the interface they share (:mod:`.base`).

=========================  ====================================  =================================
module                     stage(s)                              decides
=========================  ====================================  =================================
:mod:`.normalise`          :class:`NormaliseStage`               per batch (rewrites texts)
:mod:`.quality`            :class:`QualityStage`                 per batch (Gopher rules)
:mod:`.exact`              :class:`ExactDedupStage`              streaming or global
:mod:`.near`               :class:`MinHashDedupStage`,           streaming or global
                           :class:`SimHashDedupStage`
:mod:`.substring`          :class:`SubstringDedupStage`          always global (whole corpus)
:mod:`.decontaminate`      :class:`DecontaminateStage`           per batch (against an eval set)
=========================  ====================================  =================================

Semantic dedup lives in :mod:`reactor.data.semantic`. See :mod:`.base` for how to write a stage.
"""

from __future__ import annotations

from reactor.data.stages.base import (
    Batch,
    DedupStage,
    Features,
    Mode,
    SignalsFn,
    Stage,
    StageResult,
    direct_earlier,
    import_object,
    subset_features,
)
from reactor.data.stages.decontaminate import DecontaminateStage, EvalSet, load_eval_set
from reactor.data.stages.exact import ExactDedupStage
from reactor.data.stages.near import MinHashDedupStage, SimHashDedupStage
from reactor.data.stages.normalise import NormaliseStage
from reactor.data.stages.quality import (
    BASIC_SIGNALS,
    DEFAULT_SIGNALS,
    GOPHER_RULES,
    QualityStage,
    Rules,
    basic_signals,
    check_rules,
    default_signals,
    is_engine_signals,
)
from reactor.data.stages.substring import SubstringDedupStage, cut_byte_ranges

__all__ = [
    "BASIC_SIGNALS",
    "DEFAULT_SIGNALS",
    "GOPHER_RULES",
    "Batch",
    "DecontaminateStage",
    "DedupStage",
    "EvalSet",
    "ExactDedupStage",
    "Features",
    "MinHashDedupStage",
    "Mode",
    "NormaliseStage",
    "QualityStage",
    "Rules",
    "SignalsFn",
    "SimHashDedupStage",
    "Stage",
    "StageResult",
    "SubstringDedupStage",
    "basic_signals",
    "check_rules",
    "cut_byte_ranges",
    "default_signals",
    "direct_earlier",
    "import_object",
    "is_engine_signals",
    "load_eval_set",
    "subset_features",
]
