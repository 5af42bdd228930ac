"""Precision / recall of every system's clustering against the injected duplicates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from dedupbench.config import BANDS, NUM_PERM, RENSA_BANDS, ROWS, THRESHOLD
from dedupbench.corpus import Corpus
from dedupbench.peers import datasketch_lsh, datasketch_sign, rensa_lsh, rensa_objects
from dedupbench.reactor_side import default_banding, reactor_index, reactor_sign_sets
from dedupbench.shingling import ExactJaccard
from dedupbench.timing import Stopwatch


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
