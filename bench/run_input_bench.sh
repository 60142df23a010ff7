#!/usr/bin/env bash
# Input pipeline, pic vs the original, side by side in one run (one thread each, one after
# the other): bare decode, decode + SimCLR at 224, decode + NULL at 224 on the opencv-doc
# photographs. The two alternate for ROUNDS rounds and each figure keeps its best round, so
# that load from other processes on a shared machine biases neither side. Prints every round
# and the ratios pic / original.
# Usage: bench/run_input_bench.sh [BUILD_DIR] [SECONDS_PER_FIGURE] [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${PIC_BUILD_DIR:-$root/build}}
seconds=${2:-5}
rounds=${3:-2}
bench=$build/bench/pic-bench-input
if [[ ! -x $bench ]]; then
  echo "missing $bench: build it with cmake --build $build --target pic-bench-input" >&2
  exit 1
fi

echo "# $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
ours="" theirs=""
for ((r = 1; r <= rounds; ++r)); do
  echo "# round $r"
  out=$(OMP_NUM_THREADS=1 "$bench" --seconds "$seconds")
  echo "$out"
  ours+=$out$'\n'
  out=$(OMP_NUM_THREADS=1 /usr/bin/python3 "$root/bench/pil_pipeline.py" --seconds "$seconds")
  echo "$out"
  theirs+=$out$'\n'
done
best() { awk -v k="$1_images_per_s" '$1 == k && $2 > m {m = $2} END {print m}' <<<"$2"; }
echo "# best of $rounds rounds, ratio pic / original (images/s per core)"
for figure in decode_full decode_SimCLR_224 decode_NULL_224; do
  a=$(best "$figure" "$ours")
  b=$(best "$figure" "$theirs")
  awk -v f="$figure" -v a="$a" -v b="$b" 'BEGIN {printf "%-20s pic %7.1f  original %7.1f  ratio %.2fx\n", f, a, b, a / b}'
done
