#!/usr/bin/env bash
# Configures (once) and builds smtp-blackhole.
#   scripts/build.sh                     the daemon and the load generator, release, into ./build: needs only the
#                                        build packages
#   scripts/build.sh --tests             everything, the unit tests too (needs doctest: scripts/install-deps.sh test)
#   scripts/build.sh --sanitize address  everything with AddressSanitizer and UBSan, into ./build-asan
#   scripts/build.sh --sanitize thread   everything with ThreadSanitizer, into ./build-tsan
# A sanitizer build is debugoptimized (-O2 -g, asserts on) and stops at the first UBSan finding
# (-fno-sanitize-recover), whatever the run-time options say; the sanitizers' run-time libraries come with g++.
set -euo pipefail
cd "$(dirname "$0")/.."
tests=auto
dir=build
setup=(--buildtype=release)
case "${1:-}" in
  '') ;;
  --tests) tests=enabled ;;
  --sanitize)
    tests=enabled
    case "${2:-}" in
      # Without UBSan's vptr check: it asks the kernel whether a vtable is readable through a pipe, so with every
      # descriptor in use (which the daemon survives by design: test_descriptor_exhaustion) it reports a valid
      # object's virtual call as an invalid vptr.
      address) dir=build-asan; sanitize=address,undefined; extra=-fno-sanitize=vptr ;;
      thread) dir=build-tsan; sanitize=thread; extra= ;;
      *) echo "usage: build.sh [--tests | --sanitize address|thread]" >&2; exit 2 ;;
    esac
    # b_lundef=false: the sanitizers' symbols come from their run-time library, linked into the executables only.
    setup=(--buildtype=debugoptimized -Db_sanitize=$sanitize -Db_lundef=false
           "-Dcpp_args=-fno-omit-frame-pointer -fno-sanitize-recover=all $extra") ;;
  *) echo "usage: build.sh [--tests | --sanitize address|thread]" >&2; exit 2 ;;
esac

# The value of the `tests` option of the configured build directory.
configured_tests() {
  meson introspect "$dir" --buildoptions |
    python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "tests"))'
}

if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "${setup[@]}" -Dtests=$tests >/dev/null
elif [ $tests = enabled ] && [ "$(configured_tests)" != enabled ]; then
  meson configure "$dir" -Dtests=enabled >/dev/null   # set up by scripts/run.sh, maybe before doctest was there
fi
if [ $tests = enabled ]; then
  ninja -C "$dir" >/dev/null
else
  ninja -C "$dir" smtp-blackhole loadgen/smtp-blackhole-loadgen >/dev/null
fi
