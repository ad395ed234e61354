#!/usr/bin/env bash
# The clients the serving tests point at `serve`, in their own virtualenv (.venv-clients): TGI's
# `text-generation` (it pins huggingface_hub<1, which the project's venv cannot hold) and `openai`.
# Safe to run again: it reinstalls only when the pins below change.
set -euo pipefail
cd "$(dirname "$0")/.."
PINS="text-generation==0.7.0 openai==3.57.0"
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
stamp=".venv-clients/.installed-$(echo "$PINS" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "[setup] installing $PINS into .venv-clients"
  "$PYTHON" -m venv .venv-clients
  .venv-clients/bin/python -m pip install -q $PINS 2>&1 | { grep -v "^WARNING: Location" || true; }
  .venv-clients/bin/python -c "import text_generation, openai"
  rm -f .venv-clients/.installed-*
  touch "$stamp"
fi
