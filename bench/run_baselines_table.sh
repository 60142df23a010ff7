#!/usr/bin/env bash
# PIC against the baselines it is compared with (InstDisc, MoCo v2, SimCLR) on Fashion-MNIST
# at the same pre-training budget: the same number of crops through an encoder. PIC and
# InstDisc encode one crop per image and run 2 x E window epochs; MoCo (query + key) and
# SimCLR (two views) encode two and run E. Each method: pic-pretrain on 2 ranks with the
# original's recipe flags (ORIGINAL.md) adapted to 28 px images, then the linear probe of
# scripts/run-main-job.sh; prints one table row per method (docs/baselines.md).
#
# Usage: bench/run_baselines_table.sh [--data DIR] [--out DIR] [--epochs E] [--methods "A B"]
#   --data     folder with full/train.h5, full/val.h5 and subset/train.h5, as written by
#              scripts/run-main-job.sh (default runs/main/data; run that script first)
#   --out      where runs go (default runs/baselines-table)
#   --epochs   window epochs of the two-crop methods (default 8; PIC and InstDisc get 16:
#              1280 steps of 128 images, the main job's budget)
#   --methods  subset of "pic instdisc moco-v2 simclr" (default: all four)
# Environment: PIC_BUILD_DIR (default build). Finished methods are skipped on a re-run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=$root/runs/main/data
out=$root/runs/baselines-table
epochs=8
methods="pic instdisc moco-v2 simclr"
while (($#)); do
  case $1 in
    --data) data=$2; shift ;;
    --out) out=$2; shift ;;
    --epochs) epochs=$2; shift ;;
    --methods) methods=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run_baselines_table: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
for f in full/train.h5 full/val.h5 subset/train.h5; do
  if [[ ! -f $data/$f ]]; then
    echo "run_baselines_table: missing $data/$f (run scripts/run-main-job.sh first)" >&2
    exit 1
  fi
done
bin=${PIC_BUILD_DIR:-$root/build}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
mpirun_cmd=(mpirun -n 2 --bind-to none)

one_crop=$((2 * epochs))
common=(--data-dir "$data/subset" --arch resnet18 --width 0.125 --small-stem --mlp-head
        --image-size 28 --batch-size 64 --num-workers 1 --threads 1
        --use-sliding-window-sampler --window-size 4096 --window-stride 512 --shuffle-per-epoch
        --warmup-epoch 0.5 --print-freq 50)
probe=(--data-dir "$data/full" --protocol features --image-size 28 --val-resize 28
       --learning-rate 1 --epochs 100 --num-workers 1 --threads 1 --print-freq 1000)

# The original's recipes (ORIGINAL.md "The recipes its scripts use"); on 10 000 images the
# InstDisc negatives and the MoCo queue are 4 096 (InstDisc's paper value; the default
# 65 536 exceeds N), and MoCo's key EMA is 0.99 so that the key encoder follows the query
# encoder within 640 steps (0.999^640 = 0.53 of the initial weights would remain).
declare -A flags=(
  [pic]="--model PIC --aug SimCLR --crop 0.2 --contrast-temperature 0.2 --base-lr 0.12 --epochs $one_crop"
  [instdisc]="--model InstDisc --aug InstDisc --crop 0.2 --contrast-temperature 0.07 --contrast-momentum 0.5 --contrast-num-negative 4096 --base-lr 0.12 --epochs $one_crop"
  [moco-v2]="--model MoCo --aug MoCov2 --crop 0.2 --contrast-temperature 0.2 --contrast-momentum 0.99 --contrast-num-negative 4096 --base-lr 0.12 --epochs $epochs"
  [simclr]="--model SimCLR --aug SimCLR --crop 0.08 --optimizer lars --contrast-temperature 0.1 --base-lr 0.3 --weight-decay 1e-6 --epochs $epochs"
)

field() { sed -n "s/.*\"$2\": *\([0-9.eE+-]*\).*/\1/p" "$1" | head -n 1; }
for m in $methods; do
  [[ -n ${flags[$m]:-} ]] || { echo "run_baselines_table: unknown method '$m'" >&2; exit 2; }
  if [[ -f $out/$m/linear/result.json ]]; then continue; fi
  printf '\n=== %s: pic-pretrain %s ===\n' "$m" "${flags[$m]}"
  mkdir -p "$out/$m"
  start=$(date +%s)
  # shellcheck disable=SC2086  # the method's flags are words on purpose
  "${mpirun_cmd[@]}" "$bin/src/apps/pic-pretrain" "${common[@]}" ${flags[$m]} \
    --output-dir "$out/$m/pretrain" --auto-resume > "$out/$m/pretrain.log" 2>&1 ||
    { echo "pretrain failed: see $out/$m/pretrain.log" >&2; exit 1; }
  echo $(( $(date +%s) - start )) > "$out/$m/pretrain-seconds"
  "${mpirun_cmd[@]}" "$bin/src/apps/pic-linear" "${probe[@]}" \
    --pretrained-model "$out/$m/pretrain" --output-dir "$out/$m/linear" > "$out/$m/linear.log" 2>&1 ||
    { echo "linear failed: see $out/$m/linear.log" >&2; exit 1; }
done

printf '\n%-10s %8s %8s %7s %10s %12s\n' method top-1 top-5 steps "last loss" "pretrain s"
for m in $methods; do
  last=$(tail -n 1 "$out/$m/pretrain/metrics.jsonl")
  loss=$(sed -n 's/.*"loss": *\([0-9.eE+-]*\).*/\1/p' <<< "$last")
  steps=$(sed -n 's/.*"step": *\([0-9]*\).*/\1/p' <<< "$last")
  printf '%-10s %8s %8s %7s %10s %12s\n' "$m" "$(field "$out/$m/linear/result.json" top1)" \
    "$(field "$out/$m/linear/result.json" top5)" "$steps" "$loss" "$(cat "$out/$m/pretrain-seconds")"
done
