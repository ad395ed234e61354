#!/usr/bin/env bash
# Install a Debian package when its command is missing (safe to run again):
#   bash scripts/debian-package.sh COMMAND PACKAGE "what it is for" "what happens without it"
set -uo pipefail
command_name=$1 package=$2 purpose=$3 without=$4
if ! command -v "$command_name" >/dev/null 2>&1; then
  echo "[setup] installing Debian's $package for $purpose"
  SUDO=$([ "$(id -u)" -eq 0 ] && echo "" || echo "sudo")
  $SUDO apt-get install -y --no-install-recommends "$package" >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends "$package" >/dev/null 2>&1; } \
    || echo "[setup] could not install $package: $without" >&2
fi
exit 0
