#!/usr/bin/env bash
# The operator console end to end in tmux (issue 5): a newcomer's flow on the
# embedded local endpoint, driven with send-keys and read back with
# capture-pane. Every wait polls the screen for the expected text with a
# deadline; nothing sleeps for a fixed time.
#   1. `thingpress` with no arguments on a terminal opens the console (Jobs);
#      help; the file picker; the bundled samples.
#   2. Phase 1 on the Espressif sample: setup (deferred, INACTIVE), preview
#      "7 ok", run, 100 %, the review.
#   3. Phase 2 on a device-infos file with one invalid device: the preview
#      shows its reason; the read-only registry check finds the 6 others
#      registered INACTIVE; start asks to skip the invalid one; the results
#      list the 6 succeeded and the 1 skipped.
#   4. A longer Phase 1 run (a generated file): the terminal is resized to
#      120x40 while it runs; quitting during the run stops it; a new console
#      shows the job paused and resumes it to 100 %.
#
# Golden screens. Every screen the flow saves (80x24 and 120x40, as text) is
# written into $TEST_UNDECLARED_OUTPUTS_DIR (or $SCREENS_DIR, or a temporary
# folder) and compared with the file of the same name in tests/screens/
# ($GOLDEN_DIR): the test fails on any difference and prints a unified diff
# (golden first). A save polls until the screen matches, for at most
# $SCREEN_DEADLINE seconds (5), so a frame tmux has only half drawn is not a
# failure. Every golden file must be saved by the run: a stale one fails too.
# Refresh them from the repository after a change to what the screens show:
#
#     bazel build //cli:thingpress
#     UPDATE_SCREENS=1 tests/console_e2e_test.sh
#
# which writes the captures into tests/screens/ instead of comparing (review
# them with git diff, then commit them).
#
# So that the screens can be compared, the flow runs where nothing on them
# depends on the machine: the samples are a copy "testdata" in the
# console's working folder (THINGPRESS_SAMPLES=testdata, shown as such), the
# generated file's certificates come from a fixed key and a deterministic
# signature, and the state and the working folder live in a fresh
# /tmp/tpc.XXXXXX folder (short, so no path is cut differently). What still varies is masked on both sides
# before the comparison (normalize(), below), and nothing else:
#   - the random part of that folder:             /tmp/tpc.XXXXXX (also the
#     end of it that a path cut on the left may show: …XX/work/)
#   - the ports of the local endpoint and the sim: 127.0.0.1:<port> (and the
#     padding after it, as a 4-digit port would have one space more)
#   - the clock: job times (YYYY-MM-DD HH:MM) and the run's ETA and elapsed
#   - the speed: the run's items/s, and each operation's rate/s and pace
#     columns (the pacer adapts to how fast the endpoint answers)
#   - on the four screens of the interrupted job ($PROGRESS_SCREENS: caught
#     while it runs, or counting what it did before it was stopped), every
#     number and the progress bar's glyphs, and runs of spaces are squeezed:
#     where a running job is when the keys arrive is a matter of timing. Their
#     words, rows, dialog and key bar are still compared.
set -uo pipefail

PY=${PY:-/root/.pyenv/versions/3.11.7/bin/python3}
TP=${TP:-cli/thingpress}
TD=${TD:-testdata}
BENCH=${BENCH:-bench}
if [ ! -x "$TP" ] && [ -x bazel-bin/cli/thingpress ]; then
    TP=bazel-bin/cli/thingpress # run by hand from the repository
fi
GOLDEN=${GOLDEN_DIR:-tests/screens}
UPDATE=${UPDATE_SCREENS:-0}
SCREEN_DEADLINE=${SCREEN_DEADLINE:-5} # seconds a save waits for the golden screen
PROGRESS_SCREENS="120x40-14-run-resized 120x40-15-quit-running 120x40-16-jobs-paused
    120x40-17-resumed-done"
own_tmp=0
if [ -n "${TEST_TMPDIR:-}" ]; then
    TMP=$TEST_TMPDIR
else
    TMP=$(mktemp -d) # removed at the end when the test passes and keeps no screens
    own_tmp=1
fi
SCREENS=${SCREENS_DIR:-${TEST_UNDECLARED_OUTPUTS_DIR:-$TMP/screens}}
DEADLINE=${DEADLINE:-30} # seconds per wait
for f in "$TP" "$PY"; do
    [ -x "$f" ] || { echo "console_e2e_test: $f not found" >&2; exit 1; }
