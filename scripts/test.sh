#!/usr/bin/env bash
# Runs every test: set up (idempotent), the C++ GoogleTest suite through ctest, then pytest against
# the installed wheel. Extra arguments go to pytest (e.g. -k random).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh test
export PATH="$ROOT/.venv/bin:$PATH"  # cmake/ninja fallbacks that setup.sh may have installed

echo "== C++ tests (GoogleTest via ctest) =="
cmake -S . -B build/cpp -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLFORGE_BUILD_TESTS=ON -DMLFORGE_BUILD_BENCHMARKS=ON >/dev/null
cmake --build build/cpp
ctest --test-dir build/cpp --output-on-failure -j "$(nproc)"

echo "== Python tests (pytest, installed wheel) =="
REACTOR_WHEEL="$(ls "$ROOT"/dist/reactor-*.whl)" REACTOR_TEST_INSTALLED=1 \
  "$ROOT/.venv/bin/python" -m pytest tests/python "$@"
