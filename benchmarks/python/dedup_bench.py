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
import gc
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

RESULTS = Path(__file__).resolve().parents[1] / "results"
NUM_PERM, NGRAM, THRESHOLD, SEED = 128, 5, 0.8, 0  # SEED: the MinHash seed of every system
BANDS, ROWS = 9, 13  # datasketch's MinHashLSH(threshold=0.8, num_perm=128)
RENSA_BANDS = 8  # rensa needs num_perm % bands == 0: 8 x 16
CORPUS_SEED, VOCAB, ZIPF_DRAWS, DOC_CHARS = 12345, 5_000, 400, 1_000
ANCHOR_SHA256 = "0424650eb0bcc3ec"  # prefix of sha256("\n".join(texts)) of the 20k 5%-edit corpus
PEERS = ("datasketch", "rensa")
TARGETS = {
    "signatures_docs_per_cpu_s": 100_000.0,
    "two_thread_cpu_efficiency": 0.85,
    "lsh_docs_per_cpu_s": 300_000.0,
    "bytes_per_doc": 1024.0,
    "scale_wall_s": 60.0,
}


@dataclass
class Config:
    """Corpus sizes and repeats of one run."""

    n_orig: int
    n_near: int
    n_exact: int
    edits: tuple[float, ...]
    repeats: int

    @property
    def n_docs(self) -> int:
        return self.n_orig + self.n_near + self.n_exact


def full_config() -> Config:
    return Config(n_orig=17_000, n_near=2_000, n_exact=1_000, edits=(0.05, 0.02), repeats=3)


def quick_config() -> Config:
    return Config(n_orig=3_400, n_near=400, n_exact=200, edits=(0.05, 0.02), repeats=1)


# -------------------------------------------------------------------------------------- corpus
@dataclass
class Corpus:
    """Texts with their injected ground truth (positions after the shuffle)."""

    texts: list[str]
    edit: float
    family: np.ndarray  #: original (pre-shuffle) index of the document each text is a copy of, or itself
    pairs: np.ndarray  #: (copy, source) positions, shape (n_near + n_exact, 2)
    pair_kind: np.ndarray  #: 1 = near-duplicate, 2 = exact duplicate, per pair
    sha256: str


