"""MinHash near-dedup: ``reactor.data.dedup`` against datasketch and rensa, side by side, in one run.

    .venv/bin/python benchmarks/python/dedup_bench.py                    # full run (20k docs, ~5 min)
    .venv/bin/python benchmarks/python/dedup_bench.py --quick            # CI smoke run (4k docs, < 1 min)
    .venv/bin/python benchmarks/python/dedup_bench.py --scale 1000000    # + 1M-doc exact + near dedup
    .venv/bin/python benchmarks/python/dedup_bench.py --out /tmp/dedup   # results elsewhere

Writes ``dedup.json`` and ``dedup.md`` (``dedup_quick.*`` with ``--quick``) into ``--out`` (default
``benchmarks/results``) and prints the markdown. Issue #3, "Performance and quality"; corpus and peer
baselines: /work/shared/anchors/dedup.md section 4.

Corpus (regenerated, the anchor's generator): seed 12345, vocabulary of 5,000 random lowercase words
drawn Zipf(1.0), 20,000 docs of ~1,000 chars = 17,000 originals + 2,000 near-duplicates (5% of words
replaced) + 1,000 exact duplicates, shuffled; a second corpus, same seed, with 2% edits (5-gram Jaccard
of a near-duplicate ~0.63 at 5%, ~0.83 at 2%). Ground truth: the injected (copy, source) pairs.

Everything is word 5-grams, 128 permutations, threshold 0.8, **one thread** (reactor's pool pinned
with ``reactor.engine.set_num_threads(1)``, ``RAYON_NUM_THREADS=1`` for rensa) unless a row says 2.

1. Signatures, docs/s: reactor ``minhash_signatures`` (normalise + tokenise + shingle + hash + sign in
   C++ from Python ``str``), also with 2 threads; datasketch ``MinHash.bulk(hashfunc=xxh32_intdigest)``
   and rensa ``RMinHash.digest_matrix_from_token_sets``, each with the Python shingling a user must
   write (``text.split()``, 5-gram join; ``.encode()`` for datasketch) inside its time; the peers'
   sketch-only phase is reported too.
2. LSH insert + query at 0.8, docs/s, from precomputed signatures: reactor ``NearDuplicateIndex`` at
   9 bands x 13 rows (datasketch's choice for 0.8) with ``verify="minhash"`` / ``"jaccard"``
   (``add_signatures`` links every document with its verified candidates = insert + query, then
   ``clusters()``), the engine's ``MinHashIndex`` insert-all then query-all, and reactor's default
   recall-targeted banding; datasketch ``MinHashLSH(0.8, 128)`` insertion session + ``query`` per
   doc; rensa ``RMinHashLSH(0.8, 128, 8)`` (8 x 16: rensa needs bands | num_perm) ``insert_pairs`` +
   ``query_all``. Clustering the peers' candidate pairs is not timed (they have no clustering).
3. Memory per document: reactor ``index.stats()["memory_bytes"] / n`` (the index keeps its own copy of
   the signatures), and for every system the RSS growth of signing + indexing the corpus in a fresh
   subprocess (shingle lists freed; what stays is signatures + index).
4. Precision / recall on both corpora. Every system's output becomes clusters (peers: union-find over
   their candidate pairs). Recall: injected pairs that share a cluster, overall / exact / near and
   over the pairs whose exact 5-gram Jaccard is >= 0.8. Precision over the removed documents (all but
   the smallest id of each cluster): "family" = it really is a copy of its cluster's representative;
   "exact J" = it is linked to the representative by a chain of pairs of exact Jaccard >= 0.8 within
   its cluster (Jaccard computed here in Python on sets of ``text.split()`` 5-gram tuples). A removed
   document failing that is a false positive after exact verification.
5. ``--scale N``: N ~1 KB docs (5% exact, 5% near copies with 2% word edits) generated with numpy
   (not timed), then ``exact_duplicates`` + ``near_duplicates(verify="minhash")`` with 2 threads in a
   fresh subprocess (wall, CPU, peak RSS), then ``verify="jaccard"``.

Method: the host is shared, so throughput is per **CPU-second of this process**
(``time.process_time``, all threads), median of ``--repeats`` runs interleaved across systems with
the order rotated; wall-clock is recorded next to it. Ratios are reactor / peer from the same run.
datasketch and rensa are benchmark-only peers (``pip install datasketch xxhash rensa``): required in
the full run, skipped with a note in ``--quick`` when missing.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchkit import machine, versions
from dedupbench.config import (
    NGRAM,
    NUM_PERM,
    PEERS,
    RESULTS,
    TARGETS,
    THRESHOLD,
    VERSION_DISTS,
    full_config,
    quick_config,
)
from dedupbench.memory import memory_child
from dedupbench.peers import load_peers
from dedupbench.report import markdown
from dedupbench.runner import run_benchmark
from dedupbench.scale import scale_child
from dedupbench.timing import log


def child_main(spec: dict[str, Any]) -> None:
    if spec["task"] == "memory":
        print(json.dumps(memory_child(spec["system"], spec["sizes"])))
    elif spec["task"] == "scale":
        print(json.dumps(scale_child(spec["n"], spec["verify"])))
    else:
        raise SystemExit(f"unknown child task {spec['task']!r}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="4,000 docs, 1 repeat: a CI smoke run (< 60 s)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for dedup.json / dedup.md")
    parser.add_argument(
        "--repeats", type=int, help="timed runs per system, median reported (default 3; quick 1)"
    )
    parser.add_argument(
        "--scale", type=int, default=0, help="also dedup N generated docs (e.g. 1000000); off"
    )
    parser.add_argument(
        "--scale-verify",
        default="minhash,jaccard",
        help="verify modes of the scale run (default: minhash,jaccard)",
    )
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["RAYON_NUM_THREADS"] = "1"  # rensa's pool, before its first use (children inherit it)
    if args._child:
        child_main(json.loads(args._child))
        return

    cfg = quick_config() if args.quick else full_config()
    if args.repeats:
        cfg.repeats = args.repeats
    unavailable = load_peers()
    if unavailable and not args.quick:
        parser.error(
            f"the full run needs every peer ({unavailable}); pip install datasketch xxhash rensa, or --quick"
        )
    for peer, err in unavailable.items():
        log(f"{peer} unavailable, skipped: {err}")
    peers = [p for p in PEERS if p not in unavailable]
    scale_verify = [v.strip() for v in args.scale_verify.split(",") if v.strip()]

    mach = machine()
    t_start = time.perf_counter()
    body = run_benchmark(cfg, peers, args.scale, scale_verify)
    mach["loadavg_end"] = list(os.getloadavg())
    result = {
        "benchmark": "dedup",
        "quick": args.quick,
        "config": {
            **asdict(cfg),
            "n_docs": cfg.n_docs,
            "num_perm": NUM_PERM,
            "ngram": NGRAM,
            "threshold": THRESHOLD,
        },
        "machine": mach,
        "versions": versions(*VERSION_DISTS),
        "unavailable": unavailable,
        "targets": TARGETS,
        **body,
        "elapsed_s": time.perf_counter() - t_start,
    }
    report = markdown(result)
    print(report)
    stem = "dedup_quick" if args.quick else "dedup"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    (args.out / f"{stem}.md").write_text(report, encoding="utf-8")
    log(f"wrote {args.out / stem}.json and .md in {result['elapsed_s']:.0f} s")


if __name__ == "__main__":
    main()
