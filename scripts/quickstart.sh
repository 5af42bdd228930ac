#!/usr/bin/env bash
# The main job: set up (idempotent), show the build, run the quickstart.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh" run
"$ROOT/.venv/bin/reactor" info
"$ROOT/.venv/bin/reactor" quickstart "$@"
