#!/usr/bin/env bash
# Gradient all-reduce: weak scaling (same per-rank batch on 1 and 2 ranks) and the share of
# a step spent in gradient communication that backward did not hide, with the buckets
# started after backward (--grad-sync after-backward, the "before") and during it
# (--grad-sync overlap, the default), all in one run.
#
# Usage: bench/run_grad_sync_bench.sh [BUILD_DIR] [STEPS]
# Needs Fashion-MNIST converted by the main job (runs/main/data/full/train.h5; make it with
# scripts/run-main-job.sh) or PIC_BENCH_DATA=DIR holding train.h5. Figures come from the last
# logged interval of STEPS steps (default 30): seconds per step, and rank 0's sync_seconds
# (the time between the end of backward and the averaged gradients).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
steps=${2:-30}
data=${PIC_BENCH_DATA:-$root/runs/main/data/full}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The last metrics line's value of KEY.
field() { tail -n 1 "$1" | sed -n "s/.*\"$2\": *\([0-9.eE+-]*\).*/\1/p"; }

run() {  # run NAME RANKS FLAGS... -> "seconds_per_step sync_seconds"
  local name=$1 ranks=$2; shift 2
  mpirun -n "$ranks" --bind-to none "$build/src/apps/pic-pretrain" --data-dir "$data" \
    --output-dir "$work/$name" --max-steps "$steps" --print-freq $((steps / 3)) \
    --save-every-steps 1000000 --num-workers 1 --threads 1 \
    --model PIC --contrast-temperature 0.2 --mlp-head --epochs 100 "$@" \
    >"$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; exit 1; }
  echo "$(field "$work/$name/metrics.jsonl" seconds_per_step) $(field "$work/$name/metrics.jsonl" sync_seconds)"
}

printf '%-50s %-15s %9s %9s %8s %9s\n' model "grad sync" "1 rank s" "2 ranks s" "1/2 eff" "exposed"
bench() {  # bench LABEL FLAGS...
  local label=$1; shift
  local mode one two
  for mode in after-backward overlap; do
    read -r t1 s1 <<<"$(run "$mode-1-$RANDOM" 1 --grad-sync "$mode" "$@")"
    read -r t2 s2 <<<"$(run "$mode-2-$RANDOM" 2 --grad-sync "$mode" "$@")"
    # Weak-scaling efficiency t1 / t2; exposed: sync seconds / step seconds on 2 ranks.
    awk -v l="$label" -v m="$mode" -v t1="$t1" -v t2="$t2" -v s2="$s2" \
      'BEGIN { printf "%-50s %-15s %9.3f %9.3f %7.0f%% %8.1f%%\n", l, m, t1, t2, 100 * t1 / t2, 100 * s2 / t2 }'
  done
}
bench "r18 + MLP head (47.6 MB, 2 buckets), MultiCrop" --arch resnet18 --aug MultiCrop \
  --crop 0.08 --crop2 0.14 --image-size 64 --image-size2 32 --num-crop 1 --num-crop2 3 \
  --batch-size 32
# Much gradient for little compute: what a fast GPU makes of a step (communication-bound).
bench "r50 + MLP head (106.7 MB, 5 buckets), 32px, b 4" --arch resnet50 --small-stem \
  --aug SimCLR --crop 0.2 --image-size 32 --batch-size 4
bench "main job: r18 w0.125 (2.2 MB, 1 bucket), 28px" --arch resnet18 --width 0.125 --small-stem \
  --aug SimCLR --crop 0.2 --image-size 28 --batch-size 64 --num-negative 8192
echo "per-rank batch fixed; 1 LibTorch thread + 1 loader thread per rank, --bind-to none; $(nproc) cores"
echo "exposed = rank 0's gradient all-reduce time after backward / step time, on 2 ranks"
