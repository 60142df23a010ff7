#!/usr/bin/env bash
# clang-tidy (.clang-tidy at the root) on the C++ sources changed since a git revision, using
# the build folder's compile_commands.json. A LibTorch translation unit takes ~30 s, so this
# runs on what changed, not on the whole tree.
#
# Usage: scripts/lint-changed.sh [REV]   (default REV: HEAD~1; uncommitted changes included)
# Environment: PIC_BUILD_DIR (default build; configure it with scripts/build.sh first).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rev=${1:-HEAD~1}
build=${PIC_BUILD_DIR:-$root/build}
[[ -f $build/compile_commands.json ]] || {
  echo "lint-changed: no $build/compile_commands.json (run scripts/build.sh first)" >&2
  exit 1
}
tidy=$(command -v clang-tidy || command -v clang-tidy-14 || true)
[[ -n $tidy ]] || { echo "lint-changed: clang-tidy not installed (apt install clang-tidy)" >&2; exit 1; }
# GCC's precompiled headers are unreadable to clang: lint with a copy of the compile
# database whose commands do not force-include them.
tidy_db=$build/clang-tidy
mkdir -p "$tidy_db"
sed -E 's# -include [^ ]*cmake_pch\.hxx##g; s# -Winvalid-pch##g' "$build/compile_commands.json" \
  > "$tidy_db/compile_commands.json"
cd "$root"
mapfile -t files < <({ git diff --name-only "$rev"; git ls-files --others --exclude-standard; } |
  grep -E '\.cpp$' | sort -u | while read -r f; do [[ -f $f ]] && echo "$f"; done)
if ((${#files[@]} == 0)); then echo "lint-changed: no C++ source changed since $rev"; exit 0; fi
echo "lint-changed: ${#files[@]} files since $rev"
status=0
for f in "${files[@]}"; do
  # Only files the build knows (tests and benches included when configured with them).
  grep -q "\"file\": \"$root/$f\"" "$build/compile_commands.json" || continue
  "$tidy" -p "$tidy_db" --quiet "$f" 2>/dev/null | grep -E "warning:|error:" -A2 && status=1 || true
done
exit $status
