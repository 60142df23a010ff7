#!/usr/bin/env bash
# PIC head variants on Fashion-MNIST at the same pre-training budget (same steps, same
# batch): full softmax, negative sampling with the freeze and the lazy correction, and
# multi-crop against single crop. Each variant: pic-pretrain on 2 ranks, then the linear
# probe of scripts/run-main-job.sh; prints one table row per variant (docs/pic-head.md).
#
# Usage: bench/run_head_table.sh [--data DIR] [--out DIR] [--epochs E] [--negatives K]
#   --data      folder with full/train.h5, full/val.h5 and subset/train.h5, as written by
#               scripts/run-main-job.sh (default runs/main/data; run that script first)
#   --out       where runs go (default runs/head-table)
#   --epochs    pre-training epochs over the 10 000-image subset (default 16: 1280 steps, the main job's budget)
#   --negatives K for the sampled variants (default 1024 of the 10 000 instances)
# Environment: PIC_BUILD_DIR (default build). Finished variants are skipped on a re-run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=$root/runs/main/data
out=$root/runs/head-table
epochs=16
negatives=1024
while (($#)); do
  case $1 in
    --data) data=$2; shift ;;
    --out) out=$2; shift ;;
    --epochs) epochs=$2; shift ;;
    --negatives) negatives=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run_head_table: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
for f in full/train.h5 full/val.h5 subset/train.h5; do
  if [[ ! -f $data/$f ]]; then
    echo "run_head_table: missing $data/$f (run scripts/run-main-job.sh first)" >&2
    exit 1
  fi
done
bin=${PIC_BUILD_DIR:-$root/build}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
mpirun_cmd=(mpirun -n 2 --bind-to none)

arch=(--arch resnet18 --width 0.125 --small-stem)
common=(--data-dir "$data/subset" "${arch[@]}" --mlp-head --model PIC --contrast-temperature 0.2
        --image-size 28 --batch-size 64 --num-workers 1 --threads 1
        --use-sliding-window-sampler --window-size 4096 --window-stride 512 --shuffle-per-epoch
        --epochs "$epochs" --warmup-epoch 0.5 --base-lr 0.12 --print-freq 50)
single=(--aug SimCLR --crop 0.2)
multi=(--aug MultiCrop --crop 0.08 --crop2 0.14 --image-size2 16 --num-crop 1 --num-crop2 3)
sampled=(--num-negative "$negatives" --negative-sampling recent)
probe=(--data-dir "$data/full" --protocol features --image-size 28 --val-resize 28
       --learning-rate 1 --epochs 100 --num-workers 1 --threads 1 --print-freq 1000)

declare -A flags=(
  [full]="${single[*]}"
  [sampled-freeze]="${single[*]} ${sampled[*]} --weight-update-correction freeze"
  [sampled-lazy]="${single[*]} ${sampled[*]} --weight-update-correction lazy"
  [multicrop-full]="${multi[*]}"
)
variants=(full sampled-freeze sampled-lazy multicrop-full)

field() { sed -n "s/.*\"$2\": *\([0-9.eE+-]*\).*/\1/p" "$1" | head -n 1; }
for v in "${variants[@]}"; do
  if [[ -f $out/$v/linear/result.json ]]; then continue; fi
  printf '\n=== %s: pic-pretrain %s ===\n' "$v" "${flags[$v]}"
  mkdir -p "$out/$v"
  start=$(date +%s)
  # shellcheck disable=SC2086  # the variant's flags are words on purpose
  "${mpirun_cmd[@]}" "$bin/src/apps/pic-pretrain" "${common[@]}" ${flags[$v]} \
    --output-dir "$out/$v/pretrain" --auto-resume > "$out/$v/pretrain.log" 2>&1 ||
    { echo "pretrain failed: see $out.$v.pretrain.log" >&2; exit 1; }
  echo $(( $(date +%s) - start )) > "$out/$v/pretrain-seconds"
  "${mpirun_cmd[@]}" "$bin/src/apps/pic-linear" "${probe[@]}" \
    --pretrained-model "$out/$v/pretrain" --output-dir "$out/$v/linear" > "$out/$v/linear.log" 2>&1 ||
    { echo "linear failed: see $out.$v.linear.log" >&2; exit 1; }
done

printf '\n%-16s %8s %8s %10s %12s\n' variant top-1 top-5 "last loss" "pretrain s"
for v in "${variants[@]}"; do
  loss=$(tail -n 1 "$out/$v/pretrain/metrics.jsonl" | sed -n 's/.*"loss": *\([0-9.eE+-]*\).*/\1/p')
  printf '%-16s %8s %8s %10s %12s\n' "$v" "$(field "$out/$v/linear/result.json" top1)" \
    "$(field "$out/$v/linear/result.json" top5)" "$loss" "$(cat "$out/$v/pretrain-seconds")"
done