done
command -v tmux >/dev/null || { echo "console_e2e_test: tmux not found" >&2; exit 1; }
[ -d "$GOLDEN" ] || { echo "console_e2e_test: $GOLDEN not found" >&2; exit 1; }
TP=$(cd "$(dirname "$TP")" && pwd)/$(basename "$TP")
TD=$(cd "$TD" && pwd)
GOLDEN=$(cd "$GOLDEN" && pwd)
[ "$UPDATE" = 1 ] && SCREENS=$GOLDEN
mkdir -p "$SCREENS" "$TMP/home"
fails=0
# Short and fresh: the tmux socket (its path must fit in sun_path, 108 bytes:
# not under TEST_TMPDIR), the console's state and its working folder, whose
# paths the screens show (the journal records a job's file by its absolute,
# symlink-free path).
ROOT=$(mktemp -d /tmp/tpc.XXXXXX)
SOCK="$ROOT/s"
STATE="$ROOT/xdg"
WORK="$ROOT/work"
mkdir -p "$WORK"
# the samples as the screens show them: "testdata", relative to the console's
# working folder (THINGPRESS_SAMPLES below); a copy, not a link, so that the
# paths of the jobs run on them are in $ROOT too
cp -RL "$TD" "$WORK/testdata" || { echo "console_e2e_test: cannot copy $TD" >&2; exit 1; }
T() { tmux -S "$SOCK" "$@"; }
cleanup() {
    T kill-server 2>/dev/null
    if [ "$fails" != 0 ]; then # what the servers and sanitizers said
        for f in "$TMP"/sim*.out "$TMP"/tsan-report*; do
            [ -s "$f" ] && { echo "---- $f ----"; tail -60 "$f"; } >&2
        done
    fi
    rm -rf "$ROOT"
    if [ "$own_tmp" = 1 ] && [ "$fails" = 0 ] && [ "$SCREENS" != "$TMP/screens" ]; then
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}
screen() { T capture-pane -p -t tp; }

# wait_for TEXT...: until every TEXT is on the screen; past the deadline the
# test stops (what follows depends on that screen).
wait_for() {
    local end=$((SECONDS + DEADLINE)) s t ok
    while :; do
        s=$(screen)
        ok=1
        for t in "$@"; do
            [[ "$s" == *"$t"* ]] || { ok=0; break; }
        done
        [ $ok = 1 ] && return 0
        if [ $SECONDS -ge $end ]; then
            fail "waited ${DEADLINE}s for: $*"
            echo "---- screen ----" >&2
            echo "$s" >&2
            echo "----------------" >&2
            exit 1 # the rest of the flow depends on this screen
        fi
        sleep 0.1 # the polling interval, not a wait for something
    done
}
# wait_re ERE: until a line of the screen matches ERE (as wait_for).
wait_re() {
    local end=$((SECONDS + DEADLINE))
    until screen | grep -Eq "$1"; do
        if [ $SECONDS -ge $end ]; then
            fail "waited ${DEADLINE}s for a line matching: $1"
            screen >&2
            exit 1
        fi
        sleep 0.1 # the polling interval
    done
}
# no TEXT: the screen does not show it now.
absent() {
    [[ "$(screen)" != *"$1"* ]] || fail "the screen shows '$1'"
}

# normalize NAME < screen: the screen with what varies from run to run masked
# (see the header comment); applied to the golden file and the capture alike.
is_progress() { [[ " $(echo $PROGRESS_SCREENS) " == *" $1 "* ]]; }
normalize() {
    local progress=0
    is_progress "$1" && progress=1
    sed -E \
        -e 's#/tmp/tpc\.[A-Za-z0-9]{6}#/tmp/tpc.XXXXXX#g' \
        -e 's#…[A-Za-z0-9./]{0,15}/(work|xdg)/#…/tmp/tpc.XXXXXX/\1/#g' \
        -e 's#127\.0\.0\.1:[0-9]+ *#127.0.0.1:<port> #g' \
        -e 's#[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}#YYYY-MM-DD HH:MM#g' \
        -e 's#^[0-9.kM]+ items/s   ETA [^ ]+   elapsed [^ ]+#<n> items/s   ETA <t>   elapsed <t>#' \
        -e '/^[A-Z][A-Za-z]+ +[0-9.kM]+ +([0-9.kM]+|-) +([0-9.kM]+|-) +[0-9]+ +[0-9]+( THROTTLED)?$/s#^(.{28}).{15}#\1 <rate/s>  <pace>#' |
        if [ $progress = 1 ]; then
            sed -E -e 's#[0-9]+(\.[0-9]+)?#<n>#g' -e 's#(█|░)+#<bar>#g' -e 's#  +# #g'
        else
            cat
        fi
}

