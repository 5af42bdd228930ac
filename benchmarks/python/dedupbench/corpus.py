"""The anchor's synthetic corpus: Zipf vocabulary, originals, near and exact copies, ground truth."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

CORPUS_SEED, VOCAB, ZIPF_DRAWS, DOC_CHARS = 12345, 5_000, 400, 1_000
ANCHOR_SHA256 = "0424650eb0bcc3ec"  # prefix of sha256("\n".join(texts)) of the 20k 5%-edit corpus


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
