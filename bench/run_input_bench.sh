#!/usr/bin/env bash
# Input pipeline, pic vs the original, side by side in one run (one thread each, one after
# the other): bare decode, decode + SimCLR at 224, decode + NULL at 224 on the opencv-doc
# photographs, and PIC's multi-crop recipe (160 + 3 x 96); pic both with a full decode and
# with its region decode. The two alternate for ROUNDS rounds and each figure keeps its best round, so
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
# pic's figure, the original's figure it is compared with (the same work on the same files).
for pair in decode_full:decode_full decode_full_libjpeg:decode_full decode_SimCLR_224:decode_SimCLR_224 \
            decode_NULL_224:decode_NULL_224 region_SimCLR_224:decode_SimCLR_224 \
            region_NULL_224:decode_NULL_224 decode_MultiCrop_160:decode_MultiCrop_160 \
            region_MultiCrop_160:decode_MultiCrop_160; do
  a=$(best "${pair%%:*}" "$ours")
  b=$(best "${pair##*:}" "$theirs")
  awk -v f="${pair%%:*}" -v a="$a" -v b="$b" 'BEGIN {printf "%-20s pic %7.1f  original %7.1f  ratio %.2fx\n", f, a, b, a / b}'
done
