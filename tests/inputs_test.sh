#!/usr/bin/env bash
# Inputs that are not files to provision, through the binary: a directory, a
# FIFO (must not hang), /dev/zero, a symlink to /dev/zero, a missing file, an
# oversized CSV field, deeply nested JSON and a JSON file over the size cap.
# validate and provision --dry-run refuse each in bounded time with a short
# error naming the file, and the exit status of DESIGN.md §4.
set -uo pipefail
TP=$(realpath "${TP:-cli/thingpress}")
TMP=${TEST_TMPDIR:-$(mktemp -d)}
cd "$TMP" || exit 1
fails=0 checks=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

mkdir -p adir
rm -f fifo && mkfifo fifo
ln -sf /dev/zero zlink.csv
python3 - <<'PY'
open("long.csv", "w").write("MAC,cert\n" + "A" * (30 << 20) + ",x\n")
open("deep.json", "w").write('{"batch_id":"b","devices":' + "[" * 200000 + "]" * 200000 + "}")
PY
truncate -s 300M big.json # over the 256 MiB cap of a JSON document

# check NAME EXPECTED-EXIT PATTERN COMMAND...: exit status, a bounded run,
# stderr short and naming the file
check() {
    local name=$1 want=$2 pat=$3
    shift 3
    checks=$((checks + 1))
    local rc=0
    timeout 30 "$@" >out.txt 2>err.txt </dev/null || rc=$?
    [ "$rc" = 124 ] && { fail "$name: still running after 30 s"; return; }
    [ "$rc" = "$want" ] || fail "$name: exit $rc, expected $want ($(head -c 300 err.txt))"
    grep -q -- "$pat" err.txt out.txt || fail "$name: no '$pat' in the output: $(head -c 300 err.txt)"
    local longest
    longest=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' err.txt out.txt)
    [ "$longest" -le 1000 ] || fail "$name: an output line of $longest characters"
}

for cmd in validate provision; do
    extra=()
    [ "$cmd" = provision ] && extra=(--dry-run --local --state "$TMP/state")
    check "$cmd directory" 2 "adir: not a regular file" "$TP" "$cmd" "${extra[@]}" adir
    check "$cmd fifo" 2 "fifo: not a regular file" "$TP" "$cmd" "${extra[@]}" fifo
    check "$cmd /dev/zero" 2 "/dev/zero: not a regular file" "$TP" "$cmd" "${extra[@]}" /dev/zero
    check "$cmd symlink to /dev/zero" 2 "zlink.csv: not a regular file" "$TP" "$cmd" "${extra[@]}" zlink.csv
    check "$cmd missing" 2 "nothere.csv: cannot open" "$TP" "$cmd" "${extra[@]}" nothere.csv
    check "$cmd deep JSON" 2 "deep.json:1: invalid JSON" "$TP" "$cmd" "${extra[@]}" deep.json
    check "$cmd big JSON" 2 "big.json: file is 314572800 bytes" "$TP" "$cmd" "${extra[@]}" big.json
done
# an oversized field is an item error (exit 1), the rest of the file is read
check "validate long field" 1 "field 1 on line 2 is longer than 262144 bytes" "$TP" validate long.csv
check "provision long field" 1 "longer than 262144 bytes" "$TP" provision "${extra[@]}" long.csv
# never the same file name twice in one message
grep -q "fifo: fifo" err.txt && fail "a message repeats the file name"
checks=$((checks + 1))
"$TP" provision --dry-run --local --state "$TMP/state" fifo 2>err.txt
grep -q "fifo: .*fifo:" err.txt && fail "provision repeats the file name: $(cat err.txt)"

echo "inputs_test: $checks checks, $fails failed"
[ "$fails" = 0 ]
