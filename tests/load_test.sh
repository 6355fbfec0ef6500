#!/usr/bin/env bash
# The load test of issue 6, scaled down for CI (bench/load_bench.c; the full
# size is `bench/run.sh load`): the sim under 64 clients for 10,000 requests
# with every fault kind on (only injected errors and the designed API errors,
# the sim's log agrees per operation, its memory bounded, a clean exit), and
# the engine on a 10,000-item job with the same faults (exit 0, every item
# done in the journal and registered once, memory flat). Under --config=asan
# both run an ASan build of thingpress, so a leak fails the sim's exit status.
set -uo pipefail
exec bench/load_bench --bin cli/thingpress --clients 64 --requests 10000 --items 10000 \
    --workdir "${TEST_TMPDIR:-/tmp}/load"
