#!/usr/bin/env bash
# Bazel entry point of tests/e2e/outage_e2e.py (issue 12: outages and
# expiring credentials in a running job), like provision_e2e_test.sh.
set -uo pipefail

PY=${PY:-/root/.pyenv/versions/3.11.7/bin/python3}
if [ ! -x "$PY" ]; then
    echo "outage_test: $PY not found (the pyenv Python with boto3, DESIGN.md §8)" >&2
    exit 1
fi
exec "$PY" tests/e2e/outage_e2e.py --bin cli/thingpress --testdata testdata \
    --bench bench "$@"
