#!/usr/bin/env bash
# `thingpress sim` driven by the AWS CLI (DESIGN.md §8; v1 from pyenv by
# default, AWS_BIN=/usr/bin/aws for Debian's v2): every operation it
# serves, the AWS error codes and their HTTP statuses (read back from the
# sim's own JSON-lines request log, since the CLI prints only the code),
# SigV4 rejections (wrong secret, unknown key, stale date), state kept across
# a restart with --db, a quota and the fault kinds. Bounded: every wait has a
# deadline, and the sim is stopped on every exit path.
set -uo pipefail

AWS_BIN=${AWS_BIN:-/root/.pyenv/versions/3.11.7/bin/aws}
PY=${PY:-/root/.pyenv/versions/3.11.7/bin/python3}
TP=${TP:-cli/thingpress}
TD=${TD:-testdata}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
AKID=AKIDEXAMPLE
SECRET=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
ACCOUNT=123456789012
REGION=us-east-1
CERT1_ID=471b988fe26c0dd59913cd61afbc33ffbb5c0757ebb333c3fd3ea6cf2850f0e9 # testdata/iot-wire/README.md

for f in "$AWS_BIN" "$PY" "$TP"; do
    [ -x "$f" ] || { echo "sim_awscli_test: $f not found (install the AWS CLI v1 in pyenv, see DESIGN.md §8)" >&2; exit 1; }
done

fails=0
checks=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}
eq() { # eq WHAT EXPECTED GOT
    checks=$((checks + 1))
    [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# ---- the sim ----

SIM_PID=
PORT=
LOG="$TMP/requests.jsonl"
stop_sim() {
    [ -n "$SIM_PID" ] || return 0
    kill -TERM "$SIM_PID" 2>/dev/null
    local rc=0
    wait "$SIM_PID" || rc=$?
    SIM_PID=
    return $rc
}
trap 'stop_sim' EXIT

start_sim() { # start_sim EXTRA-ARGS...
    : >"$TMP/sim.out"
    "$TP" sim --listen 127.0.0.1:0 --account "$ACCOUNT" --region "$REGION" --log "$LOG" \
        "$@" >"$TMP/sim.out" 2>"$TMP/sim.err" &
    SIM_PID=$!
    local i
    for i in $(seq 1 200); do
        PORT=$(sed -n 's#^thingpress sim: listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$#\1#p' "$TMP/sim.out")
        [ -n "$PORT" ] && return 0
        if ! kill -0 "$SIM_PID" 2>/dev/null; then
            echo "thingpress sim exited early: $(cat "$TMP/sim.err")" >&2
            exit 1
        fi
        sleep 0.05
    done
    echo "thingpress sim did not print its port within 10 s" >&2
    exit 1
}

# ---- the AWS CLI ----

export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET AWS_DEFAULT_REGION=$REGION
# one request per call, so the log lines match: v1's "legacy" mode, or v2's
# "standard" (v2 has no legacy mode) with a single attempt
case "$("$AWS_BIN" --version 2>&1)" in
aws-cli/1.*) export AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=legacy ;;
*) export AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=standard ;;
esac
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_IOT

awscli() { "$AWS_BIN" --endpoint-url "http://127.0.0.1:$PORT" --output json iot "$@"; }

# j EXPR: evaluates a Python expression over the JSON document on stdin (d).
j() { "$PY" -c 'import json,sys; d=json.load(sys.stdin); r=eval(sys.argv[1]); print(json.dumps(r) if isinstance(r,(dict,list,bool)) or r is None else r)' "$1"; }

OUT=
ok() { # ok ARGS...: the call must succeed; its output is in $OUT
    checks=$((checks + 1))
    if ! OUT=$(awscli "$@" 2>"$TMP/err"); then
        fail "aws iot $*: $(tr '\n' ' ' <"$TMP/err")"
        kill -0 "$SIM_PID" 2>/dev/null || { echo "thingpress sim died: $(cat "$TMP/sim.err")" >&2; exit 1; }
        OUT='{}'
        return 1
    fi
    [ -n "$OUT" ] || OUT='{}'
    return 0
}

last_log() { tail -n 1 "$LOG"; }

# expect_err CODE HTTP ARGS...: the call fails with CODE, and the sim logged HTTP.
expect_err() {
    local code=$1 status=$2
    shift 2
    checks=$((checks + 1))
    if awscli "$@" >"$TMP/out" 2>"$TMP/err"; then
        fail "aws iot $*: succeeded, expected $code"
        return 1
    fi
    if ! grep -q "An error occurred ($code)" "$TMP/err"; then
        fail "aws iot $*: expected $code, got: $(tr '\n' ' ' <"$TMP/err")"
        kill -0 "$SIM_PID" 2>/dev/null || { echo "thingpress sim died: $(cat "$TMP/sim.err")" >&2; exit 1; }
        return 1
    fi
    eq "aws iot $*: logged status" "$status" "$(last_log | j d[\"status\"])"
    eq "aws iot $*: logged error" "$code" "$(last_log | j d[\"error\"])"
}

