#!/usr/bin/env bash
# man/thingpress.1 (issue 14): it lints clean (groff -ww -man, no warning),
# renders with `man -l`, carries VERSION's version, has a section for every
# command of `thingpress --help`, and its options are exactly those of the
# help texts: every option any `thingpress [CMD] --help` prints is in the man
# page, and every option the man page names is in some help text (--help
# aside), so neither can drift from the other. groff and man come from
# install-deps.sh (groff-base, man-db).
set -uo pipefail

bin=cli/thingpress
page=man/thingpress.1
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
tmp=${TEST_TMPDIR:-$(mktemp -d)}

for tool in groff man; do
  command -v "$tool" >/dev/null ||
    { echo "FAIL: $tool is missing (install-deps.sh installs groff-base and man-db)" >&2; exit 1; }
done

# 1. lint: no warning at all
lint=$(groff -ww -man -z "$page" 2>&1); rc=$?
[ "$rc" = 0 ] && [ -z "$lint" ] || fail "groff -ww -man: rc $rc: $lint"

# 2. man -l renders it
MANWIDTH=80 MANPAGER=cat PAGER=cat man -l "$page" >"$tmp/man.txt" 2>"$tmp/man.err"; rc=$?
[ "$rc" = 0 ] || fail "man -l: rc $rc: $(cat "$tmp/man.err")"
[ -s "$tmp/man.err" ] && fail "man -l wrote to stderr: $(cat "$tmp/man.err")"
grep -q '^THINGPRESS(1)' "$tmp/man.txt" || fail "man -l: no THINGPRESS(1) header"
for section in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS "EXIT STATUS" ENVIRONMENT FILES; do
  grep -q "^[A-Z ]*$section\$" "$tmp/man.txt" || fail "no $section section"
done

# 3. the version
want=$(head -n1 VERSION)
grep -q "^\.TH THINGPRESS 1 [^ ]* \"thingpress $want\"" "$page" ||
  fail ".TH does not say \"thingpress $want\" (VERSION)"

# 4. a section per command
cmds=$("$bin" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }')
[ -n "$cmds" ] || fail "no command in 'thingpress --help'"
for c in $cmds; do
  grep -q "^\.SS \"thingpress \(\[$c\]\|$c\)[ \"]" "$page" ||
    fail "command '$c' of 'thingpress --help' has no .SS section in $page"
done

# 5. options: the help texts' and the man page's, both ways
opts() { grep -oE -- '(^|[^[:alnum:]-])--[a-z][a-z0-9-]*' | sed 's/^[^-]*//' | sort -u; }
: >"$tmp/help.opts"
"$bin" --help | opts | sed 's/$/ (thingpress --help)/' >>"$tmp/help.opts"
for c in $cmds; do
  out=$("$bin" "$c" --help) || fail "'thingpress $c --help' failed"
  printf '%s\n' "$out" | opts | sed "s/\$/ (thingpress $c --help)/" >>"$tmp/help.opts"
done
groff -man -Tascii -P-cbou "$page" 2>/dev/null | opts >"$tmp/man.opts"
[ -s "$tmp/man.opts" ] || fail "no option found in the rendered man page"
while read -r opt where; do
  grep -qx -- "$opt" "$tmp/man.opts" || fail "$opt $where is not in $page"
done <"$tmp/help.opts"
cut -d' ' -f1 "$tmp/help.opts" | sort -u >"$tmp/help.names"
while read -r opt; do
  [ "$opt" = --help ] && continue
  grep -qx -- "$opt" "$tmp/help.names" || fail "$page names $opt, which no --help prints"
done <"$tmp/man.opts"
echo "$(wc -l <"$tmp/man.opts") options in the man page, $(wc -l <"$tmp/help.names") in the help texts"

[ "$fails" = 0 ] && echo "PASS" || echo "$fails failure(s)"
[ "$fails" = 0 ]
