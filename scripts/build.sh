#!/usr/bin/env bash
# Configures (once) and builds smtp-blackhole in release mode into ./build.
#   scripts/build.sh          the daemon and the load generator: needs only the build packages
#   scripts/build.sh --tests  everything, the unit tests too (needs doctest: scripts/install-deps.sh test)
set -euo pipefail
cd "$(dirname "$0")/.."
tests=auto
[ "${1:-}" = "--tests" ] && tests=enabled

# The value of the `tests` option of the configured build directory.
configured_tests() {
  meson introspect build --buildoptions |
    python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "tests"))'
}

if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release -Dtests=$tests >/dev/null
elif [ $tests = enabled ] && [ "$(configured_tests)" != enabled ]; then
  meson configure build -Dtests=enabled >/dev/null   # set up by scripts/run.sh, maybe before doctest was there
fi
if [ $tests = enabled ]; then
  ninja -C build >/dev/null
else
  ninja -C build smtp-blackhole loadgen/smtp-blackhole-loadgen >/dev/null
fi
