#!/usr/bin/env bash
# The main job for a newcomer: install what is missing, build, and run both
# phases end to end on the bundled Espressif sample against the local
# endpoint (no AWS account needed):
#   1. validate the vendor file;
#   2. Phase 1: register its 7 certificates INACTIVE, policy attached;
#   3. Phase 2: activate them, create the things (type, attributes), attach
#      certificate, policy and group, from the MES device-infos file;
#   4. show the journal.
# With arguments, runs `thingpress ARGS...` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
./install-deps.sh
bazel build //cli:thingpress
bin=$PWD/bazel-bin/cli/thingpress
if [ $# -gt 0 ]; then
  exec "$bin" "$@"
fi

demo=${TMPDIR:-/tmp}/thingpress-demo
rm -rf "$demo"
mkdir -p "$demo"
state=$demo/state
akid=AKIDLOCALDEMO
secret=local-demo-secret
run() { echo; echo "+ thingpress $*"; "$bin" "$@"; }

run validate testdata/espressif/manifest-espressif.csv

# The local endpoint, seeded with the sample policy, group and thing type
# (an operator's account has its own; the pre-flight checks they exist).
log=$demo/sim.out
"$bin" sim --listen 127.0.0.1:0 --db "$demo/local-endpoint.db" --quotas aws-default \
  --credentials "$akid:$secret" --log "$demo/requests.jsonl" >"$log" 2>&1 &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q 'listening on' "$log" && break
  sleep 0.1
done
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$log" | head -1)
[ -n "$url" ] || { cat "$log" >&2; exit 1; }
echo
echo "local endpoint: $url (requests logged in $demo/requests.jsonl)"
export AWS_ACCESS_KEY_ID=$akid AWS_SECRET_ACCESS_KEY=$secret AWS_DEFAULT_REGION=us-east-1
aws=/root/.pyenv/versions/3.11.7/bin/aws
command -v "$aws" >/dev/null || aws=aws
"$aws" --endpoint-url "$url" iot create-policy --policy-name BasicTestPolicy \
  --policy-document file://testdata/misc/test-policy-basic.json >/dev/null
"$aws" --endpoint-url "$url" iot create-thing-group --thing-group-name BasicTestGroup >/dev/null
"$aws" --endpoint-url "$url" iot create-thing-type --thing-type-name BasicTestType >/dev/null

run provision --state "$state" --endpoint-url "$url" --policies BasicTestPolicy \
  testdata/espressif/manifest-espressif.csv
run provision --state "$state" --endpoint-url "$url" --policies BasicTestPolicy \
  --thing-groups BasicTestGroup --thing-type BasicTestType \
  testdata/mes/device-infos-espressif-phase2.json
run status --state "$state"
echo
echo "+ aws iot describe-thing --thing-name esp-5B62ACC6615E"
"$aws" --endpoint-url "$url" iot describe-thing --thing-name esp-5B62ACC6615E
