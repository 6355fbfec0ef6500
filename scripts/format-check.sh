#!/usr/bin/env bash
# Fails when a C/C++ source differs from .clang-format. Run as a Bazel test
# (//:format_test, sources passed as data) or by hand from the repo root;
# `scripts/format-check.sh --fix` rewrites the files instead.
set -euo pipefail
fix=0
[ "${1:-}" = "--fix" ] && { fix=1; shift; }
if [ $# -eq 0 ]; then
  cd "$(dirname "$0")/.."
  mapfile -t files < <(git ls-files '*.c' '*.h' '*.cc')
else
  files=("$@")
fi
cf=$(command -v clang-format || command -v clang-format-14)
if [ "$fix" = 1 ]; then
  "$cf" -i --style=file "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! "$cf" --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "format: $f differs from .clang-format (run scripts/format-check.sh --fix)"
    bad=1
  fi
done
[ "$bad" = 0 ] && echo "format: ${#files[@]} files ok"
exit "$bad"
