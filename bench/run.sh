#!/usr/bin/env bash
# Build optimised, then run a benchmark: bench/run.sh validate|client|provision|load|audit [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
./install-deps.sh
bazel build //cli:thingpress
PY=/root/.pyenv/versions/3.11.7/bin/python3
[ -x "$PY" ] || PY=python3
what=${1:-validate}
shift || true
case "$what" in
  validate) exec "$PY" bench/validate_bench.py --bin bazel-bin/cli/thingpress "$@" ;;
  client) bazel build //bench:client_bench
    exec bazel-bin/bench/client_bench --bin bazel-bin/cli/thingpress "$@" ;;
  provision) exec "$PY" bench/provision_bench.py --bin bazel-bin/cli/thingpress "$@" ;;
  load) bazel build //bench:load_bench
    exec bazel-bin/bench/load_bench --bin bazel-bin/cli/thingpress "$@" ;;
  audit) exec "$PY" bench/audit_bench.py --bin bazel-bin/cli/thingpress "$@" ;;
  *) echo "bench/run.sh: unknown benchmark '$what' (validate, client, provision, load, audit)" >&2
    exit 2 ;;
esac
