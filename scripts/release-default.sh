#!/usr/bin/env bash
# Fresh machine to a whole release on the embedded default (the code installed on this machine):
# set up .venv, then run every stage (opt-out, dataset, indexes, tokenizer, shards, a tiny
# pretraining run, HumanEval of its checkpoints, transparency report, gated repository trees)
# into release/. Safe to run again: finished stages are reused, a failed one is resumed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# generated code runs under bubblewrap (the evaluation sandbox)
if ! command -v bwrap >/dev/null 2>&1; then
  echo "[release] installing Debian's bubblewrap for the sandboxed evaluation"
  SUDO=$([ "$(id -u)" -eq 0 ] && echo "" || echo "sudo")
  $SUDO apt-get install -y --no-install-recommends bubblewrap >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends bubblewrap >/dev/null 2>&1; } \
    || echo "[release] could not install bubblewrap: the evaluation stage will stop and say so" >&2
fi
.venv/bin/bigcode-release release run recipes/release-default.yaml --out release/