arn() { echo "arn:aws:iot:$REGION:$ACCOUNT:$1/$2"; }

# ======================================================================
start_sim --credentials "$AKID:$SECRET" --db "$TMP/state.db" --quotas unlimited

# ---- certificates ----
ok register-certificate-without-ca --certificate-pem "file://$TD/iot-wire/test-cert.pem" --status INACTIVE
eq "register: certificateId = sha256(DER)" "$CERT1_ID" "$(echo "$OUT" | j 'd["certificateId"]')"
eq "register: certificateArn" "$(arn cert $CERT1_ID)" "$(echo "$OUT" | j 'd["certificateArn"]')"
eq "register: logged" '200 RegisterCertificateWithoutCA ok' "$(last_log | j '"%s %s %s" % (d["status"], d["op"], d["sig"])')"

expect_err ResourceAlreadyExistsException 409 register-certificate-without-ca \
    --certificate-pem "file://$TD/iot-wire/test-cert.pem" --status ACTIVE

CERT2_ID=$("$PY" -c 'import base64,hashlib,re,sys; t=open(sys.argv[1]).read(); b=re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END", t, re.S).group(1); print(hashlib.sha256(base64.b64decode("".join(b.split()))).hexdigest())' "$TD/misc/single.pem")
ok register-certificate-without-ca --certificate-pem "file://$TD/misc/single.pem" --status ACTIVE
eq "register single.pem: id" "$CERT2_ID" "$(echo "$OUT" | j 'd["certificateId"]')"

printf -- '-----BEGIN CERTIFICATE-----\nTUlJQm5vdGFjZXJ0\n-----END CERTIFICATE-----\n' >"$TMP/bad.pem"
expect_err CertificateValidationException 400 register-certificate-without-ca \
    --certificate-pem "file://$TMP/bad.pem"
expect_err CertificateValidationException 400 register-certificate-without-ca \
    --certificate-pem "not a certificate at all"
expect_err InvalidRequestException 400 register-certificate-without-ca \
    --certificate-pem "file://$TD/misc/single.pem" --status PENDING_TRANSFER

ok describe-certificate --certificate-id "$CERT1_ID"
eq "describe-certificate: id" "$CERT1_ID" "$(echo "$OUT" | j 'd["certificateDescription"]["certificateId"]')"
eq "describe-certificate: arn" "$(arn cert $CERT1_ID)" "$(echo "$OUT" | j 'd["certificateDescription"]["certificateArn"]')"
eq "describe-certificate: status" INACTIVE "$(echo "$OUT" | j 'd["certificateDescription"]["status"]')"
eq "describe-certificate: pem as registered" "$(cat "$TD/iot-wire/test-cert.pem")" "$(echo "$OUT" | j 'd["certificateDescription"]["certificatePem"].rstrip("\n")')"
# v1 prints the wire's epoch seconds; v2 formats them as ISO 8601
eq "describe-certificate: creationDate is a recent time" True "$(echo "$OUT" | "$PY" -c 'import json,sys,time,datetime; c=json.load(sys.stdin)["certificateDescription"]["creationDate"]; c=c if isinstance(c,(int,float)) else datetime.datetime.fromisoformat(c).timestamp(); print(abs(time.time() - c) < 600)')"
eq "describe-certificate: ownedBy" "$ACCOUNT" "$(echo "$OUT" | j 'd["certificateDescription"]["ownedBy"]')"
expect_err ResourceNotFoundException 404 describe-certificate --certificate-id "$(printf '%064d' 0)"

ok update-certificate --certificate-id "$CERT1_ID" --new-status ACTIVE
ok describe-certificate --certificate-id "$CERT1_ID"
eq "update-certificate: now ACTIVE" ACTIVE "$(echo "$OUT" | j 'd["certificateDescription"]["status"]')"
ok update-certificate --certificate-id "$CERT1_ID" --new-status ACTIVE # same status: no-op
ok update-certificate --certificate-id "$CERT2_ID" --new-status INACTIVE
ok update-certificate --certificate-id "$CERT2_ID" --new-status REVOKED
expect_err CertificateStateException 406 update-certificate --certificate-id "$CERT2_ID" --new-status ACTIVE
expect_err CertificateStateException 406 update-certificate --certificate-id "$CERT2_ID" --new-status INACTIVE
ok describe-certificate --certificate-id "$CERT2_ID"
eq "revoked stays revoked" REVOKED "$(echo "$OUT" | j 'd["certificateDescription"]["status"]')"
expect_err ResourceNotFoundException 404 update-certificate --certificate-id "$(printf '%064d' 1)" --new-status ACTIVE
expect_err InvalidRequestException 400 update-certificate --certificate-id "$CERT1_ID" --new-status PENDING_ACTIVATION