def make_vocab(rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """5,000 random lowercase words of 3-10 letters, sorted by (length, word), and the Zipf(1) CDF."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab: set[str] = set()
    while len(vocab) < VOCAB:
        vocab.add("".join(letters[rng.integers(0, 26, int(rng.integers(3, 11)))]))
    words = sorted(vocab, key=lambda w: (len(w), w))
    p = 1 / np.arange(1, VOCAB + 1)
    p /= p.sum()
    return words, np.cumsum(p)


def zipf_draw(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    """``n`` word ids drawn from the Zipf CDF."""
    return np.searchsorted(cdf, rng.random(n), side="right").clip(0, VOCAB - 1)


def make_corpus(n_orig: int, n_near: int, n_exact: int, edit: float, seed: int = CORPUS_SEED) -> Corpus:
    """The anchor's corpus generator (dedup.md section 4), step for step, so the 20k corpus is identical."""
    rng = np.random.default_rng(seed)
    words, cdf = make_vocab(rng)
    lens = np.array([len(w) for w in words])
    orig: list[np.ndarray] = []
    for _ in range(n_orig):  # cut ZIPF_DRAWS draws at the first prefix of >= DOC_CHARS chars
        ids = zipf_draw(rng, cdf, ZIPF_DRAWS)
        orig.append(ids[: int(np.searchsorted(np.cumsum(lens[ids] + 1) - 1, DOC_CHARS)) + 1])
    docs, src = list(orig), [-1] * n_orig
    for _ in range(n_near):  # k distinct positions, each redrawn until it differs
        s = int(rng.integers(0, n_orig))
        ids = orig[s].copy()
        for q in rng.choice(len(ids), size=max(1, round(edit * len(ids))), replace=False):
            new = ids[q]
            while new == ids[q]:
                new = zipf_draw(rng, cdf, 1)[0]
            ids[q] = new
        docs.append(ids)
        src.append(s)
    for _ in range(n_exact):
        s = int(rng.integers(0, n_orig))
        docs.append(orig[s].copy())
        src.append(s)
    n = len(docs)
    perm = rng.permutation(n)
    texts = [" ".join(words[i] for i in docs[o]) for o in perm]
    position = np.empty(n, dtype=np.int64)
    position[perm] = np.arange(n)
    source = np.asarray(src, dtype=np.int64)[perm]  # original index of each text's source, or -1
    family = np.where(source >= 0, source, perm)
    copies = np.nonzero(source >= 0)[0]
    pairs = np.stack([copies, position[source[copies]]], axis=1)
    pair_kind = np.where(perm[copies] < n_orig + n_near, 1, 2).astype(np.int8)
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    return Corpus(texts, edit, family, pairs, pair_kind, digest)


# ---------------------------------------------------------------------------- Python shingling
def shingle_strs(text: str) -> list[str]:
    """Word 5-grams as strings: the tokenisation a datasketch or rensa user writes."""
    w = text.split()
    return [" ".join(w[i : i + NGRAM]) for i in range(len(w) - NGRAM + 1)]


def shingle_bytes(text: str) -> list[bytes]:
    """Word 5-grams as UTF-8 bytes (datasketch hashes bytes)."""
    w = text.split()
    return [" ".join(w[i : i + NGRAM]).encode() for i in range(len(w) - NGRAM + 1)]


class ExactJaccard:
    """Exact word 5-gram Jaccard between texts of one corpus (sets built lazily, cached)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        self.sets: dict[int, frozenset[tuple[str, ...]]] = {}

    def shingles(self, i: int) -> frozenset[tuple[str, ...]]:
        if i not in self.sets:
            w = self.texts[i].split()
            self.sets[i] = frozenset(zip(*(w[k:] for k in range(NGRAM)), strict=False))
        return self.sets[i]

    def __call__(self, i: int, j: int) -> float:
        a, b = self.shingles(i), self.shingles(j)
        union = len(a | b)
        return len(a & b) / union if union else 0.0


# ------------------------------------------------------------------------------------- timing
class Stopwatch:
    """Process CPU and wall seconds per named phase of one run."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def run(self, phase: str, fn: Callable[[], T]) -> T:
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        self.times[f"{phase}_cpu_s"] = self.times.get(f"{phase}_cpu_s", 0.0) + cpu
        self.times[f"{phase}_wall_s"] = self.times.get(f"{phase}_wall_s", 0.0) + wall
        return out

    def totals(self) -> dict[str, float]:
        cpu = sum(v for k, v in self.times.items() if k.endswith("_cpu_s"))
        wall = sum(v for k, v in self.times.items() if k.endswith("_wall_s"))
        return {**self.times, "cpu_s": cpu, "wall_s": wall}


Case = Callable[[Stopwatch], Any]


def run_cases(cases: dict[str, Case], repeats: int, n_docs: int, tag: str) -> tuple[dict, dict[str, Any]]:
    """Each case ``repeats`` times, interleaved with the order rotated; per case the median of every
    phase and total, docs per CPU-second and per wall-second, and the output of its last run.
    """
    names = list(cases)
    raw: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    last: dict[str, Any] = {}
    for run in range(repeats):
        for name in names[run % len(names) :] + names[: run % len(names)]:
            last.pop(name, None)
            gc.collect()
            watch = Stopwatch()
            last[name] = cases[name](watch)
            raw[name].append(watch.totals())
            log(f"{tag} run {run + 1}/{repeats} {name}: {raw[name][-1]['cpu_s']:.2f} CPU-s")
    summary = {}
    for name, runs in raw.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        summary[name] = {
            "median": med,
            "docs_per_cpu_s": n_docs / max(med["cpu_s"], 1e-9),
            "docs_per_s": n_docs / max(med["wall_s"], 1e-9),
            "runs": runs,
        }
    return summary, last


def log(message: str) -> None:
    print(f"[dedup_bench] {message}", file=sys.stderr, flush=True)


# -------------------------------------------------------------------------------------- peers
def load_peers() -> dict[str, str]:
    """Import datasketch (+ xxhash) and rensa; name -> error for each one that does not import."""
    errors: dict[str, str] = {}
    try:
        import datasketch  # noqa: F401
        import xxhash  # noqa: F401
    except Exception as exc:
        errors["datasketch"] = f"{type(exc).__name__}: {exc}"
    try:
        import rensa  # noqa: F401
    except Exception as exc:
        errors["rensa"] = f"{type(exc).__name__}: {exc}"
    return errors


def datasketch_sign(texts: Sequence[str], watch: Stopwatch) -> list[Any]:
    """datasketch's fastest path: Python shingling, then ``MinHash.bulk`` with xxh32."""
    import xxhash
    from datasketch import MinHash

    shingles = watch.run("tokenise", lambda: [shingle_bytes(t) for t in texts])
    return watch.run(
        "sketch",
        lambda: MinHash.bulk(shingles, num_perm=NUM_PERM, seed=SEED, hashfunc=xxhash.xxh32_intdigest),
    )


def rensa_sign(texts: Sequence[str], watch: Stopwatch) -> Any:
    """rensa's bulk path: Python shingling, then the compact digest matrix."""
    from rensa import RMinHash

    shingles = watch.run("tokenise", lambda: [shingle_strs(t) for t in texts])
    return watch.run("sketch", lambda: RMinHash.digest_matrix_from_token_sets(shingles, NUM_PERM, SEED))


def rensa_objects(texts: Sequence[str]) -> list[Any]:
    """``RMinHash`` objects, what ``RMinHashLSH`` indexes (built untimed)."""
    from rensa import RMinHash

    return RMinHash.from_token_sets([shingle_strs(t) for t in texts], NUM_PERM, SEED)


def datasketch_lsh(minhashes: Sequence[Any], watch: Stopwatch) -> list[tuple[int, int]]:
    """``MinHashLSH(0.8, 128)``: insert every signature, then query every one; candidate pairs."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    if (lsh.b, lsh.r) != (BANDS, ROWS):
        raise RuntimeError(f"datasketch chose {lsh.b} x {lsh.r}, expected {BANDS} x {ROWS}")

    def insert() -> None:
        with lsh.insertion_session() as session:
            for i, m in enumerate(minhashes):
                session.insert(i, m)

    watch.run("insert", insert)
    found = watch.run("query", lambda: [lsh.query(m) for m in minhashes])
    return candidate_pairs(found)


def rensa_lsh(minhashes: Sequence[Any], watch: Stopwatch) -> list[tuple[int, int]]:
    """``RMinHashLSH(0.8, 128, 8)``: ``insert_pairs`` then ``query_all``; candidate pairs."""
    from rensa import RMinHashLSH

    lsh = RMinHashLSH(THRESHOLD, NUM_PERM, RENSA_BANDS)
    watch.run("insert", lambda: lsh.insert_pairs(list(enumerate(minhashes))))
    found = watch.run("query", lambda: lsh.query_all(minhashes))
    return candidate_pairs(found)


def candidate_pairs(found: Iterable[Iterable[int]]) -> list[tuple[int, int]]:
    """(i, j), i < j, for every candidate j returned for query i."""
    return sorted({(min(i, j), max(i, j)) for i, keys in enumerate(found) for j in keys if j != i})


# ------------------------------------------------------------------------------------ reactor
def reactor_sign(texts: Sequence[str], watch: Stopwatch) -> np.ndarray:
    from reactor.data.dedup import minhash_signatures

    return watch.run("sign", lambda: minhash_signatures(texts, num_perm=NUM_PERM, ngram=NGRAM, seed=SEED))


def reactor_fingerprints(texts: Sequence[str], watch: Stopwatch) -> Any:
    """Exact-dedup fingerprints: the same normalise + tokenise pass without shingling or signing."""
    from reactor.engine.dedup import exact_fingerprints

    return watch.run("fingerprint", lambda: exact_fingerprints(texts))


def reactor_sign_sets(texts: Sequence[str], watch: Stopwatch | None = None) -> Any:
    """Signatures and the shingle sets ``verify="jaccard"`` needs (``reactor.engine.dedup.minhash``)."""
    from reactor.engine.dedup import minhash

    def sign() -> Any:
        return minhash(texts, num_perm=NUM_PERM, ngram=NGRAM, seed=SEED, with_sets=True)

    return watch.run("sign", sign) if watch else sign()


def reactor_index(
    signed: Any, verify: str, watch: Stopwatch, bands: int | None = BANDS, rows: int | None = ROWS
) -> tuple[np.ndarray, dict[str, int]]:
    """``NearDuplicateIndex.add_signatures`` (insert + link each doc to its verified candidates), then
    ``clusters()``; the cluster ids and ``stats()``.
    """
    from reactor.data.dedup import NearDuplicateIndex

    index = NearDuplicateIndex(THRESHOLD, NUM_PERM, NGRAM, SEED, bands=bands, rows=rows, verify=verify)  # type: ignore[arg-type]
    watch.run("insert", lambda: index.add_signatures(signed))
    ids = watch.run("clusters", index.clusters)
    return ids, index.stats()


def reactor_insert_query(signed: Any, watch: Stopwatch) -> np.ndarray:
    """The engine's ``MinHashIndex`` (9 x 13, verify="minhash"): insert all, then query all."""
    from reactor.engine.dedup import MinHashIndex

    index = MinHashIndex(NUM_PERM, BANDS, ROWS, THRESHOLD, "minhash", signed.scheme)
    watch.run("insert", lambda: index.add(signed.signatures, None, None))
    return watch.run("query", lambda: index.query(signed.signatures, None, None))


def default_banding() -> tuple[int, int]:
    from reactor.data.dedup import lsh_params

    params = lsh_params(THRESHOLD, NUM_PERM)
    return params.bands, params.rows


# -------------------------------------------------------------------------------------- quality
def clusters_from_pairs(n: int, pairs: Iterable[tuple[int, int]]) -> np.ndarray:
    """Union-find over pairs; cluster id = smallest member index (reactor's convention)."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    return np.array([find(i) for i in range(n)], dtype=np.int64)


def linked_to_rep(members: list[int], rep: int, jac: ExactJaccard, cap: int = 64) -> set[int]:
    """Members reachable from ``rep`` through pairs of exact Jaccard >= threshold inside the cluster
    (pairs with ``rep`` only for clusters larger than ``cap``).
    """
    if len(members) > cap:
        return {rep} | {m for m in members if jac(m, rep) >= THRESHOLD}
    reached, frontier = {rep}, [rep]
    while frontier:
        a = frontier.pop()
        for b in members:
            if b not in reached and jac(a, b) >= THRESHOLD:
                reached.add(b)
                frontier.append(b)
    return reached


def truth_jaccard(corpus: Corpus, jac: ExactJaccard) -> np.ndarray:
    """Exact 5-gram Jaccard of every injected (copy, source) pair."""
    return np.array([jac(int(a), int(b)) for a, b in corpus.pairs], dtype=np.float64)


def evaluate(corpus: Corpus, ids: np.ndarray, jac: ExactJaccard, truth_j: np.ndarray) -> dict[str, Any]:
    """Recall of the injected pairs and precision of the removed documents for one clustering."""
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    together = ids[corpus.pairs[:, 0]] == ids[corpus.pairs[:, 1]]
    near, exact, above = corpus.pair_kind == 1, corpus.pair_kind == 2, truth_j >= THRESHOLD
    removed = np.nonzero(ids != np.arange(n))[0]
    reps = ids[removed]
    family_ok = int(np.sum(corpus.family[removed] == corpus.family[reps]))
    order = np.argsort(ids, kind="stable")
    bounds = np.nonzero(np.diff(ids[order]))[0] + 1
    fp_exact = 0
    for group in np.split(order, bounds):
        if len(group) > 1:
            members = [int(m) for m in group]
            fp_exact += len(members) - len(linked_to_rep(members, int(ids[group[0]]), jac))

    def frac(mask: np.ndarray) -> float | None:
        return float(together[mask].mean()) if mask.any() else None

    k = len(removed)
    return {
        "removed_docs": k,
        "clusters_with_dups": len(np.unique(reps)),
        "recall_all": frac(np.ones_like(together)),
        "recall_exact": frac(exact),
        "recall_near": frac(near),
        "recall_j_ge_t": frac(above),
        "pairs_j_ge_t": int(above.sum()),
        "precision_family": family_ok / k if k else None,
        "precision_exact_j": (k - fp_exact) / k if k else None,
        "false_positives_after_exact": fp_exact,
    }


def s_curve(j: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """P(candidate) of pairs with Jaccard ``j`` under ``bands`` x ``rows`` banding."""
    return 1 - (1 - j**rows) ** bands


def truth_summary(corpus: Corpus, truth_j: np.ndarray) -> dict[str, Any]:
    near, above = truth_j[corpus.pair_kind == 1], truth_j >= THRESHOLD
    return {
        "edit": corpus.edit,
        "docs": len(corpus.texts),
        "pairs": len(truth_j),
        "near_pairs": len(near),
        "exact_pairs": int(np.sum(corpus.pair_kind == 2)),
        "pairs_j_ge_t": int(np.sum(truth_j >= THRESHOLD)),
        "expected_recall_j_ge_t": float(np.mean(s_curve(truth_j[above], BANDS, ROWS)))
        if above.any()
        else None,
        "near_j_mean": float(near.mean()) if len(near) else None,
        "near_j_p5": float(np.percentile(near, 5)) if len(near) else None,
        "near_j_p95": float(np.percentile(near, 95)) if len(near) else None,
        "near_j_max": float(near.max()) if len(near) else None,
        "sha256_prefix": corpus.sha256[:16],
    }


def estimate_error(estimates: Sequence[float], exact: np.ndarray) -> dict[str, float]:
    """Bias and RMSE of MinHash Jaccard estimates against the exact values."""
    diff = np.asarray(estimates, dtype=np.float64) - exact
    return {
        "mean_estimate": float(np.mean(estimates)),
        "bias": float(diff.mean()),
        "rmse": float(np.sqrt((diff**2).mean())),
    }


def quality(corpus: Corpus, peers: Sequence[str], known: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every clustering on one corpus, scored; ``known`` reuses outputs already computed (timed runs)."""
    known = known or {}
    jac = ExactJaccard(corpus.texts)
    truth_j = truth_jaccard(corpus, jac)
    n, texts, watch = len(corpus.texts), corpus.texts, Stopwatch()
    near = corpus.pairs[corpus.pair_kind == 1]
    signed = known["signed"] if "signed" in known else reactor_sign_sets(texts)
    sig = signed.signatures
    estimates = {
        "reactor": estimate_error(
            (sig[near[:, 0]] == sig[near[:, 1]]).mean(axis=1), truth_j[corpus.pair_kind == 1]
        )
    }
    bands, rows = default_banding()
    outputs: dict[str, np.ndarray] = {}
    for verify in ("jaccard", "minhash", "none"):
        outputs[f"reactor {BANDS}x{ROWS} verify={verify}"] = reactor_index(signed, verify, watch)[0]
    outputs[f"reactor default {bands}x{rows} verify=jaccard"] = reactor_index(
        signed, "jaccard", watch, None, None
    )[0]
    for peer in peers:
        sketches = known.get(f"{peer}_sketches")
        if sketches is None:
            sketches = datasketch_sign(texts, watch) if peer == "datasketch" else rensa_objects(texts)
        pairs = known.get(f"{peer}_pairs")
        if pairs is None:
            pairs = (datasketch_lsh if peer == "datasketch" else rensa_lsh)(sketches, watch)
        estimates[peer] = estimate_error(
            [sketches[int(a)].jaccard(sketches[int(b)]) for a, b in near], truth_j[corpus.pair_kind == 1]
        )
        if peer == "datasketch":
            outputs[f"datasketch {BANDS}x{ROWS} raw LSH"] = clusters_from_pairs(n, pairs)
            verified = [(i, j) for i, j in pairs if jac(i, j) >= THRESHOLD]
            outputs[f"datasketch {BANDS}x{ROWS} + exact-J filter (Python)"] = clusters_from_pairs(n, verified)
        else:
            outputs[f"rensa {RENSA_BANDS}x{NUM_PERM // RENSA_BANDS} raw LSH"] = clusters_from_pairs(n, pairs)
    return {
        "truth": truth_summary(corpus, truth_j),
        "estimates_near_pairs": estimates,
        "systems": {name: evaluate(corpus, ids, jac, truth_j) for name, ids in outputs.items()},
    }


# ------------------------------------------------------------------------------------- memory
def _proc_status_bytes(field: str) -> int:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in bytes."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def rss_bytes() -> int:
    """Resident set size now (psutil when installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        return _proc_status_bytes("VmRSS")
    return int(psutil.Process().memory_info().rss)


def trim_heap() -> None:
    """Return freed heap pages to the OS (glibc ``malloc_trim``), so RSS growth is not hidden by reuse."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak() -> bool:
    """Reset the kernel's RSS high-water mark (VmHWM); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


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
    after, peak = rss_bytes(), _proc_status_bytes("VmHWM")
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
    cmd = [sys.executable, __file__, "--_child", json.dumps(spec)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if proc.returncode != 0:
        return f"subprocess failed ({proc.returncode}): {proc.stderr.strip()[-800:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -------------------------------------------------------------------------------------- scale
SCALE_WORDS, SCALE_DUP_FRAC, SCALE_EDIT, SCALE_CHUNK = 215, 0.05, 0.02, 20_000


def scale_word_ids(n: int, rng: np.random.Generator, cdf: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(n, 215) int16 word ids: originals, then 5% near copies (2% of words redrawn), 5% exact copies,
    rows shuffled; also the injected near and exact counts.
    """
    n_dup = int(n * SCALE_DUP_FRAC)
    n_orig = n - 2 * n_dup
    ids = np.empty((n, SCALE_WORDS), dtype=np.int16)
    for lo in range(0, n_orig, 100_000):
        hi = min(lo + 100_000, n_orig)
        ids[lo:hi] = zipf_draw(rng, cdf, (hi - lo) * SCALE_WORDS).reshape(hi - lo, SCALE_WORDS)
    near = slice(n_orig, n_orig + n_dup)
    ids[near] = ids[rng.integers(0, n_orig, n_dup)]
    k = max(1, round(SCALE_EDIT * SCALE_WORDS))
    cols = np.argsort(rng.random((n_dup, SCALE_WORDS)), axis=1)[:, :k]  # k distinct positions per copy
    rows = np.arange(n_orig, n_orig + n_dup)[:, None]
    ids[rows, cols] = zipf_draw(rng, cdf, n_dup * k).reshape(n_dup, k)  # a redraw may equal the old word
    ids[n_orig + n_dup :] = ids[rng.integers(0, n_orig, n - n_orig - n_dup)]
    return ids[rng.permutation(n)], n_dup, n - n_orig - n_dup


def scale_texts(ids: np.ndarray, words: list[str]) -> list[str]:
    """Join word ids into space-separated texts with numpy gathers over a byte table, in chunks."""
    table = np.frombuffer("".join(w + " " for w in words).encode(), dtype=np.uint8)
    wlen = np.array([len(w) + 1 for w in words], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(wlen)[:-1]])
    texts: list[str] = []
    for lo in range(0, len(ids), SCALE_CHUNK):
        chunk = ids[lo : lo + SCALE_CHUNK].astype(np.int64)
        lens = wlen[chunk].ravel()
        ends = np.cumsum(lens)
        gather = np.arange(ends[-1]) + np.repeat(start[chunk].ravel() - (ends - lens), lens)
        buf = table[gather].tobytes()
        doc_end = ends[SCALE_WORDS - 1 :: SCALE_WORDS]
        doc_start = np.concatenate([[0], doc_end[:-1]])
        texts.extend(buf[a : b - 1].decode("ascii") for a, b in zip(doc_start, doc_end, strict=True))
    return texts


