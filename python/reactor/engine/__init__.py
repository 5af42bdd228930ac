"""Typed Python facade over the MLForge engine (``reactor._mlforge``).

Every other Reactor package imports the engine through this module. Arrays cross the boundary
without copies: numpy arrays, anything with the buffer protocol, torch tensors (CPU through
DLPack, CUDA through DLPack or ``__cuda_array_interface__``) go in; results come back as numpy
arrays that own engine memory.
"""

from __future__ import annotations

from reactor.engine.aggregate import (
    StreamingAggregator,
    clip_rows,
    coordinate_median,
    coordinate_trimmed_mean,
    pairwise_sq_distances,
    row_norms,
    weighted_sum,
    weighted_sum_into,
)
from reactor.engine.arrays import ArrayInfo, describe_array
from reactor.engine.build import BuildInfo, build_info, cuda_available, version
from reactor.engine.dedup_analysis import (
    QUALITY_SIGNAL_NAMES,
    Contamination,
    SubstringDuplicates,
    contamination,
    quality_signals,
    substring_duplicates,
)
from reactor.engine.hashing import (
    MINHASH_PRIME,
    MINHASH_SCHEME_VERSION,
    minhash,
    minhash_permutations,
    simhash,
)
from reactor.engine.kernels import reduce_sum
from reactor.engine.parallel import apply_core_settings, num_threads, set_num_threads, threads
from reactor.engine.privacy import (
    AdaptiveClip,
    adaptive_clip_step,
    adaptive_clip_update,
    adaptive_noise_multiplier,
    add_gaussian_noise,
    clip_layers,
    clip_update_layers,
    clip_updates,
)
from reactor.engine.random import fill_normal, fill_uniform, normal, uniform
from reactor.engine.rules import (
    SERVER_OPTIMIZER_CODES,
    bulyan,
    centered_clip,
    geometric_median,
    krum_scores,
    multi_krum,
    server_optimizer_step,
)
from reactor.engine.secure_agg import (
    ZERO_NONCE,
    add_mask,
    add_masks,
    add_mod,
    chacha20_block,
    dequantize,
    expand_mask,
    expand_mask_into,
    fixed_point_levels,
    quantize,
)
from reactor.engine.sumtree import new_sumtree, sumtree_search, sumtree_update
from reactor.engine.training import (
    DPO_LOSS_CODES,
    adam_step,
    dpo_loss,
    gae,
    sequence_logprobs,
    sequence_logprobs_backward,
    stream_triad,
)

__all__ = [
    "DPO_LOSS_CODES",
    "MINHASH_PRIME",
    "MINHASH_SCHEME_VERSION",
    "QUALITY_SIGNAL_NAMES",
    "SERVER_OPTIMIZER_CODES",
    "ZERO_NONCE",
    "AdaptiveClip",
    "ArrayInfo",
    "BuildInfo",
    "Contamination",
    "StreamingAggregator",
    "SubstringDuplicates",
    "adam_step",
    "adaptive_clip_step",
    "adaptive_clip_update",
    "adaptive_noise_multiplier",
    "add_gaussian_noise",
    "add_mask",
    "add_masks",
    "add_mod",
    "apply_core_settings",
    "build_info",
    "bulyan",
    "centered_clip",
    "chacha20_block",
    "clip_layers",
    "clip_rows",
    "clip_update_layers",
    "clip_updates",
    "contamination",
    "coordinate_median",
    "coordinate_trimmed_mean",
    "cuda_available",
    "dequantize",
    "describe_array",
    "dpo_loss",
    "expand_mask",
    "expand_mask_into",
    "fill_normal",
    "fill_uniform",
    "fixed_point_levels",
    "gae",
    "geometric_median",
    "krum_scores",
    "minhash",
    "minhash_permutations",
    "multi_krum",
    "new_sumtree",
    "normal",
    "num_threads",
    "pairwise_sq_distances",
    "quality_signals",
    "quantize",
    "reduce_sum",
    "row_norms",
    "sequence_logprobs",
    "sequence_logprobs_backward",
    "server_optimizer_step",
    "set_num_threads",
    "simhash",
    "stream_triad",
    "substring_duplicates",
    "sumtree_search",
    "sumtree_update",
    "threads",
    "uniform",
    "version",
    "weighted_sum",
    "weighted_sum_into",
]

apply_core_settings()
