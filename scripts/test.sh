#!/usr/bin/env bash
# All tests: install what is missing, build everything, run every test, then
# the parser tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Ends with one line "N passed, N failed" summing both runs.
set -uo pipefail
cd "$(dirname "$0")/.."
./install-deps.sh || exit 1
# The Bazel server (a JVM) would otherwise idle for hours after CI.
[ -n "${CI:-}" ] && trap 'bazel shutdown >/dev/null 2>&1 || true' EXIT

counts=$(mktemp)
rc=0
TP_COUNTS=$counts scripts/bazel-test.sh //... || rc=$?
TP_COUNTS=$counts scripts/bazel-test.sh --config=asan --test_tag_filters=parsers //tests/... || {
  r=$?; [ "$rc" = 0 ] && rc=$r; }
awk '{p+=$1; f+=$2; s+=$3} END {
  line = p " passed, " f " failed"; if (s) line = line ", " s " skipped"; print line }' "$counts"
rm -f "$counts"
exit "$rc"
