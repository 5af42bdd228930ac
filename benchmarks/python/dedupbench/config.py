"""Benchmark constants, performance targets and the corpus sizes of a full or quick run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "results"
NUM_PERM, NGRAM, THRESHOLD, SEED = 128, 5, 0.8, 0  # SEED: the MinHash seed of every system
BANDS, ROWS = 9, 13  # datasketch's MinHashLSH(threshold=0.8, num_perm=128)
RENSA_BANDS = 8  # rensa needs num_perm % bands == 0: 8 x 16
PEERS = ("datasketch", "rensa")
VERSION_DISTS = ("reactor", "numpy", "datasketch", "xxhash", "rensa", "psutil")  # recorded with each run
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
