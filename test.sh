#!/usr/bin/env bash
# Set up (first time only) and run the whole test suite: lint, import contracts, types, tests, and the
# desktop bundle (built with PyInstaller and smoke-tested; ~7 min; PASA_SKIP_BUNDLE=1 leaves it out).
# Extra arguments go to pytest.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
scripts/setup.sh dev
export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check .
.venv/bin/lint-imports
.venv/bin/mypy
.venv/bin/python -m pytest -m "not bundle" "$@"
if [ "${PASA_SKIP_BUNDLE:-0}" != "1" ]; then
  .venv/bin/python -m pytest -m bundle tests/packaging "$@"
fi
