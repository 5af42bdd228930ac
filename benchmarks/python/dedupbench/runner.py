"""Sections 1-5 of one benchmark run: the timed cases, memory children, quality and the scale run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dedupbench.config import Config
from dedupbench.corpus import make_corpus
from dedupbench.memory import run_child
from dedupbench.peers import datasketch_lsh, datasketch_sign, rensa_lsh, rensa_objects, rensa_sign
from dedupbench.quality import quality
from dedupbench.reactor_side import (
    reactor_fingerprints,
    reactor_index,
    reactor_insert_query,
    reactor_sign,
    reactor_sign_sets,
)
from dedupbench.timing import Case, Stopwatch, log, run_cases


def signature_cases(texts: list[str], peers: Sequence[str]) -> dict[str, Case]:
    import reactor.engine

    def two_threads(watch: Stopwatch) -> np.ndarray:
        with reactor.engine.threads(2):
            return reactor_sign(texts, watch)

    cases: dict[str, Case] = {
        "reactor": lambda w: reactor_sign(texts, w),
        "reactor_2t": two_threads,
        "reactor_sets": lambda w: reactor_sign_sets(texts, w),
        "reactor_exact": lambda w: reactor_fingerprints(texts, w),
    }
    if "datasketch" in peers:
        cases["datasketch"] = lambda w: datasketch_sign(texts, w)
    if "rensa" in peers:
        cases["rensa"] = lambda w: rensa_sign(texts, w)
    return cases


def lsh_cases(signed: Any, sketches: dict[str, Any]) -> dict[str, Case]:
    cases: dict[str, Case] = {
        "reactor_minhash": lambda w: reactor_index(signed, "minhash", w),
        "reactor_jaccard": lambda w: reactor_index(signed, "jaccard", w),
        "reactor_query": lambda w: reactor_insert_query(signed, w),
        "reactor_default": lambda w: reactor_index(signed, "jaccard", w, None, None),
    }
    if "datasketch" in sketches:
        cases["datasketch"] = lambda w: datasketch_lsh(sketches["datasketch"], w)
    if "rensa" in sketches:
        cases["rensa"] = lambda w: rensa_lsh(sketches["rensa"], w)
    return cases


def with_docs(summary: dict[str, Any], n: int) -> dict[str, Any]:
    for case in summary.values():
        case["n_docs"] = n
    return summary


def run_benchmark(cfg: Config, peers: list[str], scale: int, scale_verify: list[str]) -> dict[str, Any]:
    """Sections 1-5; the JSON-ready result."""
    import reactor.engine

    reactor.engine.set_num_threads(1)
    corpora = {edit: make_corpus(cfg.n_orig, cfg.n_near, cfg.n_exact, edit) for edit in cfg.edits}
    main_corpus = corpora[cfg.edits[0]]
    texts, n = main_corpus.texts, len(main_corpus.texts)
    log(f"corpus {n:,} docs, sha256 {main_corpus.sha256[:16]}; peers {peers or 'none'}")

    sig, sig_out = run_cases(signature_cases(texts, peers), cfg.repeats, n, "signatures")
    sig = with_docs(sig, n)
    c1, c2 = sig["reactor"]["median"], sig["reactor_2t"]["median"]
    scaling = {"wall_speedup": c1["wall_s"] / c2["wall_s"], "cpu_efficiency": c1["cpu_s"] / c2["cpu_s"]}

    signed = reactor_sign_sets(texts)
    sketches: dict[str, Any] = {}
    if "datasketch" in peers:
        sketches["datasketch"] = sig_out["datasketch"]
    if "rensa" in peers:
        sketches["rensa"] = rensa_objects(texts)
    lsh, lsh_out = run_cases(lsh_cases(signed, sketches), cfg.repeats, n, "lsh")
    lsh = with_docs(lsh, n)
    lsh_stats = {
        name: lsh_out[name][1] for name in lsh_out if name.startswith("reactor_") and name != "reactor_query"
    }

    log("memory subprocesses")
    sizes = {"n_orig": cfg.n_orig, "n_near": cfg.n_near, "n_exact": cfg.n_exact}
    memory = {
        system: run_child({"task": "memory", "system": system, "sizes": sizes})
        for system in ("reactor-minhash", "reactor-jaccard", *peers)
    }

    log("precision / recall")
    known: dict[str, Any] = {"signed": signed}
    for peer in peers:
        known[f"{peer}_sketches"], known[f"{peer}_pairs"] = sketches[peer], lsh_out[peer]
    quality_out = {
        f"{edit:.0%} edits": quality(corpora[edit], peers, known if edit == cfg.edits[0] else None)
        for edit in cfg.edits
    }

    result: dict[str, Any] = {
        "signatures": sig,
        "scaling": scaling,
        "lsh": lsh,
        "lsh_stats": lsh_stats,
        "memory": memory,
        "quality": quality_out,
    }
    if scale:
        log(f"scale run: {scale:,} docs in a subprocess")
        result["scale"] = run_child({"task": "scale", "n": scale, "verify": scale_verify})
    return result