# save NAME: the screen into $SCREENS/NAME.txt, compared with the golden one
# (until it matches, or for at most $SCREEN_DEADLINE seconds).
saved=""
save() {
    local name=$1 out="$SCREENS/$1.txt" gold="$GOLDEN/$1.txt" end
    saved="$saved $name"
    if [ "$UPDATE" = 1 ]; then
        # the screen once it holds still; a running job's at once (it never
        # does, and the flow must catch it running)
        screen >"$out"
        is_progress "$name" && return 0
        end=$((SECONDS + SCREEN_DEADLINE))
        until sleep 0.3 && cmp -s <(screen) "$out" || [ $SECONDS -ge $end ]; do
            screen >"$out"
        done
        return 0
    fi
    if [ ! -f "$gold" ]; then
        screen >"$out"
        fail "no golden screen $gold (UPDATE_SCREENS=1 writes it)"
        return 0
    fi
    end=$((SECONDS + SCREEN_DEADLINE))
    while :; do
        screen >"$out"
        cmp -s <(normalize "$name" <"$gold") <(normalize "$name" <"$out") && return 0
        [ $SECONDS -ge $end ] && break
        sleep 0.1 # the polling interval
    done
    fail "screen $name differs from $gold (normalized; - golden, + this run):"
    diff -u --label "golden/$name.txt" --label "run/$name.txt" \
        <(normalize "$name" <"$gold") <(normalize "$name" <"$out") >&2
}
keys() { T send-keys -t tp "$@"; }
literal() { T send-keys -t tp -l "$1"; }

# The console's environment: no AWS configuration at all (so the embedded
# local endpoint is used), the state in $XDG_STATE_HOME, UTF-8.
ENVV=(env -i "HOME=$TMP/home" "PATH=/usr/bin:/bin" "LANG=C.UTF-8" "TERM=tmux-256color"
    "XDG_STATE_HOME=$STATE" "THINGPRESS_SAMPLES=testdata")
# Under --config=tsan (tag tsan) the console is a TSan build: its reports go
# to files checked at the end (a terminal UI has no stderr to read).
ENVV+=("TSAN_OPTIONS=log_path=$TMP/tsan-report")
# extra variables for the console, e.g. CONSOLE_ENV="TSAN_OPTIONS=log_path=/tmp/t"
[ -n "${CONSOLE_ENV:-}" ] && ENVV+=($CONSOLE_ENV)
launch() { # launch CMD...: (re)starts the pane with the console
    local cmd
    cmd=$(printf '%q ' "${ENVV[@]}" "$@")
    T respawn-pane -k -t tp -c "$WORK" "$cmd; echo CONSOLE-EXIT=\$?; exec sleep 600"
}

# A longer Phase 1 file: 400 generated certificates (bench/validate_bench.py),
# the same every run: a fixed key, serial and dates, and a deterministic
# ECDSA signature (RFC 6979), so the review shows the same fingerprints.
"$PY" - "$WORK/line3-generated.txt" 400 "$BENCH" <<'EOF' || fail "generate the file"
import datetime, sys
sys.path.insert(0, sys.argv[3])
import validate_bench as vb
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
key = ec.derive_private_key(0x7468696E677072657373, ec.SECP256R1())
t0 = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
cert = (
    x509.CertificateBuilder()
    .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, vb.PLACEHOLDER)]))
    .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "thingpress e2e CA")]))
    .public_key(key.public_key())
    .serial_number(1)
    .not_valid_before(t0)
    .not_valid_after(t0 + datetime.timedelta(days=36500))
    .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
)
t = cert.public_bytes(serialization.Encoding.DER)
vb.write_generated(sys.argv[1], t, t.find(vb.PLACEHOLDER.encode()), int(sys.argv[2]))
EOF

T -f /dev/null new-session -d -s tp -x 80 -y 24 -c "$WORK" "sleep 600" ||
    { echo "console_e2e_test: cannot start tmux" >&2; exit 1; }
T set -g window-size manual
T set -g remain-on-exit on

