#!/usr/bin/env bash
# scripts/install.sh (issue 14):
#   1. with THINGPRESS_BIN (no build: a bazel on PATH that would be called
#      fails the test) into a temporary PREFIX: bin/thingpress (0755, runs
#      --version), share/man/man1/thingpress.1 (0644, the source's, found by
#      `man -w` through MANPATH), share/bash-completion/completions/thingpress
#      (0644, registers the completion in bash); a relative PREFIX; DESTDIR;
#      a bad invocation (exit 2);
#   2. without it, in a copy of the tree with a stand-in bazel: it runs
#      install-deps.sh, builds //cli:thingpress with --config=release and
#      installs what bazel-bin holds;
#   3. contrib/thingpress-watch.service passes `systemd-analyze verify` (with
#      ExecStart pointing at the installed binary) when systemd is there.
set -uo pipefail

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
tmp=${TEST_TMPDIR:-$(mktemp -d)}
tmp=$(cd "$tmp" && pwd -P)
src=$PWD
bin=$src/cli/thingpress

# a bazel that must not be called
mkdir -p "$tmp/fakebin"
printf '#!/bin/sh\necho "bazel $*" >>"%s/bazel.called"\nexit 1\n' "$tmp" >"$tmp/fakebin/bazel"
chmod +x "$tmp/fakebin/bazel"

check_prefix() { # check_prefix WHAT DIR
  local what=$1 p=$2 m
  for f in bin/thingpress:755 share/man/man1/thingpress.1:644 \
           share/bash-completion/completions/thingpress:644; do
    m=$(stat -c %a "$p/${f%%:*}" 2>/dev/null) || { fail "$what: no ${f%%:*}"; continue; }
    [ "$m" = "${f#*:}" ] || fail "$what: ${f%%:*} has mode $m, want ${f#*:}"
  done
  "$p/bin/thingpress" --version >"$tmp/v.out" 2>&1 || fail "$what: --version: $(cat "$tmp/v.out")"
  [ "$(head -n1 "$tmp/v.out")" = "thingpress $(head -n1 "$src/VERSION")" ] ||
    fail "$what: --version says '$(head -n1 "$tmp/v.out")'"
  cmp -s "$p/share/man/man1/thingpress.1" "$src/man/thingpress.1" || fail "$what: man page differs"
  cmp -s "$p/share/bash-completion/completions/thingpress" "$src/completion/thingpress.bash" ||
    fail "$what: completion differs"
}

# 1. THINGPRESS_BIN, PREFIX
out=$(PATH=$tmp/fakebin:$PATH THINGPRESS_BIN=$bin "$src/scripts/install.sh" "$tmp/prefix" 2>&1) ||
  fail "install.sh PREFIX: $out"
echo "$out"
check_prefix "PREFIX" "$tmp/prefix"
[ -e "$tmp/bazel.called" ] && fail "install.sh called bazel although THINGPRESS_BIN was given"
if command -v man >/dev/null; then
  found=$(MANPATH=$tmp/prefix/share/man man -w thingpress 2>&1)
  [ "$found" = "$tmp/prefix/share/man/man1/thingpress.1" ] || fail "man -w thingpress: $found"
fi
reg=$(bash --norc -c "source '$tmp/prefix/share/bash-completion/completions/thingpress' && complete -p thingpress" 2>&1)
[ "$reg" = "complete -F _thingpress thingpress" ] || fail "the installed completion: $reg"

# a relative PREFIX, resolved from the current directory
(cd "$tmp" && PATH=$tmp/fakebin:$PATH THINGPRESS_BIN=$bin "$src/scripts/install.sh" rel >/dev/null 2>&1) ||
  fail "install.sh rel"
check_prefix "relative PREFIX" "$tmp/rel"

# DESTDIR
PATH=$tmp/fakebin:$PATH DESTDIR=$tmp/stage THINGPRESS_BIN=$bin \
  "$src/scripts/install.sh" /usr >/dev/null 2>&1 || fail "DESTDIR install"
check_prefix "DESTDIR" "$tmp/stage/usr"
[ -e /usr/share/man/man1/thingpress.1 ] && [ ! -e "$tmp/stage/usr/share/man/man1/thingpress.1" ] &&
  fail "DESTDIR ignored"

# a bad invocation
PATH=$tmp/fakebin:$PATH THINGPRESS_BIN=$bin "$src/scripts/install.sh" a b >/dev/null 2>&1
[ $? = 2 ] || fail "two arguments: not exit 2"
"$src/scripts/install.sh" --help | grep -q 'PREFIX defaults to /usr/local' || fail "--help"

# 2. the build path, in a copy of the tree with a stand-in bazel
repo=$tmp/repo
mkdir -p "$repo/scripts" "$repo/man" "$repo/completion"
cp "$src/scripts/install.sh" "$repo/scripts/"
cp "$src/man/thingpress.1" "$repo/man/"
cp "$src/completion/thingpress.bash" "$repo/completion/"
printf '#!/bin/sh\necho deps >>"%s/deps.called"\n' "$tmp" >"$repo/install-deps.sh"
chmod +x "$repo/install-deps.sh"
mkdir -p "$tmp/buildbin"
cat >"$tmp/buildbin/bazel" <<EOB
#!/bin/sh
echo "\$*" >>"$tmp/build.called"
case "\$1" in
  build) mkdir -p "$tmp/out/cli" && cp "$bin" "$tmp/out/cli/thingpress" ;;
  info) echo "$tmp/out" ;;
  *) exit 1 ;;
esac
EOB
chmod +x "$tmp/buildbin/bazel"
out=$(PATH=$tmp/buildbin:$PATH "$repo/scripts/install.sh" "$tmp/built" 2>&1) ||
  fail "install.sh with a build: $out"
[ -s "$tmp/deps.called" ] || fail "install-deps.sh was not run before the build"
grep -qx 'build --config=release //cli:thingpress' "$tmp/build.called" ||
  fail "no release build: $(cat "$tmp/build.called" 2>/dev/null)"
check_prefix "built" "$tmp/built"

# 3. the example systemd unit
unit=$src/contrib/thingpress-watch.service
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$tmp/unit"
  sed "s|/usr/local/bin/thingpress|$tmp/prefix/bin/thingpress|" "$unit" \
    >"$tmp/unit/thingpress-watch.service"
  # it exits 0 on an unknown key or a bad value (it only warns), and
  # outside a booted system it may complain about the system: what it says
  # about this unit must be nothing
  v=$(cd "$tmp/unit" && systemd-analyze verify --man=no thingpress-watch.service 2>&1)
  if grep -q 'thingpress-watch.service' <<<"$v"; then
    fail "systemd-analyze verify: $v"
  fi
else
  echo "systemd-analyze not installed: the unit is not verified"
fi
grep -q '^KillSignal=SIGTERM$' "$unit" || fail "the unit does not stop watch with SIGTERM"
grep -q '^Restart=on-failure$' "$unit" || fail "the unit has no Restart=on-failure"

[ "$fails" = 0 ] && echo "PASS" || echo "$fails failure(s)"
[ "$fails" = 0 ]