ok list-certificates
eq "list-certificates: both" 2 "$(echo "$OUT" | j 'len(d["certificates"])')"
eq "list-certificates: newest first" "$CERT2_ID" "$(echo "$OUT" | j 'd["certificates"][0]["certificateId"]')"
ok list-certificates --ascending-order
eq "list-certificates --ascending-order: oldest first" "$CERT1_ID" "$(echo "$OUT" | j 'd["certificates"][0]["certificateId"]')"
# (the CLI does not page by itself when --page-size is given: it is a modeled parameter)
ok list-certificates --page-size 1
eq "list-certificates one page" 1 "$(echo "$OUT" | j 'len(d["certificates"])')"
marker=$(echo "$OUT" | j 'd["nextMarker"]')
ok list-certificates --page-size 1 --no-paginate --marker "$marker"
eq "list-certificates second page" "$CERT1_ID" "$(echo "$OUT" | j 'd["certificates"][0]["certificateId"]')"
eq "list-certificates last page has no marker" null "$(echo "$OUT" | j 'd.get("nextMarker")')"
expect_err InvalidRequestException 400 list-certificates --page-size 1 --no-paginate --marker bogus

# ---- thing types, groups, policies ----
ok create-thing-type --thing-type-name sensor-v1 --thing-type-properties 'thingTypeDescription=sensors,searchableAttributes=serial'
TYPE_ID=$(echo "$OUT" | j 'd["thingTypeId"]')
eq "create-thing-type: arn" "$(arn thingtype sensor-v1)" "$(echo "$OUT" | j 'd["thingTypeArn"]')"
ok create-thing-type --thing-type-name sensor-v1 --thing-type-properties 'thingTypeDescription=sensors,searchableAttributes=serial'
eq "create-thing-type again, same config: same id" "$TYPE_ID" "$(echo "$OUT" | j 'd["thingTypeId"]')"
expect_err ResourceAlreadyExistsException 409 create-thing-type --thing-type-name sensor-v1
ok describe-thing-type --thing-type-name sensor-v1
eq "describe-thing-type: id" "$TYPE_ID" "$(echo "$OUT" | j 'd["thingTypeId"]')"
eq "describe-thing-type: description" sensors "$(echo "$OUT" | j 'd["thingTypeProperties"]["thingTypeDescription"]')"
eq "describe-thing-type: not deprecated" false "$(echo "$OUT" | j 'd["thingTypeMetadata"]["deprecated"]')"
expect_err ResourceNotFoundException 404 describe-thing-type --thing-type-name nope

ok create-thing-group --thing-group-name fleet-a --thing-group-properties 'thingGroupDescription=first fleet'
GROUP_ID=$(echo "$OUT" | j 'd["thingGroupId"]')
eq "create-thing-group: arn" "$(arn thinggroup fleet-a)" "$(echo "$OUT" | j 'd["thingGroupArn"]')"
ok create-thing-group --thing-group-name fleet-a-sub --parent-group-name fleet-a
expect_err InvalidRequestException 400 create-thing-group --thing-group-name orphan --parent-group-name nope
expect_err ResourceAlreadyExistsException 409 create-thing-group --thing-group-name fleet-a
ok describe-thing-group --thing-group-name fleet-a
eq "describe-thing-group: id" "$GROUP_ID" "$(echo "$OUT" | j 'd["thingGroupId"]')"
eq "describe-thing-group: description" "first fleet" "$(echo "$OUT" | j 'd["thingGroupProperties"]["thingGroupDescription"]')"
ok describe-thing-group --thing-group-name fleet-a-sub
eq "describe-thing-group: parents" '["fleet-a"]' "$(echo "$OUT" | j '[g["groupName"] for g in d["thingGroupMetadata"]["rootToParentThingGroups"]]')"
expect_err ResourceNotFoundException 404 describe-thing-group --thing-group-name nope

