#!/usr/bin/env bash
# Pre-training throughput of pic-pretrain on 1 and 2 MPI ranks, in one run, on Fashion-MNIST.
# Prints images/s per configuration and the 2-rank / 1-rank scaling ratio.
#
# Usage: bench/run_pretrain_bench.sh [BUILD_DIR] [STEPS]
# Needs the datasets of the main job (scripts/run-main-job.sh makes them under runs/main/data)
# or PIC_BENCH_DATA=DIR holding train.h5. Each configuration runs STEPS steps (default 60)
# and the rate is taken from the last logged interval, after warm-up.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
steps=${2:-60}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() {  # run NAME RANKS DATA_DIR FLAGS...
  local name=$1 ranks=$2 data=$3; shift 3
  mpirun -n "$ranks" --bind-to none "$build/src/apps/pic-pretrain" --data-dir "$data" \
    --output-dir "$work/$name-$ranks" --max-steps "$steps" --print-freq $((steps / 3)) \
    --save-every-steps 1000000 --num-workers 1 --threads 1 "$@" >"$work/$name-$ranks.log" 2>&1
  # images/s of the last logged interval (the first includes start-up and warm caches)
  tail -n 1 "$work/$name-$ranks/metrics.jsonl" |
    sed -n 's/.*"images_per_second": *\([0-9.eE+-]*\).*/\1/p'
}

full=${PIC_BENCH_DATA:-$root/runs/main/data/full}
subset=${PIC_BENCH_SUBSET:-$root/runs/main/data/subset}
common=(--model PIC --contrast-temperature 0.2 --mlp-head --use-sliding-window-sampler
        --window-size 8192 --window-stride 1024 --shuffle-per-epoch --epochs 100)
small=(--arch resnet18 --width 0.125 --small-stem --aug SimCLR --crop 0.2 --image-size 28
       --batch-size 64)
design=(--arch resnet18 --aug MultiCrop --crop 0.08 --crop2 0.14 --image-size 64
        --image-size2 32 --num-crop 1 --num-crop2 3 --batch-size 32)

printf '%-58s %10s %10s %8s\n' configuration "1 rank" "2 ranks" ratio
config=0
bench() {  # bench LABEL DATA FLAGS...
  local label=$1 data=$2; shift 2
  local one two
  config=$((config + 1))
  one=$(run "config$config" 1 "$data" "${common[@]}" "$@")
  two=$(run "config$config" 2 "$data" "${common[@]}" "$@")
  printf '%-58s %10.1f %10.1f %7.2fx\n' "$label" "$one" "$two" "$(awk -v a="$two" -v b="$one" 'BEGIN { print a / b }')"
}
bench "main job: r18 w0.125 small stem, SimCLR 28px, N=10k" "$subset" "${small[@]}"
bench "same, N=60k, full softmax" "$full" "${small[@]}"
bench "same, N=60k, --num-negative 8192 (recent, lazy)" "$full" "${small[@]}" --num-negative 8192
bench "DESIGN.md setup: r18, MultiCrop 64+3x32, batch 32, N=60k" "$full" "${design[@]}"
echo "threads: 1 LibTorch thread + 1 loader thread per rank, --bind-to none; $(nproc) cores"
