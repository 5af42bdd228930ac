"""The ``--scale N`` run: generate N ~1 KB docs with numpy, then exact + near dedup in a child process."""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from benchkit import reset_peak, status_bytes
from dedupbench.config import NUM_PERM, THRESHOLD
from dedupbench.corpus import CORPUS_SEED, make_vocab, zipf_draw
from dedupbench.memory import rss_bytes
from dedupbench.timing import Stopwatch

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
            rec["peak_rss_bytes"] = status_bytes("VmHWM") if peak_reset else None
            rec["exact_removed"] = int(n - len(np.unique(exact)))
            rec["near_removed"] = int(n - len(np.unique(near)))
            out[verify] = rec
            del exact, near
    return out
