#!/usr/bin/env bash
# Configures and builds pic in ./build (or $PIC_BUILD_DIR) with Ninja and ccache.
# Extra arguments go to CMake's configure step, e.g. -DPIC_CORE_ONLY=ON.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PIC_BUILD_DIR:-$root/build}

# A fresh clone in another folder (CI) reuses the cache: paths are made relative to the root,
# and the precompiled header's timestamps are not part of the key.
export CCACHE_BASEDIR=$root
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}

if [[ ! -f $build/build.ninja ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
elif (($#)); then
  cmake "$build" "$@"
fi
cmake --build "$build" -j "${PIC_BUILD_JOBS:-$(nproc)}"
