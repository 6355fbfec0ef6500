#!/usr/bin/env bash
# Builds the fuzz targets, seeds their corpora from testdata/ (and fuzz/seeds/),
# replays every input of fuzz/regressions/TARGET/, then fuzzes each target for
# N seconds, one at a time. Prints per target: executions, exec/s, coverage
# (cov/ft from libFuzzer's final stats) and PASS/FAIL; ends with
# "N passed, N failed". Exit status 1 when any target crashed, leaked, hung,
# ran out of memory or a regression input failed.
#
# Usage: fuzz/run.sh [--seconds N] [--fresh] [--rss-mb M] [--out DIR] [--logs DIR] [TARGET...]
#   --seconds N  fuzzing time per target (default 10); 0 = replay regressions only
#   --fresh      start each corpus from the seeds alone (CI: the same work each run)
#   --rss-mb M   libFuzzer -rss_limit_mb (default 2048)
#   --out DIR    build and work directory (default $FUZZ_OUT or /tmp/thingpress-fuzz)
#   --logs DIR   where each target's log goes (default DIR/logs)
# Corpora live in DIR/corpus/TARGET (outside the repository) and grow across
# runs unless --fresh. When $TP_COUNTS is set, "passed failed 0" (one test
# per target) is appended to it, for scripts/test.sh.
set -uo pipefail
cd "$(dirname "$0")/.."

