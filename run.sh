#!/usr/bin/env bash
# Set up (first time only) and run PaSa Desktop. With no arguments it opens the desktop window;
# any arguments go to the `pasa` command line (e.g. ./run.sh search "coded computation for stragglers").
# On first use the offline index is built from the real corpus beside this clone (or $PASA_CORPUS).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/scripts/setup.sh"
shared="$here/../shared/data"
if [ -z "${PASA_CORPUS:-}" ] && [ -f "$shared/corpus/papers.jsonl.gz" ]; then
  export PASA_CORPUS="$shared/corpus/papers.jsonl.gz"
fi
if [ -z "${PASA_FULLTEXT:-}" ] && [ -f "$shared/fixtures/unarXive_data_sample.tar.gz" ]; then
  export PASA_FULLTEXT="$shared/fixtures/unarXive_data_sample.tar.gz"
fi
"$here/.venv/bin/pasa" index ensure
exec "$here/.venv/bin/pasa" "$@"
