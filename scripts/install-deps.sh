#!/usr/bin/env bash
# Installs every Debian 12 package smtp-blackhole needs to build, test and benchmark.
# The one install list: `scripts/run.sh` and `scripts/test.sh` (and so CI) both call this.
# Packages already present are skipped, so a second run costs only a dpkg query.
set -euo pipefail

packages=(
  # build
  g++ meson ninja-build pkg-config
  libboost1.81-dev libssl-dev libcxxopts-dev prometheus-cpp-dev doctest-dev
  # tests and benchmarks: real SMTP clients and postfix's smtp-source / smtp-sink
  python3 swaks postfix openssl procps systemd
  # the page test: headless Chromium driven by playwright-core (npm comes with NodeSource's nodejs, or as
  # Debian's npm package next to Debian's nodejs)
  chromium fonts-liberation nodejs
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(npm)
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
