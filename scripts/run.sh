#!/usr/bin/env bash
# The main job for a newcomer: install what is missing, build, and run
# thingpress on a bundled sample (validation of the Espressif vendor file and
# of its Phase-2 device-infos file; no network is used).
set -euo pipefail
cd "$(dirname "$0")/.."
./install-deps.sh
bazel build //cli:thingpress
bin=bazel-bin/cli/thingpress
if [ $# -gt 0 ]; then
  exec "$bin" "$@"
fi
echo "+ thingpress validate testdata/espressif/manifest-espressif.csv"
"$bin" validate testdata/espressif/manifest-espressif.csv
echo
echo "+ thingpress validate --thing-type BasicTestType testdata/mes/device-infos-espressif-phase2.json"
"$bin" validate --thing-type BasicTestType testdata/mes/device-infos-espressif-phase2.json
