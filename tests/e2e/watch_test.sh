#!/usr/bin/env bash
# Bazel entry point of tests/e2e/watch_e2e.py (the end-to-end tests of
# `thingpress watch`): runs it from the runfiles tree with the Python that has
# boto3 (DESIGN.md §8). The driver writes $XML_OUTPUT_FILE itself, one
# <testcase> per test.
set -uo pipefail

PY=${PY:-/root/.pyenv/versions/3.11.7/bin/python3}
if [ ! -x "$PY" ]; then
    echo "watch_test: $PY not found (the pyenv Python with boto3, DESIGN.md §8)" >&2
    exit 1
fi
exec "$PY" tests/e2e/watch_e2e.py --bin cli/thingpress --testdata testdata \
    --bench bench "$@"