def scale_child(n: int, verifies: Sequence[str]) -> dict[str, Any]:
    """(In a fresh process.) Exact + MinHash near dedup of ``n`` generated docs with 2 engine threads."""
    import reactor.engine
    from reactor.data.dedup import exact_duplicates, lsh_params, near_duplicates

    t0 = time.perf_counter()
    rng = np.random.default_rng(CORPUS_SEED)
    words, cdf = make_vocab(rng)
    ids, n_near, n_exact = scale_word_ids(n, rng, cdf)
    texts = scale_texts(ids, words)
    del ids
    out: dict[str, Any] = {
        "docs": n,
        "generate_s": time.perf_counter() - t0,
        "mean_chars": float(np.mean([len(t) for t in texts[:10_000]])),
        "injected_near": n_near,
        "injected_exact": n_exact,
        "banding": asdict(lsh_params(THRESHOLD, NUM_PERM)),
        "threads": 2,
    }
    gc.collect()
    out["rss_corpus_bytes"] = rss_bytes()
    with reactor.engine.threads(2):
        for verify in verifies:
            gc.collect()
            peak_reset = reset_peak()
            watch = Stopwatch()
            exact = watch.run("exact", lambda: exact_duplicates(texts))
            near = watch.run("near", lambda v=verify: near_duplicates(texts, THRESHOLD, verify=v))
            rec = watch.totals()
            rec["peak_rss_bytes"] = _proc_status_bytes("VmHWM") if peak_reset else None
            rec["exact_removed"] = int(n - len(np.unique(exact)))
            rec["near_removed"] = int(n - len(np.unique(near)))
            out[verify] = rec
            del exact, near
    return out