ok create-policy --policy-name fleet-policy --policy-document "file://$TD/misc/test-policy-basic.json"
eq "create-policy: arn" "$(arn policy fleet-policy)" "$(echo "$OUT" | j 'd["policyArn"]')"
eq "create-policy: version" 1 "$(echo "$OUT" | j 'd["policyVersionId"]')"
expect_err ResourceAlreadyExistsException 409 create-policy --policy-name fleet-policy --policy-document '{}'
expect_err MalformedPolicyException 400 create-policy --policy-name broken --policy-document '{not json'
ok get-policy --policy-name fleet-policy
eq "get-policy: document" "$("$PY" -c 'import sys; print(open(sys.argv[1]).read())' "$TD/misc/test-policy-basic.json")" "$(echo "$OUT" | j 'd["policyDocument"]')"
eq "get-policy: default version" 1 "$(echo "$OUT" | j 'd["defaultVersionId"]')"
expect_err ResourceNotFoundException 404 get-policy --policy-name nope

# ---- things ----
ATTRS='{"attributes":{"serial":"SN-001","model":"m1","fw":"1.0.0","site":"plant-7"}}'
ok create-thing --thing-name dev-001 --thing-type-name sensor-v1 --attribute-payload "$ATTRS"
THING_ID=$(echo "$OUT" | j 'd["thingId"]')
eq "create-thing: arn" "$(arn thing dev-001)" "$(echo "$OUT" | j 'd["thingArn"]')"
ok create-thing --thing-name dev-001 --thing-type-name sensor-v1 --attribute-payload "$ATTRS"
eq "create-thing again, same config: the existing thing" "$THING_ID" "$(echo "$OUT" | j 'd["thingId"]')"
expect_err ResourceAlreadyExistsException 409 create-thing --thing-name dev-001 --thing-type-name sensor-v1 \
    --attribute-payload '{"attributes":{"serial":"SN-002"}}'
expect_err ResourceAlreadyExistsException 409 create-thing --thing-name dev-001 \
    --attribute-payload '{"attributes":{"serial":"SN-001","model":"m1","fw":"1.0.0"}}' # no type
expect_err InvalidRequestException 400 create-thing --thing-name dev-002 --attribute-payload "$ATTRS" # 4 > 3 without a type
ok create-thing --thing-name dev-002 --attribute-payload '{"attributes":{"a":"1","b":"2","c":"3"}}'
expect_err InvalidRequestException 400 create-thing --thing-name "bad name"
expect_err InvalidRequestException 400 create-thing --thing-name dev-003 --attribute-payload '{"attributes":{"bad name":"1"}}'
expect_err InvalidRequestException 400 create-thing --thing-name dev-003 --attribute-payload '{"attributes":{"k":"bad value"}}'
expect_err ResourceNotFoundException 404 create-thing --thing-name dev-003 --thing-type-name nope
"$PY" -c 'import json; print(json.dumps({"attributes": {"a%d" % i: str(i) for i in range(51)}}))' >"$TMP/attrs51.json"
expect_err InvalidRequestException 400 create-thing --thing-name dev-003 --thing-type-name sensor-v1 \
    --attribute-payload "file://$TMP/attrs51.json"
ok create-thing --thing-name plant:7_dev-001 --thing-type-name sensor-v1 # ':' is encoded twice when signing
eq "create-thing with ':': arn" "$(arn thing plant:7_dev-001)" "$(echo "$OUT" | j 'd["thingArn"]')"

ok describe-thing --thing-name dev-001
eq "describe-thing: id" "$THING_ID" "$(echo "$OUT" | j 'd["thingId"]')"
eq "describe-thing: type" sensor-v1 "$(echo "$OUT" | j 'd["thingTypeName"]')"
eq "describe-thing: attributes" '{"fw": "1.0.0", "model": "m1", "serial": "SN-001", "site": "plant-7"}' \
    "$(echo "$OUT" | "$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["attributes"], sort_keys=True))')"
eq "describe-thing: version" 1 "$(echo "$OUT" | j 'd["version"]')"
eq "describe-thing: defaultClientId" dev-001 "$(echo "$OUT" | j 'd["defaultClientId"]')"
ok describe-thing --thing-name plant:7_dev-001
eq "describe-thing with ':'" plant:7_dev-001 "$(echo "$OUT" | j 'd["thingName"]')"
expect_err ResourceNotFoundException 404 describe-thing --thing-name nope

ok list-things
eq "list-things: all" 3 "$(echo "$OUT" | j 'len(d["things"])')"
ok list-things --thing-type-name sensor-v1
eq "list-things by type" '["dev-001", "plant:7_dev-001"]' "$(echo "$OUT" | j 'sorted(t["thingName"] for t in d["things"])')"
ok list-things --attribute-name serial --attribute-value SN-001
eq "list-things by attribute" '["dev-001"]' "$(echo "$OUT" | j '[t["thingName"] for t in d["things"]]')"
ok list-things --max-items 2
eq "list-things --max-items 2" 2 "$(echo "$OUT" | j 'len(d["things"])')"
eq "list-things --max-items 2: a NextToken" true "$(echo "$OUT" | j 'bool(d.get("NextToken"))')"

