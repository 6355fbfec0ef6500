#!/usr/bin/env bash
# `thingpress --version` (issue 14): the version of VERSION, the commit and
# build date ("unknown" in this unstamped build), and each library's version
# as the running process has it, which must be the installed library's
# (pkg-config). Then the stamping itself, without a nested Bazel:
# cli/build_info.sh on made-up status files (a commit, a timestamp, values
# that would break the C string), and scripts/workspace-status.sh in a git
# repository (clean, then dirty) and outside one ("unknown", exit 0).
set -uo pipefail

bin=cli/thingpress
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

out=$("$bin" --version 2>/tmp/version.err.$$); rc=$?
err=$(cat /tmp/version.err.$$); rm -f /tmp/version.err.$$
[ "$rc" = 0 ] || fail "--version exited $rc"
[ -z "$err" ] || fail "--version wrote to stderr: $err"
echo "$out"

field() { printf '%s\n' "$out" | awk -v k="$1" '$1 == k { print $2; exit }'; }
want="thingpress $(head -n1 VERSION)"
[ "$(printf '%s\n' "$out" | head -n1)" = "$want" ] ||
  fail "first line is not '$want'"
[[ $(field commit) =~ ^(unknown|[0-9a-f]{12}(-dirty)?)$ ]] || fail "commit: '$(field commit)'"
[[ $(field built) =~ ^(unknown|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z)$ ]] ||
  fail "built: '$(field built)'"
# unstamped (the tests' build): no commit, no date
[ "$(field commit)" = unknown ] || fail "an unstamped build names a commit"

# label in the output, pkg-config's package
for pair in libcurl:libcurl OpenSSL:openssl Jansson:jansson SQLite:sqlite3 \
            libarchive:libarchive ncurses:ncursesw libmicrohttpd:libmicrohttpd; do
  label=${pair%%:*} pkg=${pair#*:}
  got=$(field "$label")
  [[ $got =~ ^[0-9]+(\.[0-9]+)+ ]] || { fail "$label: '$got' is not a version"; continue; }
  if installed=$(pkg-config --modversion "$pkg" 2>/dev/null); then
    [ "$got" = "$installed" ] || fail "$label: $got, but $installed is installed"
  fi
done
"$bin" --help | grep -q -- "--version" || fail "--help does not mention --version"

# cli/build_info.sh: stamped values, cleaned
tmp=${TEST_TMPDIR:-$(mktemp -d)}
printf 'STABLE_GIT_COMMIT 0123456789ab-dirty\nBUILD_HOST h\n' > "$tmp/stable"
printf 'BUILD_TIMESTAMP 1700000000\n' > "$tmp/volatile"
h=$(sh cli/build_info.sh VERSION "$tmp/stable" "$tmp/volatile")
grep -qx '#define TP_COMMIT "0123456789ab-dirty"' <<<"$h" || fail "stamped commit: $h"
grep -qx '#define TP_BUILD_DATE "2023-11-14T22:13:20Z"' <<<"$h" || fail "stamped date: $h"
h=$(sh cli/build_info.sh VERSION)
grep -qx '#define TP_COMMIT "unknown"' <<<"$h" || fail "unstamped commit: $h"
grep -qx '#define TP_BUILD_DATE "unknown"' <<<"$h" || fail "unstamped date: $h"
printf 'STABLE_GIT_COMMIT ab"c\\n);evil(\n' > "$tmp/stable"
printf 'BUILD_TIMESTAMP nope\n' > "$tmp/volatile"
h=$(sh cli/build_info.sh VERSION "$tmp/stable" "$tmp/volatile")
grep -qx '#define TP_COMMIT "abcnevil"' <<<"$h" || fail "unclean commit kept: $h"
grep -qx '#define TP_BUILD_DATE "unknown"' <<<"$h" || fail "bad timestamp: $h"

# scripts/workspace-status.sh
status=$PWD/scripts/workspace-status.sh
mkdir -p "$tmp/nogit" "$tmp/repo"
s=$(cd "$tmp/nogit" && GIT_CEILING_DIRECTORIES=$tmp "$status"); rc=$?
[ "$rc" = 0 ] && [ "$s" = "STABLE_GIT_COMMIT unknown" ] || fail "outside git: rc $rc '$s'"
if command -v git >/dev/null; then
  (cd "$tmp/repo" && git init -q && echo a > f && git add f &&
     git -c user.name=t -c user.email=t@t commit -qm one) || fail "git setup"
  s=$(cd "$tmp/repo" && "$status")
  [[ $s =~ ^STABLE_GIT_COMMIT\ [0-9a-f]{12}$ ]] || fail "clean repo: '$s'"
  echo b > "$tmp/repo/f"
  s=$(cd "$tmp/repo" && "$status")
  [[ $s =~ ^STABLE_GIT_COMMIT\ [0-9a-f]{12}-dirty$ ]] || fail "dirty repo: '$s'"
fi

[ "$fails" = 0 ] && echo "PASS" || echo "$fails failure(s)"
[ "$fails" = 0 ]
