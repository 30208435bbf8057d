#!/usr/bin/env bash
# Installs the Debian 12 packages smtp-blackhole needs. The one install list, in two parts:
#   scripts/install-deps.sh build   what building and running the daemon and the load generator needs
#                                   (scripts/run.sh)
#   scripts/install-deps.sh test    that, and what the tests need (scripts/test.sh, so CI)
#   scripts/install-deps.sh bench   that, and the profilers the benchmarks use (bench/*.sh)
# Packages already present are skipped, so a second run costs only a dpkg query.
# Packages are installed with --no-install-recommends, so a feature that a tool gets only from a package it
# merely recommends is listed here by name (swaks' TLS: libnet-ssleay-perl).
set -euo pipefail

build_packages=(
  g++ meson ninja-build pkg-config python3
  libboost1.81-dev libssl-dev libcxxopts-dev prometheus-cpp-dev
  # systemd notify and socket activation (src/server/systemd.cpp): sd_notify, sd_listen_fds_with_names
  libsystemd-dev
  # message inspection (src/inspect/): GMime 3, which brings GLib; libxml2's HTML parser for an HTML body's words
  libgmime-3.0-dev libxml2-dev
)
test_packages=(
  # the unit tests (header-only; found by its header, so no CMake)
  doctest-dev
  # real SMTP clients: swaks (with Net::SSLeay for --tls/--tlsc, only a Recommends of swaks), openssl s_client
  # and s_time, postfix's smtp-source and smtp-sink; systemd-analyze checks the units and systemd-socket-activate
  # passes sockets as systemd would; ps and friends
  swaks libnet-ssleay-perl openssl postfix procps systemd
  # the fleet test: three sinks behind a real HAProxy (send-proxy-v2, health checks on /readyz), scraped by a
  # real Prometheus (README's per-flow queries across the fleet)
  haproxy prometheus
  # the fuzz stage (tests/fuzz/run.sh): clang's libFuzzer and the sanitizers' run-time libraries, which clang only
  # recommends
  clang libclang-rt-14-dev
  # an HTTP client other than Python's, for the HTTP error answers (tests/integration/test_http_errors.py)
  curl
  # the page test: headless Chromium driven by playwright-core (npm comes with NodeSource's nodejs, or as
  # Debian's npm package next to Debian's nodejs)
  chromium fonts-liberation nodejs
)
bench_packages=(
  # instructions per message (bench/sink_cost.sh), CPU profiles (bench/tls.sh --profile) and system calls per
  # message (bench/floor.sh --syscalls)
  valgrind linux-perf strace
)

case "${1:-test}" in
  build) packages=("${build_packages[@]}") ;;
  test) packages=("${build_packages[@]}" "${test_packages[@]}") ;;
  bench) packages=("${build_packages[@]}" "${test_packages[@]}" "${bench_packages[@]}") ;;
  *) echo "usage: install-deps.sh [build|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${1:-test}" != build ] && ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or install them) first" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# No mail system is configured or started by the postfix package: we only want its smtp-sink/smtp-source.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
