"""The peer systems, datasketch and rensa: import check, signing and LSH candidate pairs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from dedupbench.config import BANDS, NUM_PERM, RENSA_BANDS, ROWS, SEED, THRESHOLD
from dedupbench.shingling import shingle_bytes, shingle_strs
from dedupbench.timing import Stopwatch


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