# ---- attachments ----
ok attach-thing-principal --thing-name dev-001 --principal "$(arn cert $CERT1_ID)"
ok attach-thing-principal --thing-name dev-001 --principal "$(arn cert $CERT1_ID)" # idempotent
ok list-thing-principals --thing-name dev-001
eq "list-thing-principals" "[\"$(arn cert $CERT1_ID)\"]" "$(echo "$OUT" | j 'd["principals"]')"
expect_err ResourceNotFoundException 404 attach-thing-principal --thing-name dev-001 --principal "$(arn cert "$(printf '%064d' 2)")"
expect_err ResourceNotFoundException 404 attach-thing-principal --thing-name nope --principal "$(arn cert $CERT1_ID)"
expect_err InvalidRequestException 400 attach-thing-principal --thing-name dev-001 --principal not-an-arn
expect_err ResourceNotFoundException 404 list-thing-principals --thing-name nope

ok attach-policy --policy-name fleet-policy --target "$(arn cert $CERT1_ID)"
ok attach-policy --policy-name fleet-policy --target "$(arn cert $CERT1_ID)" # idempotent
ok list-attached-policies --target "$(arn cert $CERT1_ID)"
eq "list-attached-policies" '["fleet-policy"]' "$(echo "$OUT" | j '[p["policyName"] for p in d["policies"]]')"
eq "list-attached-policies: arn" "$(arn policy fleet-policy)" "$(echo "$OUT" | j 'd["policies"][0]["policyArn"]')"
expect_err ResourceNotFoundException 404 attach-policy --policy-name nope --target "$(arn cert $CERT1_ID)"
expect_err ResourceNotFoundException 404 attach-policy --policy-name fleet-policy --target "$(arn cert "$(printf '%064d' 3)")"
for i in 2 3 4 5 6 7 8 9 10 11; do
    ok create-policy --policy-name "p$i" --policy-document '{"Version":"2012-10-17","Statement":[]}'
done
for i in 2 3 4 5 6 7 8 9 10; do
    ok attach-policy --policy-name "p$i" --target "$(arn cert $CERT1_ID)"
done
expect_err LimitExceededException 410 attach-policy --policy-name p11 --target "$(arn cert $CERT1_ID)"
marker=
names=
pages=0
while :; do
    ok list-attached-policies --target "$(arn cert $CERT1_ID)" --page-size 4 ${marker:+--marker "$marker"} || break
    names="$names$(echo "$OUT" | j '" ".join(p["policyName"] for p in d["policies"])') "
    pages=$((pages + 1))
    marker=$(echo "$OUT" | j 'd.get("nextMarker") or ""')
    [ -n "$marker" ] && [ "$pages" -lt 10 ] || break
done
eq "list-attached-policies paged by 4: pages" 3 "$pages"
eq "list-attached-policies paged by 4: all, in attach order" "fleet-policy p2 p3 p4 p5 p6 p7 p8 p9 p10 " "$names"

ok add-thing-to-thing-group --thing-group-name fleet-a --thing-name dev-001
ok add-thing-to-thing-group --thing-group-arn "$(arn thinggroup fleet-a-sub)" --thing-arn "$(arn thing dev-001)"
ok add-thing-to-thing-group --thing-group-name fleet-a --thing-name dev-001 # idempotent
ok list-thing-groups-for-thing --thing-name dev-001
eq "list-thing-groups-for-thing" '["fleet-a", "fleet-a-sub"]' "$(echo "$OUT" | j 'sorted(g["groupName"] for g in d["thingGroups"])')"
eq "list-thing-groups-for-thing: arn" "$(arn thinggroup fleet-a)" "$(echo "$OUT" | j 'd["thingGroups"][0]["groupArn"]')"
expect_err ResourceNotFoundException 404 add-thing-to-thing-group --thing-group-name nope --thing-name dev-001
expect_err ResourceNotFoundException 404 add-thing-to-thing-group --thing-group-name fleet-a --thing-name nope
expect_err ResourceNotFoundException 404 list-thing-groups-for-thing --thing-name nope

# ---- the read operations people check results with (issue 14) ----
# Set up in one botocore process (a CLI process per call would double the
# cost): thing group reads with 5 things and a child group with a 6th, 3 more
# certificates (5 in all), CERT1 on the 5 things and the 5 certificates on
# read-1. The CLI then pages through each listing 2 at a time: every item
# comes back once, in as many requests as the sim logged.
cat >"$TMP/reads.py" <<'EOF'
import csv, sys
import botocore.session
from botocore.config import Config
port, manifest, cert1_arn, cert2_arn = sys.argv[1:5]
c = botocore.session.get_session().create_client(
    "iot", region_name="us-east-1", endpoint_url="http://127.0.0.1:%s" % port,
    config=Config(retries={"max_attempts": 1, "mode": "legacy"}))