# Everything is in main(): bash parses a function whole before running it, so
# editing this file while a long run is going cannot derail that run.
main() {
  seconds=10
  fresh=0
  rss=2048
  out=${FUZZ_OUT:-/tmp/thingpress-fuzz}
  logs=
  targets=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --seconds) seconds=$2; shift 2 ;;
      --fresh) fresh=1; shift ;;
      --rss-mb) rss=$2; shift 2 ;;
      --out) out=$2; shift 2 ;;
      --logs) logs=$2; shift 2 ;;
      -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
      -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
      *) targets+=("${1%_fuzz}"); shift ;;
    esac
  done
  if [ "${#targets[@]}" -eq 0 ]; then
    for f in fuzz/*_fuzz.c; do t=${f#fuzz/}; targets+=("${t%_fuzz.c}"); done
  fi
  logs=${logs:-$out/logs}
  mkdir -p "$logs"

  if ! FUZZ_OUT=$out fuzz/build.sh "${targets[@]}"; then
    echo "run.sh: build failed" >&2
    [ -n "${TP_COUNTS:-}" ] && echo "0 ${#targets[@]} 0" >> "$TP_COUNTS"
    exit 1
  fi

  # Seed inputs of each target: files from testdata/ plus fuzz/seeds/TARGET/.
  seeds_of() {
    case "$1" in
      espressif) ls testdata/espressif/*.csv ;;
      generated) ls testdata/generated/*.txt ;;
      devinfo) ls testdata/mes/*.json testdata/mes/invalid/*.json ;;
      pemder) ls testdata/misc/single.pem testdata/iot-wire/test-cert.pem ;;
      infineon) ls testdata/infineon/*.7z ;;
      microchip) ls testdata/microchip/*.json ;;
      jobcfg) ;;
      client) ;;
      sim_request) ls testdata/iot-wire/*.cliv[12].txt testdata/iot-wire/*.signed.txt \
                      testdata/iot-wire/extra/*.txt ;;
      sigv4) ls testdata/sigv4/botocore-aws4_testsuite/*/*.sreq \
                testdata/sigv4/aws-c-auth-v4/*/header-signed-request.txt \
                testdata/iot-wire/*.signed.txt ;;
    esac 2>/dev/null
    [ -d "fuzz/seeds/$1" ] && find "fuzz/seeds/$1" -type f
}

# Inputs the format's files cannot give directly, made at seeding time.
extra_seeds() {
  local t=$1 dir=$2
  case "$t" in
    pemder)
      command -v openssl >/dev/null &&
        openssl x509 -in testdata/misc/single.pem -outform der -out "$dir/single.der" 2>/dev/null
      cat testdata/misc/single.pem testdata/iot-wire/test-cert.pem > "$dir/bundle.pem" ;;
    infineon)
      # An inner certificate archive (tar of .pem members): the target also
      # reads each input as the inner archive of a bundle.
      python3 - "$dir/inner.tar" testdata/misc/single.pem testdata/iot-wire/test-cert.pem <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.USTAR_FORMAT) as t:
    for i, p in enumerate(sys.argv[2:]):
        t.add(p, arcname="chip%02d_E0E0.pem" % i)
PY
      ;;
    sim_request)
      # Several requests in one input: a registry that has something in it.
      cat testdata/iot-wire/register-certificate-without-ca.cliv1.txt \
          testdata/iot-wire/create-thing.cliv1.txt \
          testdata/iot-wire/attach-thing-principal.cliv1.txt \
          testdata/iot-wire/extra/describe-thing.cliv1.txt \
          testdata/iot-wire/extra/list-thing-principals.cliv1.txt > "$dir/sequence.txt" 2>/dev/null ;;
  esac
  return 0
}

# -max_len per target: the largest seed sets libFuzzer's default; these cap it.
max_len_of() {
  case "$1" in
    client|sigv4|sim_request|jobcfg) echo 65536 ;;
    *) echo "" ;;
  esac
}

# Scratch files the targets write their inputs to (see fuzz_common.h).
if [ -w /dev/shm ]; then scratch=/dev/shm/thingpress-fuzz-$$; else scratch=$out/scratch-$$; fi
mkdir -p "$scratch"
trap 'rm -rf "$scratch"' EXIT
export FUZZ_SCRATCH=$scratch

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

passed=0 failed=0
printf '%-12s %10s %8s %7s %7s %6s  %s\n' target execs exec/s cov ft secs result
for t in "${targets[@]}"; do
  bin=$out/bin/${t}_fuzz
  log=$logs/$t.log
  work=$out/work/$t
  corpus=$out/corpus/$t
  mkdir -p "$work" "$corpus"
  : > "$log"
  touch "$work/.start"
  status=PASS

  # 1. Regression inputs: each must run clean.
  if [ -d "fuzz/regressions/$t" ] && [ -n "$(ls -A "fuzz/regressions/$t")" ]; then
    if ! "$bin" -runs=1 -timeout=10 -rss_limit_mb="$rss" \
         "fuzz/regressions/$t"/* >> "$log" 2>&1; then
      status="FAIL(regression)"
    fi
  fi

  # 2. Seeds into the working corpus, then fuzz.
  execs=- rate=- cov=- ft=- secs=0
  if [ "$seconds" -gt 0 ]; then
    while IFS= read -r f; do
      [ -f "$f" ] && cp -f "$f" "$corpus/seed-$(basename "$f")"
    done < <(seeds_of "$t")
    extra_seeds "$t" "$corpus"
    if [ -z "$(ls -A "$corpus")" ]; then
      printf 'x' > "$corpus/seed-empty"
    fi
    ml=$(max_len_of "$t")
    start=$(date +%s)
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb="$rss" \
      -print_final_stats=1 -artifact_prefix="$work/" ${ml:+-max_len=$ml} \
      "$corpus" >> "$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    [ "$rc" = 0 ] || status="FAIL(rc=$rc)"
    execs=$(awk -F: '/^stat::number_of_executed_units/ {gsub(/ /,"",$NF); v=$NF} END {print v+0}' "$log")
    rate=$(awk -F: '/^stat::average_exec_per_sec/ {gsub(/ /,"",$NF); v=$NF} END {print v+0}' "$log")
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  fi
  if [ "$status" != PASS ]; then
    failed=$((failed + 1))
    find "$work" -maxdepth 1 -newer "$work/.start" \( -name 'crash-*' -o -name 'leak-*' \
      -o -name 'timeout-*' -o -name 'oom-*' -o -name 'slow-unit-*' \) |
      while IFS= read -r a; do
        echo "run.sh: $t: finding $a (add it to fuzz/regressions/$t/ once fixed)" >&2
      done
    grep -m1 -E 'ERROR: |SUMMARY: ' "$log" >&2
  else
    passed=$((passed + 1))
  fi
  printf '%-12s %10s %8s %7s %7s %6s  %s\n' "$t" "$execs" "$rate" "${cov:--}" "${ft:--}" "$secs" "$status"
done
echo "$passed passed, $failed failed"
[ -n "${TP_COUNTS:-}" ] && echo "$passed $failed 0" >> "$TP_COUNTS"
[ "$failed" = 0 ]
}

main "$@"
exit
