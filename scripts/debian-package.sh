#!/usr/bin/env bash
# Install a Debian package when its command is missing (safe to run again); fails, saying which
# package and why, when it cannot be installed:
#   bash scripts/debian-package.sh COMMAND PACKAGE "what it is for"
set -uo pipefail
command_name=$1 package=$2 purpose=$3
command -v "$command_name" >/dev/null 2>&1 && exit 0
echo "[setup] installing Debian's $package for $purpose"
SUDO=$([ "$(id -u)" -eq 0 ] && echo "" || echo "sudo")
log=$(mktemp)
if $SUDO apt-get install -y --no-install-recommends "$package" >"$log" 2>&1 \
  || { $SUDO apt-get update >>"$log" 2>&1 && $SUDO apt-get install -y --no-install-recommends "$package" >>"$log" 2>&1; }; then
  rm -f "$log"
  command -v "$command_name" >/dev/null 2>&1 && exit 0
  echo "[setup] $package installed but '$command_name' is not on PATH" >&2
  exit 1
fi
echo "[setup] could not install Debian's $package (needed for $purpose); apt-get said:" >&2
tail -n 5 "$log" >&2
rm -f "$log"
exit 1
