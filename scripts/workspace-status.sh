#!/bin/sh
# Bazel's workspace status for stamped builds (bazel build --config=release,
# .bazelrc; scripts/install.sh): the commit of the source tree, read by
# //cli:build_info into `thingpress --version`. A STABLE_ key: a new commit
# rebuilds the stamped binary. Never fails (Bazel would stop the build): a
# tree without git, or with a history git cannot read (a tarball, a shallow
# or foreign-owned clone), gives "unknown"; uncommitted changes add "-dirty".
commit=$(git rev-parse --short=12 HEAD 2>/dev/null) || commit=
case $commit in
  *[!0-9a-f]* | "") commit=unknown ;;
  *) git diff --quiet HEAD -- 2>/dev/null || commit="$commit-dirty" ;;
esac
echo "STABLE_GIT_COMMIT $commit"
exit 0
