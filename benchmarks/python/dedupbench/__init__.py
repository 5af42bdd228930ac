"""The MinHash near-dedup benchmark behind ``benchmarks/python/dedup_bench.py``."""
