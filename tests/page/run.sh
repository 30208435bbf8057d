#!/usr/bin/env bash
# Runs the browser test of the sample viewer page against build/smtp-blackhole (build it first).
# Installs playwright-core from package-lock.json on first use (`npm ci`); the browser is Debian's chromium.
# Ends with the line `page: N passed, N failed`; exit code 0 only if every check passed.
set -uo pipefail
cd "$(dirname "$0")"
# Chromium names a download from its Content-Disposition only in a UTF-8 locale (under C or POSIX a non-ASCII
# name becomes "download"): a fresh root or a CI job may have no LANG at all. C.UTF-8 is in every Debian libc.
export LC_ALL=C.UTF-8
../npm-ci.sh playwright-core page || exit 1
exec timeout -k 5 95 node page-test.mjs --binary ../../build/smtp-blackhole "$@"
