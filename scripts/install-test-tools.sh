#!/usr/bin/env bash
# The system programs the test suite drives for real: Chromium (browser tests), shellcheck
# (the instances' user data) and HAProxy (the instance-loss drill, standing in for the ALB).
# Runs before `npm test`, so the suite passes on a Debian machine that has only Node: missing
# programs are installed with apt when running as root, or named with the command to run.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)

[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing what the tests need: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "The tests need ${missing[*]}. On Debian: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