c.create_thing_group(thingGroupName="reads")
c.create_thing_group(thingGroupName="reads-sub", parentGroupName="reads")
arns = [cert1_arn, cert2_arn]
for row in list(csv.DictReader(open(manifest)))[1:4]:  # row 0 is single.pem
    arns.append(c.register_certificate_without_ca(certificatePem=row["cert"])["certificateArn"])
for i in range(1, 7):
    name = "read-%d" % i
    c.create_thing(thingName=name)
    c.add_thing_to_thing_group(thingGroupName="reads" if i < 6 else "reads-sub", thingName=name)
    if i < 6:
        c.attach_thing_principal(thingName=name, principal=cert1_arn)
for a in arns:
    c.attach_thing_principal(thingName="read-1", principal=a)
print(" ".join(a.rsplit("/", 1)[1] for a in arns))
EOF
checks=$((checks + 1))
CERT_IDS=$("$PY" "$TMP/reads.py" "$PORT" "$TD/espressif/manifest-espressif.csv" \
    "$(arn cert $CERT1_ID)" "$(arn cert $CERT2_ID)" 2>"$TMP/err") ||
    fail "setting up the read operations: $(tr '\n' ' ' <"$TMP/err")"
REQS=
paged() { # paged ARGS...: like ok; REQS = the requests the CLI's own paging made
    local before
    before=$(wc -l <"$LOG")
    ok "$@"
    REQS=$(($(wc -l <"$LOG") - before))
}
sorted_once() { # the JSON list on stdin, sorted, or "duplicates: ..." when one repeats
    "$PY" -c 'import json,sys; l=json.load(sys.stdin); print(" ".join(sorted(l)) if len(set(l)) == len(l) else "duplicates: %s" % l)'
}
paged list-things-in-thing-group --thing-group-name reads --page-size 2
eq "list-things-in-thing-group --page-size 2: all, once, in order" \
    '["read-1", "read-2", "read-3", "read-4", "read-5"]' "$(echo "$OUT" | j 'd["things"]')"
eq "list-things-in-thing-group --page-size 2: 3 requests" 3 "$REQS"
eq "list-things-in-thing-group: logged" "200 ListThingsInThingGroup GET /thing-groups/reads/things" \
    "$(last_log | j '"%s %s %s %s" % (d["status"], d["op"], d["method"], d["path"])')"
ok list-things-in-thing-group --thing-group-name reads --recursive
eq "list-things-in-thing-group --recursive: the child group's thing too" \
    "read-1 read-2 read-3 read-4 read-5 read-6" "$(echo "$OUT" | j 'd["things"]' | sorted_once)"
expect_err ResourceNotFoundException 404 list-things-in-thing-group --thing-group-name nope

paged list-principal-things --principal "$(arn cert $CERT1_ID)" --page-size 2
eq "list-principal-things --page-size 2: all, once" "dev-001 read-1 read-2 read-3 read-4 read-5" \
    "$(echo "$OUT" | j 'd["things"]' | sorted_once)"
eq "list-principal-things --page-size 2: 3 requests" 3 "$REQS"
expect_err ResourceNotFoundException 404 list-principal-things --principal "$(arn cert "$(printf '%064d' 4)")"

paged list-thing-principals --thing-name read-1 --page-size 2
eq "list-thing-principals --page-size 2: the 5 certificates, once" \
    "$(for id in $CERT_IDS; do arn cert "$id"; done | sort | tr '\n' ' ' | sed 's/ $//')" \
    "$(echo "$OUT" | j 'd["principals"]' | sorted_once)"
eq "list-thing-principals --page-size 2: 3 requests" 3 "$REQS"

paged list-things --page-size 2
eq "list-things --page-size 2: all, once" \
    "dev-001 dev-002 plant:7_dev-001 read-1 read-2 read-3 read-4 read-5 read-6" \
    "$(echo "$OUT" | j '[t["thingName"] for t in d["things"]]' | sorted_once)"
eq "list-things --page-size 2: 5 requests" 5 "$REQS"

# ListCertificates' own limit is named pageSize, so the CLI does not page by
# itself: follow nextMarker as a script would
marker=
ids=
pages=0
while :; do
    ok list-certificates --page-size 2 ${marker:+--marker "$marker"} || break
    ids="$ids$(echo "$OUT" | j '" ".join(c["certificateId"] for c in d["certificates"])') "
    pages=$((pages + 1))
    marker=$(echo "$OUT" | j 'd.get("nextMarker") or ""')
    [ -n "$marker" ] && [ "$pages" -lt 10 ] || break
