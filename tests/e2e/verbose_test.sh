#!/usr/bin/env bash
# Bazel entry point of tests/e2e/verbose_e2e.py (issue 14: --verbose traces
# every call, never a secret), with the pyenv Python that has boto3
# (DESIGN.md §8).
set -uo pipefail

PY=${PY:-/root/.pyenv/versions/3.11.7/bin/python3}
if [ ! -x "$PY" ]; then
    echo "verbose_test: $PY not found (the pyenv Python with boto3, DESIGN.md §8)" >&2
    exit 1
fi
exec "$PY" tests/e2e/verbose_e2e.py --bin cli/thingpress --testdata testdata \
    --bench bench "$@"
