#!/usr/bin/env bash
# Runs Mailpit's npm client (mailpit-api) against build/smtp-blackhole's Mailpit-compatible API (build it first).
# Installs mailpit-api from package-lock.json on first use (`npm ci`).
# Ends with the line `mailpit: N passed, N failed`; exit code 0 only if every check passed.
set -uo pipefail
cd "$(dirname "$0")"
../npm-ci.sh mailpit-api mailpit || exit 1
exec timeout -k 5 60 node mailpit-test.mjs --binary ../../build/smtp-blackhole "$@"
