#!/usr/bin/env bash
# Set up .venv, then run the test suite. GPU tests are skipped here (no GPU on these machines);
# run them on a GPU machine with: .venv/bin/pytest -m gpu
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# browser tests drive Debian's chromium through Playwright (never `playwright install`)
if ! command -v chromium >/dev/null 2>&1; then
  echo "[test] installing Debian's chromium for the browser tests"
  SUDO=$([ "$(id -u)" -eq 0 ] && echo "" || echo "sudo")
  $SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; } \
    || echo "[test] could not install chromium: browser tests will be skipped and say so" >&2
fi
# generated code runs under bubblewrap (the evaluation sandbox)
if ! command -v bwrap >/dev/null 2>&1; then
  echo "[test] installing Debian's bubblewrap for the sandbox tests"
  SUDO=$([ "$(id -u)" -eq 0 ] && echo "" || echo "sudo")
  $SUDO apt-get install -y --no-install-recommends bubblewrap >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends bubblewrap >/dev/null 2>&1; } \
    || echo "[test] could not install bubblewrap: sandbox tests will be skipped and say so" >&2
fi
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
