#!/usr/bin/env bash
# Set up (first time only) and run PaSa Desktop. With no arguments it opens the desktop window;
# any arguments go to the `pasa` command line (e.g. ./run.sh search "coded computation for stragglers").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/scripts/setup.sh"
exec "$here/.venv/bin/pasa" "$@"
