#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test under CTest
# (unit tests, parity with the original's reference vectors, MPI runs with 2 and 3 ranks).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PIC_BUILD_DIR:-$root/build}

"$root/scripts/install-deps.sh"
PIC_BUILD_DIR=$build "$root/scripts/build.sh" -DPIC_BUILD_TESTS=ON

# OpenMPI refuses root without these, and a 2-core machine needs oversubscription for 3 ranks.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
ctest --test-dir "$build" --output-on-failure --no-tests=error -j "${PIC_TEST_JOBS:-2}" "$@"
