#!/usr/bin/env bash
# Fresh machine to a whole release on the embedded default (the code installed on this machine):
# set up .venv, then run every stage (opt-out, dataset, indexes, tokenizer, shards, a tiny
# pretraining run, HumanEval of its checkpoints, transparency report, gated repository trees)
# into release/. Safe to run again: finished stages are reused, a failed one is resumed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# generated code runs under bubblewrap (the evaluation sandbox)
bash scripts/debian-package.sh bwrap bubblewrap "the sandboxed evaluation"
.venv/bin/bigcode-release release run recipes/release-default.yaml --out release/
