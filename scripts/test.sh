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
# Under the sanitizers: the parser tests (tag "parsers").
mapfile -t asan_targets < <(bazel query 'attr(tags, "\bparsers\b", tests(//tests/...))' 2>/dev/null)
if [ "${#asan_targets[@]}" -eq 0 ]; then
  echo "test.sh: bazel query found no parser tests" >&2
  echo "0 1 0" >> "$counts"; rc=1
else
  TP_COUNTS=$counts scripts/bazel-test.sh --config=asan "${asan_targets[@]}" || {
    r=$?; [ "$rc" = 0 ] && rc=$r; }
fi
awk '{p+=$1; f+=$2; s+=$3} END {
  line = p " passed, " f " failed"; if (s) line = line ", " s " skipped"; print line }' "$counts"
rm -f "$counts"
exit "$rc"
