#!/usr/bin/env bash
# completion/thingpress.bash (issue 14), in bash, driving its function the
# way bash does (COMP_WORDS, COMP_CWORD; `complete -p` for the registration):
#   - the commands of `thingpress --help`, and each command's options: exactly
#     those its --help defines (lines that start with an option), --help too;
#   - option values: fixed sets (--vendor, --output, --cert-active, ...),
#     "--opt=value" split by COMP_WORDBREAKS or not, AWS profiles;
#   - input files by kind (vendor files and device-infos; narrowed by
#     --vendor; names with spaces; extensions in any case), directories for
#     watch and --state, *.toml for --config;
#   - status: the job ids of a journal (two jobs provisioned here on the
#     embedded local endpoint), from --state DIR, --state=DIR or
#     XDG_STATE_HOME; nothing, and nothing on stderr, without a journal.
set -uo pipefail

bin=$PWD/cli/thingpress
src=$PWD/completion/thingpress.bash
td=$PWD/testdata
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
tmp=${TEST_TMPDIR:-$(mktemp -d)}
tmp=$(cd "$tmp" && pwd -P)

# shellcheck source=/dev/null
source "$src" || { echo "FAIL: cannot source $src" >&2; exit 1; }
complete -p thingpress 2>/dev/null | grep -q -- '-F _thingpress thingpress$' ||
  fail "complete -p thingpress: $(complete -p thingpress 2>&1)"

# comp WORD... : what completing the last word offers, sorted, one per line
comp() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _thingpress "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]:-}"
  [ "${#COMPREPLY[@]}" -gt 0 ] && printf '%s\n' "${COMPREPLY[@]}" | sort
}
# expect WHAT "WANTED WORDS" WORD... (an empty want: nothing offered)
expect() {
  local what=$1 want got
  want=$(printf '%s\n' $2 | sed '/^$/d' | sort)
  shift 2
  got=$(comp "$@" 2>"$tmp/comp.err")
  [ "$got" = "$want" ] || fail "$what: offered [$(echo $got)], want [$(echo $want)]"
  [ -s "$tmp/comp.err" ] && fail "$what: wrote to stderr: $(cat "$tmp/comp.err")"
  return 0
}

# 1. commands, and each command's options as its --help defines them
cmds=$("$bin" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { if (!seen[$1]++) print $1 } on && /^$/ { on = 0 }')
expect "commands" "$cmds --help --version" thingpress ""
defined() { grep -E '^[[:space:]]+--' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }
for c in $cmds; do
  expect "options of $c" "$("$bin" "$c" --help | defined) --help" thingpress "$c" --
done
expect "prefix" "--thing-deferred --thing-groups --thing-type" thingpress provision --thing-

# 2. values
expect "--vendor" "auto espressif infineon microchip generated pem der device-infos" \
  thingpress validate --vendor ""
expect "--vendor=, split" "device-infos der" thingpress provision --vendor = de
expect "--vendor=, not split" "device-infos der" thingpress provision --vendor=de
expect "--output" "text json tsv" thingpress validate --output ""
expect "status --output" "json" thingpress status --output j
expect "--cert-active" "true" thingpress provision --cert-active t
expect "--thing-deferred" "true false" thingpress console --thing-deferred ""
expect "--infineon-bundle" "E0E1" thingpress validate --infineon-bundle E0E1
expect "--policies: free text" "" thingpress provision --policies ""
mkdir -p "$tmp/aws"
printf '[default]\nregion = eu-west-1\n[profile line3]\nregion = us-east-1\n' >"$tmp/aws/config"
printf '[ci]\naws_access_key_id = AKIDX\n' >"$tmp/aws/credentials"
AWS_CONFIG_FILE=$tmp/aws/config AWS_SHARED_CREDENTIALS_FILE=$tmp/aws/credentials \
  expect "--profile" "ci default line3" thingpress provision --profile ""

# 3. files by kind
mkdir -p "$tmp/in/sub" "$tmp/in/sub2.csv"
for f in a.csv B.CSV c.json d.7z e.txt f.pem g.der h.crt i.cer "with space.csv" \
         notes.md job.toml image.png; do
  : >"$tmp/in/$f"
done
cd "$tmp/in" || exit 1
all="a.csv B.CSV c.json d.7z e.txt f.pem g.der h.crt i.cer sub sub2.csv"
got=$(comp thingpress provision "")
want=$( (printf '%s\n' $all; echo "with space.csv") | sort)
[ "$got" = "$want" ] || fail "provision FILE: offered [$(echo $got)], want [$(echo $want)]"
expect "validate FILE, prefix" "a.csv" thingpress validate a
expect "console FILE" "c.json sub sub2.csv" thingpress console --vendor device-infos ""
expect "--vendor device-infos" "c.json sub sub2.csv" thingpress provision --vendor device-infos ""
expect "--vendor=infineon" "d.7z sub sub2.csv" thingpress provision --vendor=infineon ""
expect "--vendor pem" "f.pem h.crt sub sub2.csv" thingpress validate --vendor pem ""
got=$(comp thingpress validate --vendor espressif "")
want=$(printf '%s\n' a.csv B.CSV sub sub2.csv "with space.csv" | sort)
[ "$got" = "$want" ] || fail "--vendor espressif: offered [$(echo $got)], want [$(echo $want)]"
expect "watch DIR" "sub sub2.csv" thingpress watch ""
expect "--state DIR" "sub sub2.csv" thingpress provision --state ""
expect "--config" "job.toml sub sub2.csv" thingpress provision --config ""
expect "sim: no positional" "" thingpress sim ""
cd - >/dev/null || exit 1

# 4. status: job ids from the journal
export HOME=$tmp/home XDG_STATE_HOME=$tmp/xdg
mkdir -p "$HOME"
for v in $(env | sed -n 's/^\(AWS_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
st=$tmp/state
"$bin" provision --state "$st" "$td/espressif/manifest-espressif.csv" >"$tmp/p1.out" 2>&1 ||
  fail "provision Phase 1: $(cat "$tmp/p1.out")"
# the same file with other options: another job
"$bin" provision --state "$st" --cert-active true "$td/espressif/manifest-espressif.csv" \
  >"$tmp/p2.out" 2>&1 || fail "provision again: $(cat "$tmp/p2.out")"
expect "status --state DIR" "1 2" "$bin" status --state "$st" ""
expect "status --state=DIR, split" "1 2" "$bin" status --state = "$st" ""
expect "status --state=DIR" "1 2" "$bin" status "--state=$st" ""
expect "status, prefix" "2" "$bin" status --state "$st" 2
expect "status: no journal" "" "$bin" status --state "$tmp/none" ""
expect "status: XDG_STATE_HOME, no journal" "" "$bin" status ""
mkdir -p "$XDG_STATE_HOME" && ln -s "$st" "$XDG_STATE_HOME/thingpress"
expect "status: XDG_STATE_HOME" "1 2" "$bin" status ""
expect "status options" "--failed --follow" "$bin" status 1 --f

[ "$fails" = 0 ] && echo "PASS" || echo "$fails failure(s)"
[ "$fails" = 0 ]
