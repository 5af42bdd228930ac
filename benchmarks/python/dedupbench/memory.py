"""Resident memory per document of signatures + index, measured in fresh child processes."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchkit import reset_peak, status_bytes
from dedupbench.config import BANDS, NGRAM, NUM_PERM, RENSA_BANDS, ROWS, SEED, THRESHOLD
from dedupbench.corpus import make_corpus
from dedupbench.reactor_side import reactor_sign_sets
from dedupbench.shingling import shingle_bytes, shingle_strs

ENTRY = Path(__file__).resolve().parents[1] / "dedup_bench.py"  # the script whose ``--_child`` runs a spec


def rss_bytes() -> int:
    """Resident set size now (psutil when installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        return status_bytes("VmRSS")
    return int(psutil.Process().memory_info().rss)


def trim_heap() -> None:
    """Return freed heap pages to the OS (glibc ``malloc_trim``), so RSS growth is not hidden by reuse."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def build_for_memory(system: str, texts: Sequence[str]) -> tuple[Any, dict[str, float]]:
    """(In a fresh process.) Sign + index ``texts``; what stays alive and reactor's index accounting."""
    if system.startswith("reactor"):
        from reactor.data.dedup import NearDuplicateIndex

        verify = system.split("-", 1)[1]
        signed = reactor_sign_sets(texts) if verify == "jaccard" else None
        index = NearDuplicateIndex(THRESHOLD, NUM_PERM, NGRAM, SEED, bands=BANDS, rows=ROWS, verify=verify)  # type: ignore[arg-type]
        if signed is None:
            from reactor.engine.dedup import minhash

            signed = minhash(texts, num_perm=NUM_PERM, ngram=NGRAM, seed=SEED)
        index.add_signatures(signed)
        del signed
        return index, {"index_memory_bytes": float(index.stats()["memory_bytes"])}
    if system == "datasketch":
        import xxhash
        from datasketch import MinHash, MinHashLSH

        shingles = (shingle_bytes(t) for t in texts)
        sigs = MinHash.bulk(shingles, num_perm=NUM_PERM, seed=SEED, hashfunc=xxhash.xxh32_intdigest)
        lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
        with lsh.insertion_session() as session:
            for i, m in enumerate(sigs):
                session.insert(i, m)
        return (sigs, lsh), {}
    if system == "rensa":
        from rensa import RMinHash, RMinHashLSH

        sigs = RMinHash.from_token_sets((shingle_strs(t) for t in texts), NUM_PERM, SEED)
        lsh = RMinHashLSH(THRESHOLD, NUM_PERM, RENSA_BANDS)
        lsh.insert_pairs(list(enumerate(sigs)))
        return (sigs, lsh), {}
    raise ValueError(f"unknown system {system!r}")


def memory_child(system: str, sizes: dict[str, int]) -> dict[str, float]:
    """(In a fresh process.) RSS growth of signatures + index over the 5%-edit corpus."""
    import reactor.data.dedup  # (import cost outside the measurement)
    import reactor.engine

    reactor.engine.set_num_threads(1)
    texts = make_corpus(sizes["n_orig"], sizes["n_near"], sizes["n_exact"], 0.05).texts
    if system == "datasketch":
        import datasketch  # noqa: F401  (import cost outside the measurement)
        import xxhash  # noqa: F401
    elif system == "rensa":
        import rensa  # noqa: F401
    gc.collect()
    trim_heap()
    before = rss_bytes()
    peak_reset = reset_peak()
    kept, extra = build_for_memory(system, texts)
    gc.collect()
    trim_heap()
    after, peak = rss_bytes(), status_bytes("VmHWM")
    n = len(texts)
    out = {
        "docs": float(n),
        "rss_growth_bytes": float(after - before),
        "rss_bytes_per_doc": (after - before) / n,
    }
    if peak_reset:
        out["peak_growth_bytes_per_doc"] = (peak - before) / n
    if "index_memory_bytes" in extra:
        out["index_bytes_per_doc"] = extra["index_memory_bytes"] / n
    del kept
    return out


def run_child(spec: dict[str, Any], timeout: float | None = None) -> dict[str, Any] | str:
    """Run ``--_child SPEC`` in a fresh interpreter; its JSON result, or the error as a string."""
    cmd = [sys.executable, str(ENTRY), "--_child", json.dumps(spec)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if proc.returncode != 0:
        return f"subprocess failed ({proc.returncode}): {proc.stderr.strip()[-800:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])
