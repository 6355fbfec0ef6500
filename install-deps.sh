#!/usr/bin/env bash
# Install every Debian package thingpress needs to build, test and benchmark.
# Idempotent: does nothing (and needs no network) when all are present.
#   bazel-bootstrap        Bazel 4.2.3 (offline; see third_party/bazel_stubs)
#   libncurses-dev         ncursesw (console)
#   libcurl4-openssl-dev   libcurl, OpenSSL flavour (iot client)
#   libssl-dev             OpenSSL 3 (SHA-256, X.509, ECDSA, HMAC)
#   libjansson-dev         Jansson (JSON)
#   libsqlite3-dev         SQLite (journal, sim state)
#   libarchive-dev         libarchive (Infineon 7z)
#   libmicrohttpd-dev      the local endpoint's HTTP server
#   libgtest-dev googletest GoogleTest
#   tmux clang clang-format  console end-to-end tests, fuzzing, format check
#   time                   GNU time: peak RSS in benchmarks
#   awscli                 AWS CLI v2, a second client of the sim in tests
#   valgrind               memcheck over the parser tests (scripts/test.sh)
#   groff-base man-db      the man page's lint and rendering (tests/man_test.sh)
set -euo pipefail

pkgs=(
  bazel-bootstrap
  build-essential
  python3
  pkg-config
  libncurses-dev
  libcurl4-openssl-dev
  libssl-dev
  libjansson-dev
  libsqlite3-dev
  libarchive-dev
  libmicrohttpd-dev
  libgtest-dev
  googletest
  tmux
  clang
  clang-format
  time
  awscli
  valgrind
  groff-base
  man-db
)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
fi

command -v bazel >/dev/null
