#!/usr/bin/env bash
# The main job, end to end on real data (Debian's Fashion-MNIST):
#   install what is missing, build, convert train and test splits with pic-prep,
#   pre-train PIC on 2 MPI ranks, linear-evaluate the pre-trained encoder and the same
#   architecture randomly initialised, print both.
#
# Usage: scripts/run-main-job.sh [--full] [--ranks N] [--out DIR]
#   default  ~15 min on 2 cores once built: PIC pre-trains on a random 10 000-image subset
#            of the train split (the first 10 000 of pic-prep's shuffled order), full
#            softmax, 1 280 steps (each image seen ~16 times); the linear probe trains on
#            all 60 000 train images and reports top-1/top-5 on the 10 000 test images.
#   --full   pre-trains on all 60 000 train images for about the same compute (1 408 steps,
#            each image seen ~3 times), each step's softmax over the 16 384 most recently
#            visited images (the sliding window) with the lazy weight update correction.
#            At this budget it scores lower (65.5 vs 79.4 top-1): PIC needs repeated visits.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ranks=2
out=$root/runs/main
full=0
while (($#)); do
  case $1 in
    --full) full=1 ;;
    --ranks) ranks=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run-main-job: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
bin=${PIC_BUILD_DIR:-$root/build}

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
mpirun_cmd=(mpirun -n "$ranks" --bind-to none)
fmnist=/usr/share/datasets/fashion-mnist
classes=$root/data_prep/fashion-mnist-classes.txt
data=$out/data
mkdir -p "$data/full" "$data/subset"

step() { printf '\n=== %s ===\n' "$*"; }

step "1/4 pic-prep: Fashion-MNIST train, test and the pre-training subset"
prep() {  # prep IMAGES LABELS OUTPUT [flags]
  local images=$1 labels=$2 output=$3; shift 3
  if [[ -f $output ]]; then echo "exists: $output"; return; fi
  "$bin/data_prep/pic-prep" --input-format idx --input "$images" --labels "$labels" \
    --class-names "$classes" --output "$output" --seed 0 "$@"
}
prep "$fmnist/train-images-idx3-ubyte.gz" "$fmnist/train-labels-idx1-ubyte.gz" "$data/full/train.h5"
prep "$fmnist/t10k-images-idx3-ubyte.gz" "$fmnist/t10k-labels-idx1-ubyte.gz" "$data/full/val.h5"
prep "$fmnist/train-images-idx3-ubyte.gz" "$fmnist/train-labels-idx1-ubyte.gz" \
  "$data/subset/train.h5" --max-images 10000

# One encoder for both runs: ResNet-18 at 1/8 width with the small-image stem (64-d features).
arch=(--arch resnet18 --width 0.125 --small-stem)
if ((full)); then
  pretrain_data=$data/full epochs=3 window=(--window-size 16384 --window-stride 2048)
  sampling=(--num-negative 16384 --negative-sampling recent --weight-update-correction lazy)
else
  pretrain_data=$data/subset epochs=16 window=(--window-size 4096 --window-stride 512)
  sampling=()
fi

step "2/4 pic-pretrain: PIC on $ranks MPI ranks"
"${mpirun_cmd[@]}" "$bin/src/apps/pic-pretrain" \
  --data-dir "$pretrain_data" --output-dir "$out/pretrain" --auto-resume \
  "${arch[@]}" --mlp-head --model PIC --contrast-temperature 0.2 \
  --aug SimCLR --crop 0.2 --image-size 28 --batch-size 64 --num-workers 1 --threads 1 \
  --use-sliding-window-sampler "${window[@]}" --shuffle-per-epoch "${sampling[@]}" \
  --epochs "$epochs" --warmup-epoch 0.5 --base-lr 0.12 --print-freq 50 --save-every-steps 200

# The same linear probe for both encoders: features extracted once (full image, no
# augmentation), linear layer trained on all 60 000 train images, scored on the 10 000 test
# images. lr 1 rather than the original's 30: with 64-d features lr 30 oscillates.
probe=(--data-dir "$data/full" --protocol features --image-size 28 --val-resize 28
       --learning-rate 1 --epochs 100 --num-workers 1 --threads 1 --print-freq 50)

step "3/4 pic-linear: the pre-trained encoder"
"${mpirun_cmd[@]}" "$bin/src/apps/pic-linear" "${probe[@]}" \
  --pretrained-model "$out/pretrain" --output-dir "$out/linear-pretrained"

step "4/4 pic-linear: the same encoder, randomly initialised"
"${mpirun_cmd[@]}" "$bin/src/apps/pic-linear" "${probe[@]}" \
  --random-init "${arch[@]}" --output-dir "$out/linear-random"

field() { sed -n "s/.*\"$2\": *\([0-9.eE+-]*\).*/\1/p" "$1" | head -n 1; }
step "Result (Fashion-MNIST test split, linear probe top-1 / top-5, %)"
printf '%-28s %8s %8s\n' encoder top-1 top-5
for run in pretrained random; do
  r=$out/linear-$run/result.json
  printf '%-28s %8s %8s\n' "$run" "$(field "$r" top1)" "$(field "$r" top5)"
done
echo "raw-pixel floors (DESIGN.md): linear ~81, cosine kNN (k 20) ~85"
echo "results: $out/linear-pretrained/result.json, $out/linear-random/result.json"
