#!/usr/bin/env bash
# Make sure the programs Living Memory needs from the operating system are installed.
# Usage: scripts/ensure-system-deps.sh COMMAND=DEBIAN_PACKAGE ...
# Installs missing ones with apt-get when running as root on Debian/Ubuntu; otherwise prints
# exactly what to install and fails. Does nothing (quickly) when everything is present.
set -euo pipefail

missing_cmds=()
missing_pkgs=()
for spec in "$@"; do
  cmd=${spec%%=*}
  pkg=${spec#*=}
  if ! command -v "$cmd" >/dev/null 2>&1; then
    missing_cmds+=("$cmd")
    missing_pkgs+=("$pkg")
  fi
done
[ ${#missing_cmds[@]} -eq 0 ] && exit 0

# De-duplicate package names (ffmpeg provides both ffmpeg and ffprobe).
mapfile -t pkgs < <(printf '%s\n' "${missing_pkgs[@]}" | sort -u)
echo "Living Memory needs: ${missing_cmds[*]} (Debian packages: ${pkgs[*]})"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing with apt-get: ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  for cmd in "${missing_cmds[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || { echo "error: $cmd still missing after install" >&2; exit 1; }
  done
  exit 0
fi
echo "error: please install them first, e.g.: sudo apt-get install ${pkgs[*]}" >&2
echo "       (macOS: brew install ${pkgs[*]})" >&2
exit 1
