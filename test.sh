#!/usr/bin/env bash
# Set up (first time only) and run the whole test suite: lint, import contracts, types, tests.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
scripts/setup.sh dev
export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check .
.venv/bin/lint-imports
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
