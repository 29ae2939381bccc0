#!/usr/bin/env bash
# clang-tidy (.clang-tidy at the top) on the C++ files this branch changes:
# the .cpp files that differ from the merge base with main (committed or
# not), or on main itself the files of the last commit. Uses the build's
# compile_commands.json (tools/build.sh writes it), so build first.
#   LINT_BASE   the branch to compare with (default: main)
#   LINT_JOBS   parallel clang-tidy runs (default: nproc)
#   BUILD_DIR   the build directory (default: build/)
# Skips, saying why, where there is nothing to compare with (no git
# history, no merge base): lint is about changes, not the whole tree.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
base=${LINT_BASE:-main}
cd "$root"

if ! command -v clang-tidy >/dev/null; then
  echo "lint: clang-tidy is not installed (tools/deps/core.txt lists it; run tools/setup.sh)" >&2
  exit 1
fi
if [ ! -f "$build/compile_commands.json" ]; then
  echo "lint: no $build/compile_commands.json; build first (tools/build.sh)" >&2
  exit 1
fi
if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "lint: skipped: not a git checkout, so no changed files to lint"
  exit 0
fi
since=""
for ref in "$base" "origin/$base"; do
  if git rev-parse --verify -q "$ref^{commit}" >/dev/null; then
    since=$(git merge-base HEAD "$ref" 2>/dev/null || true)
    [ -n "$since" ] && break
  fi
done
if [ -z "$since" ]; then
  echo "lint: skipped: no merge base with $base (shallow or unrelated history)"
  exit 0
fi
if [ "$since" = "$(git rev-parse HEAD)" ]; then
  # On the base branch itself: what the last commit changed.
  if ! since=$(git rev-parse -q --verify HEAD~1); then
    echo "lint: skipped: a single commit, nothing to compare with"
    exit 0
  fi
fi

# Changed .cpp files that still exist and that the build compiles.
mapfile -t files < <(git diff --name-only --diff-filter=d "$since" -- '*.cpp' |
  while read -r f; do
    [ -f "$f" ] && grep -q "\"file\": \"$root/$f\"" "$build/compile_commands.json" && echo "$f"
  done)
if [ ${#files[@]} -eq 0 ]; then
  echo "lint: no changed C++ files since $(git rev-parse --short "$since")"
  exit 0
fi
echo "lint: clang-tidy on ${#files[@]} file(s) changed since $(git rev-parse --short "$since")"
# Findings go to stdout; stderr only carries clang-tidy's "N warnings
# generated" counts (mostly suppressed ones from system headers).
if ! printf '%s\n' "${files[@]}" | xargs -P "${LINT_JOBS:-$(nproc)}" -n 1 clang-tidy -p "$build" --quiet 2>/dev/null; then
  echo "lint: clang-tidy found problems (above)" >&2
  exit 1
fi
echo "lint: clean"
