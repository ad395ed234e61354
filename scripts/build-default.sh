#!/usr/bin/env bash
# Fresh machine to a built dataset: set up .venv, then build the default recipe
# (the code installed on this machine) into release/ and print its stats.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/bigcode-release dataset build recipes/the-stack-local.yaml --out release/