# ------------------------------------------------------------------------------------ reports
def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("reactor", "numpy", "datasketch", "xxhash", "rensa", "psutil"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cpus": os.cpu_count(), "loadavg_start": list(os.getloadavg())}


def fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:.2f}M"
    if a >= 1e4:
        return f"{value / 1e3:.0f}k"
    if a >= 100:
        return f"{value:,.0f}"
    if a >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a is not None and b else "n/a"


def verdict(ok: bool | None, info: bool = False) -> str:
    if info:
        return "info"
    return "n/a" if ok is None else ("PASS" if ok else "**FAIL**")


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def rate(summary: dict[str, Any], name: str, phase: str | None = None, wall: bool = False) -> float | None:
    """Docs per CPU-second (or wall-second) of a case, or of one of its phases."""
    case = summary.get(name)
    if case is None:
        return None
    if phase is None:
        return case["docs_per_s" if wall else "docs_per_cpu_s"]
    seconds = case["median"].get(f"{phase}_{'wall' if wall else 'cpu'}_s")
    return case["n_docs"] / seconds if seconds else None


SIG_ROWS: list[tuple[str, str, str | None]] = [
    ("reactor `minhash_signatures`, 1 thread (end to end from `str`)", "reactor", None),
    ("reactor `minhash_signatures`, 2 threads", "reactor_2t", None),
    (
        "reactor `engine.dedup.minhash(with_sets=True)` (sets for verify=jaccard), 1 thread",
        "reactor_sets",
        None,
    ),
    ("datasketch `MinHash.bulk` + xxh32, incl. Python shingling", "datasketch", None),
    ("datasketch `MinHash.bulk` + xxh32, sketch only (shingles given)", "datasketch", "sketch"),
    ("rensa `digest_matrix_from_token_sets`, incl. Python shingling", "rensa", None),
    ("rensa `digest_matrix_from_token_sets`, sketch only (shingles given)", "rensa", "sketch"),
    ("(reference) Python shingling alone: split + 5-gram join + encode", "datasketch", "tokenise"),
    (
        "(reference) reactor `exact_fingerprints`: normalise + tokenise + doc hash, no shingles",
        "reactor_exact",
        None,
    ),
]


