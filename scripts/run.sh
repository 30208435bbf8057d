#!/usr/bin/env bash
# Installs what is missing of the build packages (none of the test-only ones), builds the daemon and the load
# generator in release mode and starts the daemon on its defaults (SMTP on 127.0.0.1:2525). Extra arguments are passed to the daemon: scripts/run.sh --help
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
scripts/build.sh
exec build/smtp-blackhole "$@"
