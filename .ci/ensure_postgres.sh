#!/usr/bin/env bash
# The team server's PostgreSQL test starts a throwaway cluster with the distribution's server binaries
# (initdb, pg_ctl). Installs them from the distribution's packages when missing and we are allowed to
# (root + apt); the package's own cluster is not started (no service manager runs it here).
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing PostgreSQL from the distribution's packages (for the team server's PostgreSQL test)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
  exit 0
fi
echo "PostgreSQL is missing: install it (Debian/Ubuntu: sudo apt-get install postgresql)." >&2
echo "Without it the team server's PostgreSQL test is skipped." >&2
