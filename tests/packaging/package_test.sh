#!/usr/bin/env bash
# The Debian packages (issue #14), three ctest steps sharing $pkg:
#   build     tools/package.sh --no-build from the build tree into $pkg
#   contents  dpkg-deb --info/--contents: files, modes, conffiles, depends,
#             maintainer scripts, units naming /usr/bin
#   install   (root only) dpkg -i on this machine, then installed units,
#             --check-config, token create, remove, purge; leaves nothing.
# Exit 77 = skipped, with the missing capability on stdout.
set -euo pipefail
step=$1 build=$2 src=$3 pkg=$4
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

case "$step" in
  build)
    rm -rf "$pkg"  # no stale packages for the steps after a skipped build
    command -v dpkg-deb >/dev/null || skip "dpkg-deb not installed (dpkg)"
    command -v dpkg-shlibdeps >/dev/null || skip "dpkg-shlibdeps not installed (dpkg-dev)"
    [ -f "$build/packaging/man/migclock-agent.1.gz" ] || skip "no man pages in the build (help2man missing at configure time)"
    PKG_DIR=$pkg BUILD_DIR=$build bash "$src/tools/package.sh" --no-build
    ;;
  contents | install)
    # package_build skipped (it said why): nothing to look at.
    ls "$pkg"/*.deb >/dev/null 2>&1 || skip "no packages in $pkg: package_build was skipped"
    ;;&
  contents) exec bash "$here/package_contents.sh" "$src" "$pkg" ;;
  install) exec bash "$here/package_install.sh" "$src" "$pkg" ;;
  *) fail "unknown step $step" ;;
esac
