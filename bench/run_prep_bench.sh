#!/usr/bin/env bash
# pic-prep's conversion rate on 1 and 2 ranks, in one run: a folder source of COPIES symlinked
# copies of each of the 81 opencv-doc photographs (ROOT/<class>/<copy>_<name>.jpg, classes
# data, text and other by the photograph's folder), converted by `mpirun -n 1` and
# `mpirun -n 2` pic-prep with THREADS threads per rank, ROUNDS times in turn. A first,
# untimed conversion puts every photograph in the page cache, so the rounds time the
# decode/check and the parallel HDF5 writes, not the disk. Each round checks with h5diff that
# both files hold the same datasets and attributes. Prints every figure (pic-prep's own
# conversion time and rate, and the CPU seconds of the whole job from /usr/bin/time: on a
# shared machine the rate depends on what else runs, the CPU time much less), then the best
# images/s of the rounds for each rank count, their ratio, and the least CPU time of each.
#
# Usage: bench/run_prep_bench.sh [COPIES] [ROUNDS] [THREADS]   (defaults 20, 3, 1)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${PIC_BUILD_DIR:-$root/build}
copies=${1:-20}
rounds=${2:-3}
threads=${3:-1}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

work=$(mktemp -d "${TMPDIR:-/tmp}/pic-prep-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
photos=$work/photos
for src in $(find /usr/share/doc/opencv-doc/examples -name '*.jpg' | sort); do
  case $(basename "$(dirname "$src")") in
    data | text) class=$(basename "$(dirname "$src")") ;;
    *) class=other ;;
  esac
  mkdir -p "$photos/$class"
  for copy in $(seq 1 "$copies"); do ln -s "$src" "$photos/$class/${copy}_$(basename "$src")"; done
done

# prep RANKS: one conversion; prints pic-prep's summary line, then "cpu_s <user + system>".
prep() {
  /usr/bin/time -f 'cpu_s %U %S' -o "$work/cpu" mpirun -n "$1" --bind-to none \
    "$bin/data_prep/pic-prep" --input-format folder --input "$photos" \
    --output "$work/out_$1.h5" --overwrite --threads "$threads" | grep '^pic-prep: wrote'
  awk '$1 == "cpu_s" { print "cpu_s", $2 + $3 }' "$work/cpu"
}

prep 1 > /dev/null
echo "# $(find "$photos" -name '*.jpg' | wc -l) images, $threads thread(s) per rank, $(nproc) cores"
for ((r = 1; r <= rounds; ++r)); do
  for ranks in 1 2; do
    prep "$ranks" | awk -v r="$r" -v n="$ranks" '
      $1 == "cpu_s" { c = $2; next }
      { for (i = 2; i <= NF; ++i) {
          if ($i == "s,") s = $(i - 1)
          if ($i == "images/s") v = $(i - 1) } }
      END { printf "round %d ranks %d seconds %s images_per_s %s cpu_s %s\n", r, n, s, v, c }'
  done
  h5diff "$work/out_1.h5" "$work/out_2.h5" > /dev/null ||
    { echo "round $r: the 1-rank and 2-rank files differ (h5diff)" >&2; exit 1; }
done | tee /dev/stderr | awk '
  $4 == 1 && $8 > one { one = $8 }
  $4 == 2 && $8 > two { two = $8 }
  $4 == 1 && (cpu1 == "" || $10 < cpu1) { cpu1 = $10 }
  $4 == 2 && (cpu2 == "" || $10 < cpu2) { cpu2 = $10 }
  END {
    printf "# best of rounds, images/s: 1 rank %.0f, 2 ranks %.0f (%.2fx)\n", one, two, two / one
    printf "# least CPU seconds of a job: 1 rank %.1f, 2 ranks %.1f (%.2fx)\n", cpu1, cpu2,
           cpu2 / cpu1 }'
