#!/usr/bin/env bash
# Set up .venv, then run the test suite. GPU tests are deselected here (no GPU on these machines);
# run them on a GPU machine with: .venv/bin/pytest -m gpu. Tests against nanotron main's own code are
# deselected too (nanotron main installs from GitHub only): NANOTRON_VENV=... .venv/bin/pytest -m nanotron
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# TGI's text-generation client and openai, in their own venv, for the serving tests
bash scripts/clients-venv.sh
# browser tests drive Debian's chromium through Playwright (never `playwright install`);
# generated code runs under bubblewrap (the evaluation sandbox)
# (a tool that cannot be installed stops the run here, naming it: its tests must not be skipped)
bash scripts/debian-package.sh chromium chromium "the browser tests"
bash scripts/debian-package.sh bwrap bubblewrap "the sandbox and evaluation tests"
# a one-node Slurm cluster (slurmctld, slurmd, munged) is started by the executor tests themselves
bash scripts/debian-package.sh slurmctld slurm-wlm "the Slurm executor tests (a one-node cluster)"
bash scripts/debian-package.sh munged munge "the Slurm executor tests (Slurm's authentication)"
echo "[test] ruff: lint and format check (configured in pyproject.toml)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "[test] running every test except those marked 'gpu' (they need CUDA; run them with -m gpu) and 'nanotron'"
echo "[test] (nanotron main's own code, from GitHub only; run them with -m nanotron and NANOTRON_VENV set)"
# any skipped test fails the run (tests/conftest.py); GPU and nanotron tests are deselected, not skipped
export BIGCODE_RELEASE_NO_SKIPS=1
set +e
.venv/bin/python -m pytest -m "not gpu and not nanotron" --durations=25 "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "[test] pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
