#!/usr/bin/env bash
# Installs thingpress: the binary, its man page and its bash completion.
#
#   scripts/install.sh [PREFIX]      PREFIX defaults to /usr/local
#
# Builds the release binary first (bazel build --config=release: stamped with
# the commit and build date that `thingpress --version` shows; Bazel only
# rebuilds what changed), after install-deps.sh. Then installs
#   PREFIX/bin/thingpress
#   PREFIX/share/man/man1/thingpress.1
#   PREFIX/share/bash-completion/completions/thingpress
# Environment:
#   DESTDIR          staged install (packaging): files go to DESTDIR/PREFIX/...
#   THINGPRESS_BIN   install this binary instead of building one
# Run as root (sudo) only when PREFIX needs it: under sudo the build runs as
# the user who called sudo, so the build tree does not become root's.
set -euo pipefail

case "${1:-}" in
  -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
esac
[ $# -le 1 ] || { echo "usage: scripts/install.sh [PREFIX]" >&2; exit 2; }
prefix=${1:-/usr/local}
case $prefix in
  /*) ;;
  *) prefix=$PWD/$prefix ;;
esac
dest=${DESTDIR:-}

cd "$(dirname "$0")/.."
root=$PWD

bin=${THINGPRESS_BIN:-}
if [ -z "$bin" ]; then
  as_user=()
  if [ "$(id -u)" = 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
    as_user=(sudo -u "$SUDO_USER" -H)
  fi
  ./install-deps.sh
  "${as_user[@]}" bazel build --config=release //cli:thingpress
  bin=$("${as_user[@]}" bazel info --config=release bazel-bin)/cli/thingpress
fi
[ -x "$bin" ] || { echo "install.sh: $bin is not an executable" >&2; exit 1; }

install -d "$dest$prefix/bin" "$dest$prefix/share/man/man1" \
  "$dest$prefix/share/bash-completion/completions"
install -m 0755 "$bin" "$dest$prefix/bin/thingpress"
install -m 0644 "$root/man/thingpress.1" "$dest$prefix/share/man/man1/thingpress.1"
install -m 0644 "$root/completion/thingpress.bash" \
  "$dest$prefix/share/bash-completion/completions/thingpress"

echo "installed into $dest$prefix:"
echo "  bin/thingpress"
echo "  share/man/man1/thingpress.1"
echo "  share/bash-completion/completions/thingpress"
"$dest$prefix/bin/thingpress" --version | head -n 2 | sed 's/^/  /'
