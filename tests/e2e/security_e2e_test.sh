#!/usr/bin/env bash
# Bazel entry point of tests/e2e/security_e2e.py (issue 6, "Security": no
# secret in any output, self-signed https refused without its CA, the sim's
# SigV4 rejections), with the pyenv Python that has boto3 (DESIGN.md §8).
set -uo pipefail

PY=${PY:-/root/.pyenv/versions/3.11.7/bin/python3}
if [ ! -x "$PY" ]; then
    echo "security_e2e_test: $PY not found (the pyenv Python with boto3, DESIGN.md §8)" >&2
    exit 1
fi
exec "$PY" tests/e2e/security_e2e.py --bin cli/thingpress --testdata testdata \
    --bench bench "$@"
