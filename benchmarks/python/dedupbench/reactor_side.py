"""reactor's side: signatures, fingerprints, ``NearDuplicateIndex`` and ``MinHashIndex`` runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dedupbench.config import BANDS, NGRAM, NUM_PERM, ROWS, SEED, THRESHOLD
from dedupbench.timing import Stopwatch


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
