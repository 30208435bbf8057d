#!/usr/bin/env bash
# Installs a Node test's packages from its package-lock.json on first use (`npm ci`), in the current folder.
# Usage: npm-ci.sh PACKAGE PREFIX, where PACKAGE is one the lock names (its presence means installed) and PREFIX
# the test's summary name; when npm ci fails it prints `PREFIX: 0 passed, 1 failed` and exits 1.
set -uo pipefail
package=$1 prefix=$2
[ -f "node_modules/$package/package.json" ] && exit 0
if ! timeout 120 npm ci --no-audit --no-fund --loglevel=error >&2; then
  echo "$prefix test: npm ci failed (is the npm registry reachable?)"
  echo "$prefix: 0 passed, 1 failed"
  exit 1
fi
