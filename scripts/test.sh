#!/usr/bin/env bash
# The tests, in two tiers. Both install what is missing and build first.
#
#   scripts/test.sh          the quick tier: every Bazel test except those
#                            tagged "full" (bazel test --config=quick //...);
#                            under 6 minutes on a fresh clone of a 2-core
#                            machine, build included
#   scripts/test.sh --full   the full tier (CI, .ci/run): every Bazel test,
#                            then every test again under AddressSanitizer +
#                            UndefinedBehaviorSanitizer, the concurrency tests
#                            under ThreadSanitizer, the parser tests under
#                            Valgrind, and the libFuzzer targets for 10 seconds
#                            each (fuzz/run.sh)
#
# Either ends with one line "N passed, N failed" summing all its runs; the
# exit status is non-zero when any run failed.
set -uo pipefail
cd "$(dirname "$0")/.."

full=0
case "${1:-}" in
  "") ;;
  --full) full=1 ;;
  -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
  *) echo "usage: scripts/test.sh [--full]" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "usage: scripts/test.sh [--full]" >&2; exit 2; }

./install-deps.sh || exit 1
# The Bazel server (a JVM) would otherwise idle for hours after CI.
[ -n "${CI:-}" ] && trap 'bazel shutdown >/dev/null 2>&1 || true' EXIT

counts=$(mktemp)
rc=0
total() { # the closing line: every run's counts summed
  awk '{p+=$1; f+=$2; s+=$3} END {
    line = p " passed, " f " failed"; if (s) line = line ", " s " skipped"; print line }' "$counts"
  rm -f "$counts"
}

if [ "$full" = 0 ]; then
  TP_COUNTS=$counts scripts/bazel-test.sh --config=quick //... || rc=$?
  total
  exit "$rc"
fi

TP_COUNTS=$counts scripts/bazel-test.sh //... || rc=$?
# Under AddressSanitizer + UndefinedBehaviorSanitizer: the whole suite again
# (the sh_tests then drive an ASan+UBSan build of thingpress: a finding aborts
# it, and the test fails), except the tests tagged no_asan.
step() { # step CONFIG QUERY: bazel test --config=CONFIG on the tests QUERY finds
  local targets
  mapfile -t targets < <(bazel query "$2" 2>/dev/null)
  if [ "${#targets[@]}" -eq 0 ]; then
    echo "test.sh: bazel query '$2' found no tests" >&2
    echo "0 1 0" >> "$counts"; rc=1; return
  fi
  TP_COUNTS=$counts scripts/bazel-test.sh --config="$1" "${targets[@]}" || {
    local r=$?; [ "$rc" = 0 ] && rc=$r; }
}
step asan 'tests(//tests/...) except attr(tags, "\bno_asan\b", tests(//tests/...))'
# Under ThreadSanitizer: the engine, client and sim concurrency tests (tag tsan).
step tsan 'attr(tags, "\btsan\b", tests(//tests/...))'
# Under Valgrind memcheck (no definite/indirect leaks): the parser tests.
step valgrind 'attr(tags, "\bparsers\b", tests(//tests/...))'
# libFuzzer targets (fuzz/README.md): replay fuzz/regressions/, then fuzz each
# target for 10 seconds; one test per target. Built with clang outside Bazel.
TP_COUNTS=$counts fuzz/run.sh --fresh --seconds "${TP_FUZZ_SECONDS:-10}" || {
  r=$?; [ "$rc" = 0 ] && rc=$r; }
total
exit "$rc"
