#!/usr/bin/env bash
# GPU readiness check (under 5 minutes on one GPU): runs from the source tree with the installed torch,
# without Ray or this project's pinned packages. Prints one line and exits 0 where no GPU is present.
#   bash bench/gpu_check.sh [--steps 10] [--batch-size 64]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHONPATH=. exec "${PYTHON:-python3}" bench/gpu_check.py "$@"
