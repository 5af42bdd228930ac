#!/usr/bin/env bash
# Sets up everything Reactor needs, idempotently: Debian packages (when root), a virtualenv in
# .venv, Python dependencies, then builds the wheel and installs it into .venv.
#   scripts/setup.sh run    runtime dependencies with the trainers' (torch CPU, transformers...),
#                           used by scripts/quickstart.sh
#   scripts/setup.sh test   plus test tools and GoogleTest/Google Benchmark
# Re-running is fast: dependencies are reinstalled only when pyproject.toml or this script change,
# and the C++ build is incremental (persistent build/wheel directory, ccache when installed).
set -euo pipefail

MODE="${1:-run}"
case "$MODE" in run|test) ;; *) echo "usage: scripts/setup.sh [run|test]" >&2; exit 2 ;; esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
TORCH_PIN="torch==2.13.0"   # the CPU build: pip finds it without a multi-GB CUDA download
cd "$ROOT"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# Debian packages: the compiler and build tools, GoogleTest and Google Benchmark for the tests,
# ccache (optional, faster rebuilds), and the venv/headers a Debian-packaged Python lacks. A failed
# apt run is reported, not fatal: cmake and ninja have pip fallbacks below, and a missing piece
# is named by the step that needs it.
install_debian_packages() {
  local wanted=(cmake ninja-build g++ ccache)
  [ "$MODE" = test ] && wanted+=(libgtest-dev libbenchmark-dev)
  local py_version
  py_version="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")' 2>/dev/null || true)"
  if [ "$(command -v python3)" = /usr/bin/python3 ] && [ -n "$py_version" ]; then
    wanted+=("python${py_version}-venv" "python${py_version}-dev")
  fi
  local missing=()
  for pkg in "${wanted[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    log "installing Debian packages: ${missing[*]}"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
      log "warning: apt-get could not install ${missing[*]}; continuing with what is there"
    fi
  else
    log "warning: missing packages ${missing[*]} (not root: install them with your package manager)"
  fi
}

find_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  echo "error: Python >= 3.11 is required (set PYTHON=/path/to/python3.11)" >&2
  exit 1
}

# Requirements straight from pyproject.toml, so the dependency list lives in one place.
project_requirements() {
  "$VENV/bin/python" - "$MODE" <<'PY'
import sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))
extras = project["project"]["optional-dependencies"]
reqs = list(project["build-system"]["requires"]) + project["project"]["dependencies"] + extras["train"]
if sys.argv[1] == "test":
    reqs += extras["test"]
print("\n".join(reqs))
PY
}

command -v dpkg >/dev/null && install_debian_packages

if [ ! -x "$VENV/bin/python" ]; then
  PY="$(find_python)"
  log "creating virtualenv .venv with $PY"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --quiet)

stamp="$VENV/.reactor-setup-$MODE"
fingerprint="$(cat pyproject.toml "$ROOT/scripts/setup.sh" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$fingerprint" ]; then
  log "installing Python dependencies ($MODE)"
  if ! command -v cmake >/dev/null || ! cmake -P /dev/stdin <<<'if(CMAKE_VERSION VERSION_LESS 3.25)
message(FATAL_ERROR "old")
endif()' >/dev/null 2>&1; then
    "${PIP[@]}" install "cmake>=3.25"
  fi
  command -v ninja >/dev/null || "${PIP[@]}" install ninja
  "${PIP[@]}" install "$TORCH_PIN"  # first, so the train extra's torch>=2.3 is already met
  project_requirements | "${PIP[@]}" install -r /dev/stdin
  echo "$fingerprint" > "$stamp"
fi

# Build the wheel (incrementally) and install it, so tests and users run the installed package.
# .venv/bin first: it holds the pip fallbacks for cmake and ninja when the system has none.
export PATH="$VENV/bin:$PATH"
log "building the reactor wheel (incremental)"
rm -rf "$ROOT/dist"
"${PIP[@]}" wheel --no-deps --no-build-isolation -Cbuild-dir=build/wheel -w "$ROOT/dist" "$ROOT"
"${PIP[@]}" install --no-deps --force-reinstall "$ROOT"/dist/reactor-*.whl
log "ready: $("$VENV/bin/reactor" --version)"