def signature_section(res: dict[str, Any]) -> list[str]:
    summ = res["signatures"]
    r1 = rate(summ, "reactor")
    rows = []
    for label, name, phase in SIG_ROWS:
        if name not in summ:
            continue
        cpu_rate = rate(summ, name, phase)
        rows.append([label, fmt(cpu_rate), fmt(rate(summ, name, phase, wall=True)), ratio(r1, cpu_rate)])
    lines = ["### 1. MinHash signatures (word 5-grams, 128 perms)", ""]
    lines += table(["System", "docs/CPU-s", "docs/s (wall)", "reactor 1T / row (CPU)"], rows)
    s, mach = res.get("scaling"), res["machine"]
    if s:
        lines += [
            "",
            f"2 threads: wall speedup {s['wall_speedup']:.2f}x, CPU-time efficiency "
            f"{s['cpu_efficiency']:.2f} (1-thread CPU-s / 2-thread CPU-s; 1.0 = no extra work, so "
            f"{2 * s['cpu_efficiency']:.2f}x on two free cores). Load average at the start: "
            f"{mach['loadavg_start'][0]:.2f} on {mach['cpus']} CPUs, which bounds the wall speedup.",
        ]
    return lines


LSH_ROWS: list[tuple[str, str]] = [
    (
        f"reactor `NearDuplicateIndex` {BANDS}x{ROWS} verify=minhash: add_signatures + clusters",
        "reactor_minhash",
    ),
    (
        f"reactor `NearDuplicateIndex` {BANDS}x{ROWS} verify=jaccard: add_signatures + clusters",
        "reactor_jaccard",
    ),
    (f"reactor engine `MinHashIndex` {BANDS}x{ROWS} minhash: insert all, then query all", "reactor_query"),
    ("reactor default banding verify=jaccard: add_signatures + clusters", "reactor_default"),
    (f"datasketch `MinHashLSH(0.8)` ({BANDS}x{ROWS}): insertion session + query each", "datasketch"),
    (f"rensa `RMinHashLSH(0.8, 128, {RENSA_BANDS})`: insert_pairs + query_all", "rensa"),
]


