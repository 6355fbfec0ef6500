#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.c) with Debian's clang, straight
# from the project's sources and the system libraries (no Bazel): every
# product file is compiled once with -fsanitize=fuzzer-no-link,address,undefined
# into a static library, and each target links what it uses from it.
#
# Usage: fuzz/build.sh [--out DIR] [TARGET...]     (default: every target)
#   DIR defaults to $FUZZ_OUT or /tmp/thingpress-fuzz; binaries go to DIR/bin.
# Objects are rebuilt when a source or header is newer than the library.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${FUZZ_OUT:-/tmp/thingpress-fuzz}
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) echo "build.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("${1%_fuzz}"); shift ;;
  esac
done
if [ "${#targets[@]}" -eq 0 ]; then
  for f in fuzz/*_fuzz.c; do t=${f#fuzz/}; targets+=("${t%_fuzz.c}"); done
fi

CC=${CC:-clang}
command -v "$CC" >/dev/null || { echo "build.sh: $CC not found (install-deps.sh installs clang)" >&2; exit 2; }
pkgs="jansson libcurl openssl sqlite3 libarchive libmicrohttpd"
pc_cflags=$(pkg-config --cflags $pkgs)
pc_libs=$(pkg-config --libs $pkgs)
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-g -O1 -std=c11 -D_GNU_SOURCE -fno-omit-frame-pointer -Wall -Wextra \
  $san -I. -I$out/gen $pc_cflags"

# The product code the targets reach: everything but main() and the console.
srcs=(base/*.c parsers/*.c iot/*.c engine/jobcfg.c sim/*.c)
mkdir -p "$out/obj" "$out/gen" "$out/bin"
lib=$out/libthingpress_fuzz.a

stale=0
[ -f "$lib" ] || stale=1
if [ "$stale" = 0 ] && [ -n "$(find base parsers iot engine sim fuzz/build.sh \
     -newer "$lib" \( -name '*.c' -o -name '*.h' -o -name '*.crt' -o -name build.sh \) \
     -print -quit)" ]; then
  stale=1
fi
if [ "$stale" = 1 ]; then
  echo "build.sh: compiling the product sources into $lib" >&2
  rm -f "$out"/obj/*.o "$lib"
  # parsers/BUILD's genrule: the built-in Microchip signers as a C table.
  python3 parsers/mchp_signers_gen.py "$out/gen/mchp_signers_data.c" parsers/mchp_signers/*.crt
  printf '%s\n' "${srcs[@]}" "$out/gen/mchp_signers_data.c" |
    xargs -P "${FUZZ_JOBS:-2}" -I{} sh -c \
      'o="$1/obj/$(echo "$2" | tr / _ | sed "s/\.c\$/.o/")"; case "$2" in */gen/*) w=-Wno-comment ;; *) w= ;; esac; exec $3 $4 $w -fsanitize=fuzzer-no-link -c "$2" -o "$o"' \
      _ "$out" {} "$CC" "$cflags"
  ar rcs "$lib" "$out"/obj/*.o
fi

for t in "${targets[@]}"; do
  src=fuzz/${t}_fuzz.c
  [ -f "$src" ] || { echo "build.sh: no target $t ($src)" >&2; exit 2; }
  bin=$out/bin/${t}_fuzz
  if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ "$lib" -nt "$bin" ] ||
     [ fuzz/fuzz_common.h -nt "$bin" ]; then
    echo "build.sh: linking $bin" >&2
    # shellcheck disable=SC2086
    $CC $cflags -fsanitize=fuzzer "$src" "$lib" $pc_libs -pthread -lm -o "$bin"
  fi
done
