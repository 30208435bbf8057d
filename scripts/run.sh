#!/usr/bin/env bash
# Installs what is missing, builds in release mode and starts the daemon on its defaults
# (SMTP on 127.0.0.1:2525). Extra arguments are passed to the daemon: scripts/run.sh --help
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/smtp-blackhole "$@"