def lsh_section(res: dict[str, Any]) -> list[str]:
    summ = res["lsh"]
    peers = [p for p in PEERS if p in summ]
    rows = []
    for label, name in LSH_ROWS:
        if name not in summ:
            continue
        cpu_rate = rate(summ, name)
        phases = ", ".join(
            f"{k[:-6]} {fmt(summ[name]['n_docs'] / v)}"
            for k, v in summ[name]["median"].items()
            if k.endswith("_cpu_s") and k != "cpu_s" and v
        )
        row = [label, fmt(cpu_rate), fmt(rate(summ, name, wall=True)), phases]
        rows.append(
            row + [ratio(cpu_rate, rate(summ, p)) if name.startswith("reactor") else "" for p in peers]
        )
    lines = ["", "### 2. LSH insert + query at threshold 0.8 (signatures given)", ""]
    head = ["System", "docs/CPU-s", "docs/s (wall)", "phases (docs/CPU-s)", *(f"row / {p}" for p in peers)]
    lines += table(head, rows)
    lines.append("")
    lines.append(
        "The reactor `add_signatures` rows link every new document to its (verified) candidates while "
        "inserting, so they do insert + query + union-find in one pass; the peers' rows stop at candidate "
        "lists (no verification, no clustering)."
    )
    return lines


