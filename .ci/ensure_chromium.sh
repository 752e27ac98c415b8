#!/usr/bin/env bash
# The browser tests drive the system's Chromium (Playwright's own download cannot work offline).
# Installs it from the distribution's packages when missing and we are allowed to (root + apt).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Chromium from the distribution's packages (for the browser tests)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "Chromium is missing: install it (Debian/Ubuntu: sudo apt-get install chromium)." >&2
echo "Without it the browser tests are skipped locally (and fail in CI)." >&2
