#!/usr/bin/env bash
# The whole GPU check in one call, for a machine with an NVIDIA GPU (e.g. the lent device):
# builds the CUDA variant, runs the C++ CUDA tests (CUDA twins against their CPU references), the
# Python CUDA tests when a CUDA build of torch is importable, and the CUDA kernel benchmark.
# Results go to ${OUT:-build/gpu-check}/. Needs nvcc, cmake, ninja, a C++ compiler and Python 3.11+.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="${OUT:-$ROOT/build/gpu-check}"
mkdir -p "$OUT_DIR"
cd "$ROOT"
export PATH="$PATH:/usr/local/cuda/bin"
status=0
PY="${PYTHON:-python3}"
[ -x "$ROOT/.venv/bin/python" ] && PY="$ROOT/.venv/bin/python"

nvidia-smi | tee "$OUT_DIR/nvidia-smi.txt" || echo "nvidia-smi not available"

echo "== CUDA build and C++ tests =="
tests=OFF
cmake --find-package -DNAME=GTest -DCOMPILER_ID=GNU -DLANGUAGE=CXX -DMODE=EXIST >/dev/null 2>&1 && tests=ON
cmake -S . -B build/gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLFORGE_ENABLE_CUDA=ON -DMLFORGE_BUILD_TESTS="$tests" \
  -DCMAKE_CUDA_ARCHITECTURES=native > "$OUT_DIR/configure.log" 2>&1 || { cat "$OUT_DIR/configure.log"; exit 1; }
cmake --build build/gpu 2>&1 | tail -5
if [ "$tests" = ON ]; then
  ctest --test-dir build/gpu --output-on-failure 2>&1 | tee "$OUT_DIR/ctest.txt" || status=1
else
  echo "GoogleTest not found: C++ CUDA tests skipped" | tee "$OUT_DIR/ctest.txt"
fi

echo "== Python CUDA tests and benchmark =="
if "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  REACTOR_CUDA=ON "$PY" -m pip install --no-deps --no-build-isolation -Cbuild-dir=build/gpu-wheel \
    -Ccmake.define.CMAKE_CUDA_ARCHITECTURES=native . > "$OUT_DIR/pip.log" 2>&1 || { tail -20 "$OUT_DIR/pip.log"; status=1; }
  "$PY" -m pytest tests/python -m cuda -p no:cacheprovider 2>&1 | tee "$OUT_DIR/pytest-cuda.txt" || status=1
  "$PY" -m reactor bench kernels --device cuda --sizes small --sizes medium --json "$OUT_DIR/kernels-cuda.json" \
    --markdown "$OUT_DIR/kernels-cuda.md" 2>&1 | tail -30 || status=1
else
  echo "no CUDA-enabled torch importable: Python CUDA tests and benchmark skipped" | tee "$OUT_DIR/pytest-cuda.txt"
fi
exit $status