done
eq "list-certificates --page-size 2: 3 pages" 3 "$pages"
eq "list-certificates --page-size 2: the 5, once" "$(echo "$CERT_IDS" | tr ' ' '\n' | sort | tr '\n' ' ')" \
    "$(echo "$ids" | tr ' ' '\n' | grep . | sort | tr '\n' ' ')"

# ---- routes the sim does not serve ----
expect_err UnknownOperationException 404 delete-thing --thing-name dev-002

# ---- error bodies and signatures, through botocore ----
cat >"$TMP/boto.py" <<'EOF'
import datetime, json, sys
import botocore.auth, botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError
port, akid, secret, cert_pem, cert_id = sys.argv[1:6]
def client(key=akid, sec=secret):
    s = botocore.session.get_session()
    return s.create_client("iot", region_name="us-east-1", endpoint_url="http://127.0.0.1:%s" % port,
                           aws_access_key_id=key, aws_secret_access_key=sec,
                           config=Config(retries={"max_attempts": 1, "mode": "legacy"}))
def error(fn):
    try:
        fn()
    except ClientError as e:
        return e.response
    return None
out = {}
r = error(lambda: client().register_certificate_without_ca(certificatePem=open(cert_pem).read()))
out["dup"] = [r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"], r.get("resourceId"), r.get("resourceArn")]
r = error(lambda: client(sec="wrong").describe_thing(thingName="dev-001"))
out["wrong_secret"] = [r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]]
r = error(lambda: client(key="AKIDUNKNOWN").describe_thing(thingName="dev-001"))
out["unknown_key"] = [r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]]
real = botocore.auth.get_current_datetime
botocore.auth.get_current_datetime = lambda *a, **k: real(*a, **k) - datetime.timedelta(minutes=20)
r = error(lambda: client().describe_thing(thingName="dev-001"))
out["stale"] = [r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"], r["Error"]["Message"].startswith("Signature expired")]
botocore.auth.get_current_datetime = real
r = error(lambda: client().update_certificate(certificateId=cert_id, newStatus="ACTIVE"))
out["errortype"] = r["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-errortype", "").split(":")[0]
print(json.dumps(out))
EOF
BOTO=$("$PY" "$TMP/boto.py" "$PORT" "$AKID" "$SECRET" "$TD/iot-wire/test-cert.pem" "$CERT2_ID" 2>"$TMP/err") ||
    fail "botocore checks: $(tr '\n' ' ' <"$TMP/err")"
checks=$((checks + 1))
eq "409 body: resourceId, resourceArn" "[409, \"ResourceAlreadyExistsException\", \"$CERT1_ID\", \"$(arn cert $CERT1_ID)\"]" "$(echo "${BOTO:-{\}}" | j 'd.get("dup")')"
eq "wrong secret" '[403, "InvalidSignatureException"]' "$(echo "${BOTO:-{\}}" | j 'd.get("wrong_secret")')"
eq "unknown access key" '[403, "UnrecognizedClientException"]' "$(echo "${BOTO:-{\}}" | j 'd.get("unknown_key")')"
eq "date 20 minutes old" '[403, "InvalidSignatureException", true]' "$(echo "${BOTO:-{\}}" | j 'd.get("stale")')"
eq "x-amzn-ErrorType header" CertificateStateException "$(echo "${BOTO:-{\}}" | j 'd.get("errortype")')"
eq "the log records the verdicts" '["bad-signature", "unknown-key", "stale"]' \
    "$(grep -v '"sig":"ok"' "$LOG" | "$PY" -c 'import json,sys; print(json.dumps([json.loads(l)["sig"] for l in sys.stdin]))')"
AWS_SECRET_ACCESS_KEY=wrong expect_err InvalidSignatureException 403 describe-thing --thing-name dev-001
AWS_ACCESS_KEY_ID=AKIDOTHER expect_err UnrecognizedClientException 403 describe-thing --thing-name dev-001
if grep -q -e "$SECRET" -e 'BEGIN CERTIFICATE' "$LOG" "$TMP/sim.out" "$TMP/sim.err"; then
    fail "the secret key or a certificate body appears in the sim's output or log"
fi

# ---- restart: --db keeps the state ----
stop_sim || fail "thingpress sim did not exit 0 on SIGTERM"
start_sim --credentials "$AKID:$SECRET" --db "$TMP/state.db" --quotas unlimited
ok describe-thing --thing-name dev-001
eq "after restart: the thing" "$THING_ID" "$(echo "$OUT" | j 'd["thingId"]')"
ok describe-certificate --certificate-id "$CERT2_ID"
eq "after restart: still revoked" REVOKED "$(echo "$OUT" | j 'd["certificateDescription"]["status"]')"
ok list-attached-policies --target "$(arn cert $CERT1_ID)"
eq "after restart: policies" 10 "$(echo "$OUT" | j 'len(d["policies"])')"
expect_err CertificateStateException 406 update-certificate --certificate-id "$CERT2_ID" --new-status ACTIVE
# a second sim on the same state file is refused
checks=$((checks + 1))
if timeout 10 "$TP" sim --listen 127.0.0.1:0 --db "$TMP/state.db" >"$TMP/second.out" 2>"$TMP/second.err"; then
    fail "a second sim on the same --db started"
else
    grep -q "in use by another process" "$TMP/second.err" || fail "second sim: $(cat "$TMP/second.err")"
fi
stop_sim || fail "thingpress sim did not exit 0 on SIGTERM"

# ---- no credentials: any key, but a well-formed signature ----
start_sim
AWS_ACCESS_KEY_ID=AKIDANY AWS_SECRET_ACCESS_KEY=anything ok list-things
eq "no --credentials: any key accepted" unverified "$(last_log | j 'd["sig"]')"
checks=$((checks + 1))
code=$(curl -s -o "$TMP/body" -w '%{http_code}' "http://127.0.0.1:$PORT/things")
eq "unsigned request" 403 "$code"
eq "unsigned request: error" MissingAuthenticationTokenException "$(last_log | j 'd["error"]')"
AWS_DEFAULT_REGION=eu-west-1 expect_err InvalidSignatureException 403 list-things # scope of another region
stop_sim || fail "thingpress sim did not exit 0 on SIGTERM"

# ---- quotas: a 0.1/s operation allows one call, then throttles ----
echo '{"default": "unlimited", "DescribeThingType": 0.1}' >"$TMP/quotas.json"
start_sim --quotas "$TMP/quotas.json"
ok create-thing-type --thing-type-name t1
ok describe-thing-type --thing-type-name t1
expect_err ThrottlingException 400 describe-thing-type --thing-type-name t1
stop_sim

# ---- faults ----
start_sim --quotas unlimited --faults '500:1,ops:DescribeThingType'
ok create-thing-type --thing-type-name t1
expect_err InternalFailureException 500 describe-thing-type --thing-type-name t1
eq "500 fault logged" 500 "$(last_log | j 'd["fault"]')"
stop_sim
start_sim --quotas unlimited --faults '503:1,ops:DescribeThingType'
ok create-thing-type --thing-type-name t1
expect_err ServiceUnavailableException 503 describe-thing-type --thing-type-name t1
stop_sim
start_sim --quotas unlimited --faults 'throttle:1,ops:DescribeThingType'
ok create-thing-type --thing-type-name t1
expect_err ThrottlingException 400 describe-thing-type --thing-type-name t1
stop_sim
start_sim --quotas unlimited --faults 'reset:1,ops:CreateThingType'
checks=$((checks + 1))
awscli create-thing-type --thing-type-name t1 >/dev/null 2>"$TMP/err" && fail "reset: the call succeeded"
grep -qi "connection\|endpoint" "$TMP/err" || fail "reset: unexpected error $(cat "$TMP/err")"
eq "reset logged" reset "$(last_log | j 'd["fault"]')"
expect_err ResourceNotFoundException 404 describe-thing-type --thing-type-name t1 # nothing done
stop_sim
start_sim --quotas unlimited --faults 'late:1,ops:CreateThingType'
checks=$((checks + 1))
awscli create-thing-type --thing-type-name t1 >/dev/null 2>"$TMP/err" && fail "late: the call succeeded"
eq "late logged" late "$(last_log | j 'd["fault"]')"
ok describe-thing-type --thing-type-name t1 # ... but it took effect
eq "late: the type exists" t1 "$(echo "$OUT" | j 'd["thingTypeName"]')"
stop_sim

# ---- bad options ----
checks=$((checks + 1))
"$TP" sim --listen 0.0.0.0:0 >/dev/null 2>"$TMP/err" && fail "--listen 0.0.0.0 accepted"
grep -q "127.0.0.1 only" "$TMP/err" || fail "--listen 0.0.0.0: $(cat "$TMP/err")"
"$TP" sim --credentials nocolon >/dev/null 2>"$TMP/err" && fail "--credentials without ':' accepted"
"$TP" sim --account 12 >/dev/null 2>"$TMP/err" && fail "--account 12 accepted"

echo "sim_awscli_test: $checks checks, $fails failed"
[ "$fails" -eq 0 ] || { echo "--- last sim stderr:"; cat "$TMP/sim.err"; }
[ "$fails" -eq 0 ]
