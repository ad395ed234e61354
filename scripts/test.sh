#!/usr/bin/env bash
# Set up .venv, then run the test suite. GPU tests are skipped here (no GPU on these machines);
# run them on a GPU machine with: .venv/bin/pytest -m gpu
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "[test] running every test except those marked 'gpu' (they need CUDA; run them with -m gpu)"
set +e
.venv/bin/python -m pytest -m "not gpu" "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "[test] pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
