#!/usr/bin/env bash
# Builds the Debian packages migclock-agent, migclock-controller and
# migclock-guest (the guest companion, installed inside guests) into
# build/pkg/ (or $PKG_DIR): the shipped targets and man pages in the
# existing build tree ($BUILD_DIR, default build/), then CPack DEB
# (packaging/; docs/operations.md says why CPack).
#   --no-build   package what the build tree holds (the package test)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
out=${PKG_DIR:-$build/pkg}
if [ "${1:-}" != --no-build ]; then
  bash "$root/tools/setup.sh"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} >/dev/null
  cmake --build "$build" -j"$(nproc)" --target migclock-agent migclock-hook migclock migclock-controller migclockctl \
    migclock-guest-companion migclock-man
fi
rm -rf "$out"
mkdir -p "$out"
# -B: the output directory; CPack stages in $out/_CPack_Packages.
(cd "$build" && cpack -G DEB -B "$out" --config CPackConfig.cmake) >"$out/cpack.log" 2>&1 || { cat "$out/cpack.log"; exit 1; }
rm -rf "$out/_CPack_Packages"
ls -1 "$out"/*.deb