# ---- 1. the console with no arguments: Jobs, help, picker, samples ----
launch "$TP"
wait_for "thingpress · Jobs" "No jobs yet." "Sends to: local endpoint http://127.0.0.1:" \
    "account 123456789012" "F1Help" "F10Quit" && save 80x24-01-jobs-empty
keys F1
wait_for "thingpress · Help" "On this screen" "resume the job, or retry its failed" \
    && save 80x24-02-help
keys Escape
wait_for "No jobs yet."
keys F3
wait_for "Open a file" "Bundled samples/"
keys F6
wait_for "espressif/" "mes/"
literal "/espressif"
keys Enter
keys Enter
wait_for "manifest-espressif.csv" "espressif  Phase 1            7" && save 80x24-03-picker

# ---- 2. Phase 1 on the Espressif sample ----
keys Enter
wait_for "Set up the job" "Policies             BasicTestPolicy" \
    "Certificate active   [ ] no                    INACTIVE until Phase 2" \
    "Thing deferred       [x] yes" "Sends to: local endpoint" && save 80x24-04-setup
keys F5
wait_for "7 items: 7 ok, 0 warn, 0 error   ready to start" "5B62ACC6615E" \
    && save 80x24-05-preview
keys F5
wait_for "100%  7/7 items" "Done: 7 items provisioned" "registered 7" "policies 7" \
    && save 80x24-06-run-phase1
absent "failed 1"
keys Enter
wait_for "Job items" "7 items: 7 succeeded, 0 failed, 0 skipped, 0 pending" \
    "4BA2BB8764BD        done" && save 80x24-07-review-phase1

# ---- 3. Phase 2 with one invalid device, skipped ----
keys F3
wait_for "Open a file" "manifest-espressif.csv"
keys BSpace
wait_for "espressif/" "mes/"
literal "/mes"
keys Enter
keys Enter
wait_for "device-infos-espressif-one-inv"
literal "/one-invalid"
keys Enter
wait_for "device-infos  Phase 2"
keys Enter
wait_for "Set up the job" "Phase 2: activate" "BasicTestGroup" "BasicTestType"
keys F5
wait_for "7 items: 6 ok, 0 warn, 1 error" "esp-5042C6471A9C" "Invalid certFinger" \
    && save 80x24-08-preview-invalid
keys F6 # the read-only registry check: Phase 1 registered them INACTIVE
wait_for "Registry (read-only): 7/7 checked: 6 INACTIVE" "Verdict Registry Reason" \
    && save 80x24-08b-registry-check
keys F4
wait_for "[problems only]" "esp-5042C6471A9C"
keys Enter # the detail pane
wait_for "Invalid certFingerprint format" "the colons" "Tab returns to the table" \
    && save 80x24-09-preview-detail
keys Tab
keys F5
wait_for "Invalid items" "1 of 7 items is invalid" "provision the other 6?" \
    "[ Skip 1 invalid and start ]" && save 80x24-10-skip-invalid
keys y
wait_for "100%  7/7 items" "Done: 6 items provisioned, 1 invalid items skipped" \
    "activated 6" "things 6" "groups 6" && save 80x24-11-run-phase2
keys Enter
wait_for "7 items: 6 succeeded, 0 failed, 1 skipped, 0 pending" \
    "esp-5042C6471A9C    skipped" "esp-4BA2BB8764BD    done" && save 80x24-12-review-phase2
# an item's detail (issue 13): its ARNs and its audit lines (not saved as a
# golden: the audit lines carry times)
keys Tab
wait_for " Item 0 esp-" "Thing: arn:aws:iot:us-east-1:123456789012:thing/esp-" \
    "Audit: " " lines"
keys Tab
keys F6 # export the report of every item
wait_for "report written:" "Report: "
report="$STATE/thingpress/reports/job-2.csv"
grep -q "esp-5042C6471A9C,.*skipped" "$report" 2>/dev/null ||
    fail "the report $report does not list the skipped device"
grep -q "esp-4BA2BB8764BD,.*,done,arn:aws:iot:" "$report" 2>/dev/null ||
    fail "the report $report does not list a done device with its ARN"
keys F2
wait_for "thingpress · Jobs" "espressif-p" "done" && save 80x24-13-jobs
keys q
wait_for "CONSOLE-EXIT=0"

