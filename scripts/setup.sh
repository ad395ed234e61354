#!/usr/bin/env bash
# Create (or update) the project's virtualenv in .venv. Safe to run any number of times:
# it reinstalls only when pyproject.toml changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), "bigcode-release needs Python 3.11"'

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  "$PYTHON" -m venv .venv
fi

quiet_pip() {  # pip's exit status survives; the machine's noisy index warnings do not
  .venv/bin/python -m pip "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }
}

stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "[setup] installing bigcode-release and its dependencies into .venv (first run: a few minutes)"
  quiet_pip install -q --upgrade pip
  # torch first, pinned: on these machines torch==2.13.0 is a local CPU wheel
  quiet_pip install -q "torch==2.13.0"
  quiet_pip install -q -e ".[all,dev]"
  .venv/bin/python -c "import bigcode_release, datatrove, torch"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