def memory_section(res: dict[str, Any]) -> list[str]:
    mem = res["memory"]
    rows = []
    for name, label in (
        ("reactor-minhash", f"reactor index {BANDS}x{ROWS} verify=minhash"),
        ("reactor-jaccard", f"reactor index {BANDS}x{ROWS} verify=jaccard (keeps shingle sets)"),
        ("datasketch", "datasketch MinHash objects + MinHashLSH"),
        ("rensa", "rensa RMinHash objects + RMinHashLSH"),
    ):
        m = mem.get(name)
        if m is None:
            continue
        if isinstance(m, str):
            rows.append([label, "n/a", "n/a", "n/a", m[:120]])
            continue
        rows.append(
            [
                label,
                fmt(m.get("index_bytes_per_doc")),
                fmt(m["rss_bytes_per_doc"]),
                fmt(m.get("peak_growth_bytes_per_doc")),
                "",
            ]
        )
    lines = ["", "### 3. Resident memory for signatures + index, bytes per document", ""]
    lines += table(
        ["System", "index.stats() B/doc", "RSS growth B/doc", "peak RSS growth B/doc", "note"], rows
    )
    lines += [
        "",
        "RSS growth: a fresh process per system, corpus texts already loaded, signing + indexing the "
        "corpus, shingle lists freed. A uint32 signature row alone is 512 B/doc; reactor's index keeps "
        "its own copy (the caller may drop the signature array, as here).",
    ]
    return lines


def quality_section(res: dict[str, Any]) -> list[str]:
    lines = ["", "### 4. Precision / recall against the injected duplicates", ""]
    for key, q in res["quality"].items():
        t = q["truth"]
        lines += [
            f"Corpus {key}: {t['docs']:,} docs, {t['pairs']:,} injected pairs ({t['near_pairs']:,} near, "
            f"{t['exact_pairs']:,} exact); near-pair 5-gram Jaccard mean {pct(t['near_j_mean'])}, "
            f"p5 {pct(t['near_j_p5'])}, p95 {pct(t['near_j_p95'])}, max {pct(t['near_j_max'])}; "
            f"{t['pairs_j_ge_t']:,} pairs have J >= {THRESHOLD} (S-curve expectation of their recall at "
            f"{BANDS}x{ROWS}: {pct(t['expected_recall_j_ge_t'])}); sha256 {t['sha256_prefix']}.",
            "",
        ]
        head = [
            "Config",
            "removed",
            "recall all / exact / near",
            f"recall J>={THRESHOLD}",
            "precision family / exact-J",
            "FP after exact",
        ]
        rows = [
            [
                name,
                f"{s['removed_docs']:,}",
                f"{pct(s['recall_all'])} / {pct(s['recall_exact'])} / {pct(s['recall_near'])}",
                pct(s["recall_j_ge_t"]),
                f"{pct(s['precision_family'])} / {pct(s['precision_exact_j'])}",
                str(s["false_positives_after_exact"]),
            ]
            for name, s in q["systems"].items()
        ]
        lines += [*table(head, rows), ""]
        est = q["estimates_near_pairs"]
        lines += [
            "MinHash Jaccard estimate on the near pairs (bias = mean estimate - exact, RMSE): "
            + "; ".join(f"{k} {v['bias']:+.4f} / {v['rmse']:.4f}" for k, v in est.items())
            + ".",
            "",
        ]
    lines.append(
        "removed = documents that are not their cluster's smallest id. FP after exact = removed documents "
        f"not joined to their representative by a chain of exact-Jaccard >= {THRESHOLD} pairs."
    )
    return lines


def scale_section(res: dict[str, Any]) -> list[str]:
    s = res.get("scale")
    if s is None:
        return []
    lines = ["", "### 5. Scale: exact + MinHash near dedup, 2 engine threads", ""]
    if isinstance(s, str):
        return [*lines, f"Scale run failed: `{s}`"]
    b = s["banding"]
    lines.append(
        f"{s['docs']:,} docs (~{s['mean_chars']:.0f} chars; {s['injected_exact']:,} exact + "
        f"{s['injected_near']:,} near copies with {SCALE_EDIT:.0%} word edits), generated in "
        f"{s['generate_s']:.0f} s (not timed); banding {b['bands']}x{b['rows']}; corpus RSS "
        f"{s['rss_corpus_bytes'] / 2**30:.2f} GiB."
    )
    rows = []
    for verify in ("minhash", "jaccard"):
        r = s.get(verify)
        if r is None:
            continue
        peak = r["peak_rss_bytes"]
        rows.append(
            [
                f"verify={verify}",
                f"{r['exact_wall_s']:.1f} / {r['exact_cpu_s']:.1f}",
                f"{r['near_wall_s']:.1f} / {r['near_cpu_s']:.1f}",
                f"{r['wall_s']:.1f} / {r['cpu_s']:.1f}",
                "n/a" if peak is None else f"{peak / 2**30:.2f}",
                f"{r['exact_removed']:,} / {r['near_removed']:,}",
            ]
        )
    head = [
        "Mode",
        "exact wall / CPU s",
        "near wall / CPU s",
        "total wall / CPU s",
        "peak RSS GiB",
        "docs removed: exact / near stage",
    ]
    lines.append(
        "The near stage's count includes the exact copies; injected: "
        f"{s['injected_exact'] + s['injected_near']:,} documents. Peak RSS is the process's high-water "
        "mark since the start of that mode (corpus included)."
    )
    return [*lines, "", *table(head, rows)]