# ---- 4. resize during a run, quit during a run, resume ----
launch "$TP" console line3-generated.txt
wait_for "Set up the job" "Kind: generated" "BasicTestPolicy"
keys F5
wait_for "400 items: 400 ok, 0 warn, 0 error   ready to start"
keys F5
wait_for "Running" "RegisterCertificateWithoutCA"
T resize-window -t tp -x 120 -y 40
wait_for "Operation                     rate/s" "Latest errors"
# the wider layout is drawn (the title bar spans 120 columns)
end=$((SECONDS + DEADLINE))
until [ "$(screen | head -1 | sed 's/ *$//' | wc -m)" -gt 100 ] || [ $SECONDS -ge $end ]; do
    sleep 0.1
done
[ "$(screen | wc -l)" -eq 40 ] || fail "the screen is not 40 rows after the resize"
save 120x40-14-run-resized
# some items committed before quitting, so that the resume has earlier ones
# (a slow build, e.g. ThreadSanitizer's, may not have finished one yet)
wait_re "^done [1-9][0-9]* "
keys q
wait_for "Quit while a job runs?" "Stop and quit" && save 120x40-15-quit-running
keys y
wait_for "CONSOLE-EXIT=0"
status=$(env -i HOME="$TMP/home" XDG_STATE_HOME="$STATE" "$TP" status --output tsv 2>&1)
echo "$status" | grep -q "paused" || fail "quitting did not pause the job in the journal: $status"

launch "$TP"
wait_for "thingpress · Jobs" "paused" "line3-generated.txt" && save 120x40-16-jobs-paused
keys F5
wait_for "100%  400/400 items" "Done: 400 items provisioned" && save 120x40-17-resumed-done
screen | grep -Eq "earlier [1-9][0-9]*" || fail "the resumed run did not start from the journal"
keys Enter
wait_for "400 items: 400 succeeded, 0 failed, 0 skipped, 0 pending" \
    "Sent to: local endpoint" "Device-00000031     done" && save 120x40-18-review-resumed
keys F2
wait_for "thingpress · Jobs" "Updated" "3  1 done            400    400" \
    && save 120x40-19-jobs
keys q
wait_for "CONSOLE-EXIT=0"

# ---- 5. another endpoint chosen in the setup form ----
# An AWS configuration in the environment, yet --local: the console starts on
# the embedded endpoint; the operator types another endpoint's URL into the
# form, and the job goes there (read back from that server's request log).
SIM_KEY=AKIDCONSOLEE2E
SIM_SECRET=consoleE2eSecretKey0123456789abcdefABCDEF
# start_sim NAME QUOTAS: a sim (--quotas QUOTAS) logging to $TMP/NAME.log, its
# output in $TMP/NAME.out, its URL in SIM_URL; stopped at the end
start_sim() {
    "$TP" sim --listen 127.0.0.1:0 --quotas "$2" --credentials "$SIM_KEY:$SIM_SECRET" \
        --log "$TMP/$1.log" >"$TMP/$1.out" 2>&1 &
    sim_pids="$sim_pids $!"
    local end=$((SECONDS + DEADLINE))
    until grep -q "listening on" "$TMP/$1.out" 2>/dev/null || [ $SECONDS -ge $end ]; do
        sleep 0.1
    done
    SIM_URL=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$TMP/$1.out" | head -1)
    [ -n "$SIM_URL" ] || { fail "sim $1 did not start: $(cat "$TMP/$1.out")"; exit 1; }
}
sim_pids=""
other_pid=""
trap 'kill $sim_pids $other_pid 2>/dev/null; cleanup' EXIT
start_sim sim unlimited
ENVV+=("AWS_ACCESS_KEY_ID=$SIM_KEY" "AWS_SECRET_ACCESS_KEY=$SIM_SECRET" "AWS_REGION=us-east-1")
T resize-window -t tp -x 80 -y 24
launch "$TP" console --local testdata/espressif/manifest-espressif.csv
# the file's kind known first (the console keeps the cursor when it arrives,
# console_test SetupFormPrefillsEditsAndToggles; this only keeps the flow
# deterministic)
wait_for "Set up the job" "Kind: espressif" "Endpoint             local" \
    "Sends to: local endpoint"
keys End Up Up Enter C-u
literal "$SIM_URL"
keys Enter
wait_for "jobs now go to $SIM_URL" "Sends to: $SIM_URL" \
    "(AWS_REGION); credentials AKID" && save 80x24-20-setup-endpoint
