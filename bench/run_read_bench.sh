#!/usr/bin/env bash
# Shard reading against a plain sequential read of the same file, in one run: each round
# drops the file from the page cache (GNU dd iflag=nocache), reads it with dd (16 MiB blocks),
# drops it again and reads it as pic-pretrain does (pic-bench-read, 1 rank, then 2 ranks
# each reading its half). Prints every figure and the best of the rounds.
#
# Usage: bench/run_read_bench.sh [FILE.h5] [ROUNDS]
#   FILE.h5 defaults to runs/read-bench/photos.h5, made once with pic-prep from 60 copies of
#   the 81 opencv-doc photographs (~340 MB).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${PIC_BUILD_DIR:-$root/build}
file=${1:-$root/runs/read-bench/photos.h5}
rounds=${2:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

if [[ ! -f $file ]]; then
  photos=$(dirname "$file")/photos
  mkdir -p "$photos/all"
  for copy in $(seq 1 60); do
    for src in $(find /usr/share/doc/opencv-doc/examples -name '*.jpg' | sort); do
      ln -f "$src" "$photos/all/${copy}_$(basename "$src")" 2>/dev/null ||
        cp "$src" "$photos/all/${copy}_$(basename "$src")"
    done
  done
  "$bin/data_prep/pic-prep" --input-format folder --input "$photos" --output "$file" --threads 2
fi
sync
drop() { dd if="$file" iflag=nocache count=0 status=none; }
echo "# $(stat -c %s "$file") bytes in $file"
for ((r = 1; r <= rounds; ++r)); do
  drop
  dd if="$file" of=/dev/null bs=16M 2>&1 | awk -v r="$r" '/copied/ {
    for (i = 1; i <= NF; ++i) if ($i == "s,") s = $(i - 1)
    printf "round %d dd_sequential bytes %s seconds %s MB_per_s %.1f\n", r, $1, s, $1 / s / 1e6 }'
  for ranks in 1 2; do
    drop
    mpirun -n "$ranks" --bind-to none "$bin/bench/pic-bench-read" "$file" | sed "s/^/round $r /"
  done
done | tee /dev/stderr | awk '
  $3 == "dd_sequential" && $9 > dd { dd = $9 }
  $3 == "shard_read" && $5 == 1 && $11 > one { one = $11 }
  $3 == "shard_read" && $5 == 2 && $11 > two { two = $11 }
  END { printf "# best of rounds, MB/s: dd %.1f, pic 1 rank %.1f (%.2fx), 2 ranks %.1f (%.2fx)\n",
        dd, one, one / dd, two, two / dd }'
