#!/usr/bin/env bash
# Bazel entry point of tests/e2e/provision_e2e.py (the end-to-end tests of
# `thingpress provision`): runs it from the runfiles tree with the Python that
# has boto3 and moto (DESIGN.md §8). The driver writes $XML_OUTPUT_FILE itself,
# one <testcase> per test, so scripts/bazel-test.sh counts each case.
set -uo pipefail

PY=${PY:-/root/.pyenv/versions/3.11.7/bin/python3}
if [ ! -x "$PY" ]; then
    echo "provision_e2e_test: $PY not found (the pyenv Python with boto3, DESIGN.md §8)" >&2
    exit 1
fi
exec "$PY" tests/e2e/provision_e2e.py --bin cli/thingpress --testdata testdata \
    --bench bench "$@"