def target_rows(res: dict[str, Any]) -> list[list[str]]:
    """(target, measured, verdict) rows."""
    sig, lsh, mem, rows = res["signatures"], res["lsh"], res["memory"], []
    r1 = rate(sig, "reactor")
    rows.append(
        [
            "signatures >= 100k docs/CPU-s, 1 thread",
            fmt(r1),
            verdict(r1 >= TARGETS["signatures_docs_per_cpu_s"]),
        ]
    )
    if "rensa" in sig:
        got = r1 / rate(sig, "rensa")
        rows.append(["signatures faster than rensa (end to end)", f"{got:.1f}x", verdict(got > 1.0)])
        got = r1 / rate(sig, "rensa", "sketch")
        rows.append(
            ["(info) vs rensa's sketch alone, shingles given", f"{got:.1f}x", verdict(got > 1.0, True)]
        )
    if "datasketch" in sig:
        got = r1 / rate(sig, "datasketch")
        rows.append(
            ["(info) vs datasketch bulk+xxh32 (issue: 'about 18x')", f"{got:.1f}x", verdict(None, True)]
        )
    if res.get("scaling"):
        eff = res["scaling"]["cpu_efficiency"]
        rows.append(
            [
                "near-linear with a 2nd thread (CPU efficiency >= 0.85)",
                f"{eff:.2f} (wall {res['scaling']['wall_speedup']:.2f}x)",
                verdict(eff >= TARGETS["two_thread_cpu_efficiency"]),
            ]
        )
    for name in ("reactor_minhash", "reactor_jaccard"):
        got = rate(lsh, name)
        rows.append(
            [
                f"LSH insert+query >= 300k docs/CPU-s ({name[8:]})",
                fmt(got),
                verdict(got >= TARGETS["lsh_docs_per_cpu_s"]),
            ]
        )
    m = mem.get("reactor-minhash")
    if isinstance(m, dict):
        worst = max(m["index_bytes_per_doc"], m["rss_bytes_per_doc"])
        rows.append(
            [
                "signatures + index <= 1 KB/doc (minhash; max of index.stats and RSS)",
                fmt(worst),
                verdict(worst <= TARGETS["bytes_per_doc"]),
            ]
        )
    rows += quality_targets(res)
    s = res.get("scale")
    if isinstance(s, dict) and "minhash" in s:
        wall = s["minhash"]["wall_s"]
        rows.append(
            [f"{s['docs']:,} docs exact + near (minhash) < 60 s wall", f"{wall:.1f} s", verdict(wall < 60)]
        )
    return rows


def quality_targets(res: dict[str, Any]) -> list[list[str]]:
    rows = []
    ours, theirs = f"reactor {BANDS}x{ROWS} verify=jaccard", f"datasketch {BANDS}x{ROWS} raw LSH"
    for key, q in res["quality"].items():
        s = q["systems"]
        rows.append(
            [
                f"{key}: no FP after exact verification (reactor jaccard)",
                str(s[ours]["false_positives_after_exact"]),
                verdict(s[ours]["false_positives_after_exact"] == 0),
            ]
        )
        if theirs not in s:
            continue
        a, b = s[ours]["recall_j_ge_t"], s[theirs]["recall_j_ge_t"]
        n = q["truth"]["pairs_j_ge_t"]
        se = (b * (1 - b) / n) ** 0.5 if b is not None and n else 0.0
        ok = None if a is None or b is None else a >= b
        note = "" if ok or a is None or b is None or b - a > 2 * se else " (within 2 s.e.)"
        rows.append(
            [
                f"{key}: recall(J>=t) >= datasketch at {BANDS}x{ROWS}",
                f"{pct(a)} vs {pct(b)}{note}",
                verdict(ok),
            ]
        )
        a, b = s[ours]["precision_exact_j"], s[theirs]["precision_exact_j"]
        ok = None if a is None or b is None else a >= b
        rows.append(
            [
                f"{key}: precision(exact J) >= datasketch at {BANDS}x{ROWS}",
                f"{pct(a)} vs {pct(b)}",
                verdict(ok),
            ]
        )
    return rows


def markdown(res: dict[str, Any]) -> str:
    cfg, mach = res["config"], res["machine"]
    lines = [
        f"## MinHash dedup: reactor vs datasketch and rensa ({'QUICK smoke run, ' if res['quick'] else ''}"
        f"{cfg['n_docs']:,} docs, word {NGRAM}-grams, {NUM_PERM} perms, t={THRESHOLD}, 1 thread)",
        "",
        f"Machine: {mach['cpu']}, {mach['cpus']} CPUs, load average at start "
        f"{', '.join(f'{x:.2f}' for x in mach['loadavg_start'])}, at end "
        f"{', '.join(f'{x:.2f}' for x in mach['loadavg_end'])}. **Shared host**: rates are per CPU-second of "
        f"this process (median of {cfg['repeats']}); wall-clock rates move with other load.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()) + ".",
    ]
    for peer, err in res["unavailable"].items():
        lines.append(f"**{peer} unavailable, its columns skipped**: `{err}`")
    lines += ["", *signature_section(res), *lsh_section(res), *memory_section(res), *quality_section(res)]
    lines += scale_section(res)
    lines += ["", "### Targets (issue #3)", "", *table(["Target", "Measured", "Verdict"], target_rows(res))]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------- main
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
        "versions": versions(),
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
