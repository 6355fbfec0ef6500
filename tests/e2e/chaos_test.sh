#!/usr/bin/env bash
# Bazel entry point of tests/e2e/chaos_e2e.py (issue 12: a 1,000-item two-phase
# job through expiring credentials, an outage, refused connections, throttling
# storms and kill -9), like provision_e2e_test.sh.
set -uo pipefail

PY=${PY:-/root/.pyenv/versions/3.11.7/bin/python3}
if [ ! -x "$PY" ]; then
    echo "chaos_test: $PY not found (the pyenv Python with boto3, DESIGN.md §8)" >&2
    exit 1
fi
exec "$PY" tests/e2e/chaos_e2e.py --bin cli/thingpress --testdata testdata \
    --bench bench "$@"