# the sim has no policy: leave the policies out of this job
keys Home Enter C-u Enter
wait_for "Policies             (none)"
keys F5
wait_for "7 items: 7 ok, 0 warn, 0 error   ready to start"
keys F5
wait_for "100%  7/7 items" "Done: 7 items provisioned"
n=$(grep -c '"op":"RegisterCertificateWithoutCA","method":"POST".*"status":200' "$TMP/sim.log")
[ "$n" = 7 ] || fail "the sim at $SIM_URL registered $n certificates, not 7"
grep -q "$SIM_SECRET" "$TMP"/*.txt "$SCREENS"/*.txt 2>/dev/null && fail "a screen shows the secret"
keys q
wait_for "CONSOLE-EXIT=0"
kill $sim_pids 2>/dev/null
sim_pids=""

# ---- 6. issue 14: a station profile's locked field, the file kind's own
# field, and the registry in the verdict ----
STATE6="$TMP/state6"
CFG6="$TMP/cfg6"
mkdir -p "$STATE6" "$CFG6/thingpress"
printf 'station = "line3-pc1"\npolicies = ["BasicTestPolicy"]\nlocked = ["policies"]\n' \
    >"$CFG6/thingpress/station.toml"
ENVV=(env -i "HOME=$TMP/home" "PATH=/usr/bin:/bin" "LANG=C.UTF-8" "TERM=tmux-256color"
    "XDG_STATE_HOME=$STATE6" "XDG_CONFIG_HOME=$CFG6" "THINGPRESS_SAMPLES=testdata"
    "TSAN_OPTIONS=log_path=$TMP/tsan-report")
T resize-window -t tp -x 120 -y 40
launch "$TP" console testdata/infineon/manifest-infineon.7z
wait_for "Set up the job" "Kind: infineon" "Infineon bundle      E0E0" \
    "locked by the station profile"
keys Home Enter # the locked Policies field is not edited
wait_for "locked by the station profile ${CFG6:0:40}" # the path may be cut
keys F10
wait_for "CONSOLE-EXIT=0"
# Phase 2 before Phase 1: the registry check makes every item an error, and
# starting asks first
launch "$TP" console testdata/mes/device-infos-espressif-phase2.json
wait_for "Set up the job" "Kind: device-infos"
keys F5
wait_for "7 items: 7 ok, 0 warn, 0 error   ready to start"
keys F6
wait_for "not registered: run Phase 1 first"
keys F5
wait_for "Items the registry refuses" "will fail"
keys Escape
keys F10
wait_for "CONSOLE-EXIT=0"

# ---- 7. issue 14, the rest: a file that cannot be opened, the picker and
# .jsonl, the Thing type field named, the Jobs list (an Infineon job's bundle,
# a job another process runs), throttles at 80x24, and cancel vs pause ----
# Three sims: A with room (50 calls/s per operation) for the Infineon job,
# B slow (2/s) for the job "another process" runs while the console looks,
# C at AWS's 10/s for the console's job that throttles and is cancelled.
STATE7="$TMP/state7"
mkdir -p "$STATE7"
for q in 50 2 10; do echo "{\"default\": $q}" >"$TMP/quota-$q.json"; done
start_sim simA "$TMP/quota-50.json"
URL_A=$SIM_URL
start_sim simB "$TMP/quota-2.json"
URL_B=$SIM_URL
start_sim simC "$TMP/quota-10.json"
URL_C=$SIM_URL
ENVV=(env -i "HOME=$TMP/home" "PATH=/usr/bin:/bin" "LANG=C.UTF-8" "TERM=tmux-256color"
    "XDG_STATE_HOME=$STATE7" "THINGPRESS_SAMPLES=testdata" "TSAN_OPTIONS=log_path=$TMP/tsan-report"
    "AWS_ACCESS_KEY_ID=$SIM_KEY" "AWS_SECRET_ACCESS_KEY=$SIM_SECRET" "AWS_REGION=us-east-1")
T resize-window -t tp -x 80 -y 24

# 7a. console on a file that cannot be opened says why (not "detecting...")
launch "$TP" console /nope.csv
wait_for "/nope.csv: cannot open: No such file or directory"
keys F10
wait_for "CONSOLE-EXIT=0"

# 7b. the Jobs list: an Infineon job's bundle, and a job another process runs
(cd "$WORK" && "${ENVV[@]}" "$TP" provision testdata/infineon/manifest-infineon.7z \
    --infineon-bundle E0E1 --endpoint-url "$URL_A" >"$TMP/infineon.out" 2>&1) ||
    fail "the Infineon job: $(cat "$TMP/infineon.out")"
(cd "$WORK" && exec "${ENVV[@]}" "$TP" provision testdata/generated/certificates_test.txt \
    --endpoint-url "$URL_B" >"$TMP/other.out" 2>&1) &
other_pid=$!
launch "$TP" console --endpoint-url "$URL_A"
wait_for "thingpress · Jobs" "E0E1 bundle" "fest-infineon.7z"
wait_re "^ +2 +1 elsewhere +100 "
kill -INT $other_pid
wait $other_pid
[ $? = 2 ] || fail "the other process's job, interrupted, did not exit 2: $(cat "$TMP/other.out")"
grep -q "paused with [0-9]* items pending" "$TMP/other.out" ||
    fail "the other process's job was not paused: $(cat "$TMP/other.out")"
# the Jobs list follows: no longer elsewhere, paused
wait_re "^ +2 +1 paused +100 "

# 7c. the picker does not offer a .jsonl file as device-infos; a device with
# four attributes and no thing type names the console's Thing type field
"$PY" - "$WORK" <<'EOF2' || fail "write the device-infos variants"
import json, os, sys
w = sys.argv[1]
d = json.load(open(os.path.join(w, "testdata/mes/device-infos-espressif-phase2.json")))
with open(os.path.join(w, "devices.jsonl"), "w") as f:
    f.writelines(json.dumps(x) + "\n" for x in d["devices"])
d["batchId"] = "four-attributes"
d["devices"] = d["devices"][:1]
d["devices"][0]["attributes"] = {"DSN": "DSN-0000", "MAC": "4BA2BB8764BD", "LINE": "3", "SHIFT": "B"}
d["devices"][0].pop("deviceType", None)
json.dump(d, open(os.path.join(w, "four-attributes.json"), "w"), indent=2)
EOF2
keys F3
wait_for "Open a file" "devices.jsonl" "four-attributes.json"
screen | grep "devices.jsonl" | grep -q "device-infos" &&
    fail "the picker offers devices.jsonl as device-infos"
literal "/four"
keys Enter Enter
wait_for "Set up the job" "Kind: device-infos" "Thing type           (none)"
keys F5
wait_for "1 items: 0 ok, 0 warn, 1 error" "console's Thing type field"

# 7d. throttles at 80x24: "throttled" and its number both shown; F8 cancels
# (cancelled, not paused), and the status line says how to resume it
launch "$TP" console --endpoint-url "$URL_C" --rate RegisterCertificateWithoutCA=400 \
    line3-generated.txt
wait_for "Set up the job" "Kind: generated"
keys Home Enter C-u Enter # no policies: sim C has none
wait_for "Policies             (none)"
keys F5
wait_for "400 items: 400 ok, 0 warn, 0 error   ready to start"
keys F5
wait_for "Running"
wait_re "retries [0-9]+ +throttled [1-9][0-9]*$"
keys F8
wait_for "Cancel the run?"
keys y
wait_for "cancelled: F5 on it in the Jobs list resumes it"
absent "pausing"
keys F2
wait_re "^ +3 +1 cancelled +400 "
keys F10
wait_for "CONSOLE-EXIT=0"
# the same file run again is refused, not resumed by accident
(cd "$WORK" && "${ENVV[@]}" "$TP" provision line3-generated.txt --endpoint-url "$URL_C" \
    >"$TMP/again.out" 2>&1)
[ $? = 2 ] && grep -q "was cancelled by the operator; nothing was sent" "$TMP/again.out" ||
    fail "running a cancelled job's file again was not refused: $(cat "$TMP/again.out")"
kill $sim_pids 2>/dev/null

for f in "$TMP"/tsan-report*; do
    [ -e "$f" ] || continue
    fail "ThreadSanitizer report in $f:"
    head -40 "$f" >&2
done

# every golden screen was saved by this run (none is left stale)
if [ "$UPDATE" != 1 ]; then
    for f in "$GOLDEN"/*.txt; do
        n=$(basename "$f" .txt)
        [[ " $saved " == *" $n "* ]] || fail "golden screen $f was not saved by this run"
    done
fi

echo "console_e2e_test: screens in $SCREENS"
if [ "$fails" -gt 0 ]; then
    echo "console_e2e_test: $fails failure(s)" >&2
    exit 1
fi
echo "console_e2e_test: ok"
