"""A tour of reactor.engine: zero-copy arrays in and out, deterministic parallel random numbers,
a reduction, and the errors bad input gets. Run: .venv/bin/python examples/python/engine_tour.py
"""

from __future__ import annotations

import numpy as np

from reactor import engine
from reactor.errors import InvalidArgumentError

print(engine.build_info())

# Results are numpy arrays that own engine memory (no copy on the way out).
samples = engine.normal(1_000_000, seed=42, mean=3.0, std=2.0, dtype=np.float32)
print(f"mean {engine.reduce_sum(samples) / samples.size:.4f}, std {samples.std():.4f}")

# Inputs are borrowed in place: the engine writes into the caller's array.
buffer = np.empty(8)
engine.fill_uniform(buffer, seed=1, low=-1.0, high=1.0)
print(
    "filled in place:",
    buffer.round(3),
    "same memory:",
    engine.describe_array(buffer).data == buffer.ctypes.data,
)

# Same seed, same numbers, whatever the thread count.
with engine.threads(1):
    serial = engine.normal(100_000, seed=7)
assert np.array_equal(serial, engine.normal(100_000, seed=7))

# Bad input gets a clear error naming the parameter, never a silent copy.
try:
    engine.reduce_sum(np.zeros((4, 4), dtype=np.float32)[:, ::2])
except InvalidArgumentError as error:
    print("rejected:", error)
