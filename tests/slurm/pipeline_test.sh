#!/usr/bin/env bash
# The Slurm scripts against a real Slurm (registered by tests/slurm/pipeline.cmake).
#
#   pipeline_test.sh WORK SOURCE_ROOT BUILD_DIR
#
# Starts a one-node cluster on localhost (local_cluster.sh: munged, slurmctld, slurmd, in a
# temporary folder, stopped on any exit), then:
#  1. slurm/submit.sh chains prep -> pretrain -> linear on real Fashion-MNIST (300 train,
#     300 val images, pic-prep's idx input), 2 ranks with `srun --mpi=pmix`, 40 small steps.
#  2. An uninterrupted reference: pretrain.sbatch submitted with plain sbatch on the same
#     data and flags, launched with PIC_LAUNCHER=mpirun (the override).
#  3. Mid-run (after 4 logged steps) the pipeline's pre-training gets the warning signal as
#     Slurm sends it before a time limit, to the batch shell only
#     (`scancel --signal=USR1 --batch`). Checked: the ranks checkpoint and exit 75, the
#     script requeues the job (Restarts=1), the requeued run resumes from that checkpoint
#     (--auto-resume), finishes, and the linear job then runs on its checkpoint.
#  4. The pipeline's losses (metrics.jsonl, the last line of each step) equal the
#     reference's, step for step, as printed (%.9g).
#  5. `scancel` of a pre-training job (SIGTERM): the ranks checkpoint and exit 75, but the job
#     stays cancelled (a requeue would undo the cancel).
# Exits 77 (CTest: skipped) when not root or when slurm-wlm / munge are missing.
set -euo pipefail
work=$1 root=$2 build=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

# shellcheck source=tests/slurm/local_cluster.sh
source "$root/tests/slurm/local_cluster.sh"
[[ $(id -u) == 0 ]] || skip "the test cluster runs its daemons as root (SlurmUser=root)"
missing=$(cluster_missing_tools)
[[ -z $missing ]] || skip "missing $missing (scripts/install-deps.sh installs slurm-wlm munge)"
fm=/usr/share/datasets/fashion-mnist
[[ -f $fm/train-images-idx3-ubyte.gz ]] || fail "$fm missing (apt install dataset-fashion-mnist)"

rm -rf "$work" && mkdir -p "$work"
logs=$work/logs data=$work/data out=$work/pretrain reference=$work/reference
# The cluster's files: a short path under /tmp (munge's socket path must stay < 108 bytes).
cluster_root=$(mktemp -d /tmp/pic-slurm.XXXXXX)
on_exit() {
  local status=$?
  if ((status != 0 && status != 77)); then
    squeue --all --format "%.6i %.16j %.10T %.20R" 2> /dev/null || true
    cluster_logs
    local log
    for log in "$logs"/*.out; do
      [[ -f $log ]] && { echo "----- $log"; tail -n 30 "$log"; }
    done
  fi
  cluster_stop
  rm -rf "$cluster_root"
}
trap on_exit EXIT
# A TERM or INT (CTest's timeout, Ctrl-C) must still stop the daemons, which run detached.
trap 'exit 143' TERM
trap 'exit 130' INT
cluster_start "$cluster_root/cluster" || fail "the test cluster did not start"
echo "cluster up: SLURM_CONF=$SLURM_CONF"

# The small configuration of tests/mpi/pretrain_test.sh: a ResNet-18 at 1/8 width on 32 px
# crops, batch 8 per rank, a small sliding window so that the loss moves within a few steps.
pretrain_flags="--arch resnet18 --small-stem --width 0.125 --feature-dim 32 --image-size 32
  --batch-size 8 --threads 1 --aug SimCLR --crop 0.2 --contrast-temperature 0.2
  --base-lr 0.5 --warmup-epoch 0 --epochs 20 --use-sliding-window-sampler --window-size 48
  --window-stride 6 --print-freq 1 --seed 3 --max-steps 40"
steps=40
export OMP_NUM_THREADS=1

# 1. The pipeline. No GPUs here: 2 tasks, 1 CPU each, on the one node.
submitted=$("$root/slurm/submit.sh" --source "$fm" --prep-format idx --data "$data" \
  --output "$out" --logs "$logs" --bin "$build" --nodes 1 --gpus-per-node 0 \
  --tasks-per-node 2 --cpus-per-task 1 --prep-cpus 1 \
  --prep-flags "--max-images 300 --class-names $root/data_prep/fashion-mnist-classes.txt" \
  --pretrain-recipe "" --pretrain-flags "$pretrain_flags" \
  --linear-flags "--protocol features --epochs 5 --warmup-epoch 1 --learning-rate 1
    --total-batch-size 48 --threads 1 --print-freq 4")
echo "$submitted"
job_of() { awk -v name="$1" '$1 == name { print $2 }' <<< "$submitted"; }
prep=$(job_of prep) pretrain=$(job_of pretrain) linear=$(job_of linear)
[[ -n $prep && -n $pretrain && -n $linear ]] || fail "submit.sh did not print three job ids"

# 2. The reference, with plain sbatch and the mpirun launcher.
read -r -d '' -a flags <<< "$pretrain_flags" || true
reference_job=$(PIC_BIN=$build PIC_PRETRAIN_RECIPE="" PIC_LAUNCHER=mpirun \
  sbatch --parsable --export=ALL --job-name=pic-reference --output="$logs/%x-%j.out" \
  --dependency="afterok:$prep" --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 \
  --gpus-per-node=0 "$root/slurm/pretrain.sbatch" "$data" "$reference" "${flags[@]}")
echo "reference $reference_job"

job_field() { scontrol show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.5 s until it succeeds.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local tries=$((seconds * 2))
  for _ in $(seq 1 "$tries"); do
    "$@" && return 0
    sleep 0.5
  done
  fail "waited $seconds s for $what"
}
has_steps() { [[ -f $out/metrics.jsonl && $(wc -l < "$out/metrics.jsonl") -ge $1 ]]; }
is_requeued() { [[ $(job_field "$pretrain" Restarts) == 1 && $(job_field "$pretrain" JobState) == PENDING ]]; }
is_done() {
  local state
  state=$(job_field "$1" JobState)
  [[ $state == COMPLETED || $state == FAILED || $state == CANCELLED || $state == TIMEOUT ||
    $state == NODE_FAIL || $state == OUT_OF_MEMORY ]]
}

# 3. The warning signal, after 4 logged steps.
wait_for 180 "4 pre-training steps of job $pretrain" has_steps 4
[[ $(job_field "$pretrain" JobState) == RUNNING ]] || fail "job $pretrain is not running"
echo "sending USR1 to the batch shell of job $pretrain"
scancel --signal=USR1 --batch "$pretrain"
wait_for 60 "job $pretrain to be requeued" is_requeued
# A requeued job waits ~2 minutes (BeginTime) before it may start again; skip that.
scontrol update JobId="$pretrain" StartTime=now
wait_for 300 "the linear job $linear to end" is_done "$linear"
wait_for 120 "the reference job $reference_job to end" is_done "$reference_job"

for job in "$prep" "$pretrain" "$linear" "$reference_job"; do
  state=$(job_field "$job" JobState) code=$(job_field "$job" ExitCode)
  echo "job $job: $state, exit code $code, restarts $(job_field "$job" Restarts)"
  [[ $state == COMPLETED && $code == 0:0 ]] || fail "job $job ended $state ($code)"
done
[[ $(job_field "$pretrain" Restarts) == 1 ]] || fail "job $pretrain was not restarted once"

log=$logs/pic-pretrain-$pretrain.out
grep -q "launcher: srun --mpi=pmix" "$log" || fail "the pipeline did not launch with srun"
grep -q "launcher: mpirun" "$logs/pic-reference-$reference_job.out" ||
  fail "the reference did not launch with mpirun"
stop_line=$(grep -o "stopped by signal after step [0-9]*" "$log") ||
  fail "no 'stopped by signal' line in $log"
stop_step=${stop_line##* }
((stop_step >= 4 && stop_step < steps)) || fail "stopped after step $stop_step"
grep -q "stopped early after a checkpoint (status 75): requeueing job $pretrain" "$log" ||
  fail "the script did not requeue on status 75"
grep -q "(restart 1)" "$log" || fail "no second run in $log"
grep -q "resumed from .*ckpt_0*$stop_step.h5 at step $stop_step" "$log" ||
  fail "the requeued run did not resume from step $stop_step"
echo "stopped after step $stop_step, requeued, resumed from its checkpoint"

# 4. Losses: the last line of each step (a step logged twice would be one redone).
losses_by_step() {
  sed -n 's/.*"step": \([0-9]*\).*"loss": \([^,}]*\).*/\1 \2/p' "$1" |
    awk '{ loss[$1] = $2; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
         END { for (i = 1; i <= n; ++i) print order[i], loss[order[i]] }'
}
losses_by_step "$out/metrics.jsonl" > "$work/losses_pipeline.txt"
losses_by_step "$reference/metrics.jsonl" > "$work/losses_reference.txt"
paste "$work/losses_pipeline.txt" "$work/losses_reference.txt"
[[ $(wc -l < "$work/losses_reference.txt") -eq $steps ]] || fail "the reference logged no $steps steps"
diff "$work/losses_pipeline.txt" "$work/losses_reference.txt" ||
  fail "the requeued run's losses differ from the uninterrupted run's"

# The linear job evaluated the final checkpoint on every val image.
result=$out/linear/result.json
[[ -f $result ]] || fail "no $result"
cat "$result"

# 5. scancel (SIGTERM to every process of the job) is not a warning: the ranks checkpoint,
#    exit 75, and the script leaves the job cancelled instead of requeueing it.
cancelled=$(PIC_BIN=$build PIC_PRETRAIN_RECIPE="" sbatch --parsable --export=ALL \
  --job-name=pic-cancelled --output="$logs/%x-%j.out" --nodes=1 --ntasks-per-node=2 \
  --cpus-per-task=1 --gpus-per-node=0 "$root/slurm/pretrain.sbatch" "$data" "$reference" \
  "${flags[@]}" --max-steps 1000)
log=$logs/pic-cancelled-$cancelled.out
logged_after() { [[ $(wc -l < "$reference/metrics.jsonl") -ge $(($1 + 2)) ]]; }
wait_for 120 "2 steps of job $cancelled" logged_after "$steps"
scancel "$cancelled"
is_gone() { [[ -z $(squeue --noheader --jobs "$1" 2> /dev/null) ]]; }
wait_for 60 "job $cancelled to end" is_gone "$cancelled"
sleep 2
echo "job $cancelled: $(job_field "$cancelled" JobState), restarts $(job_field "$cancelled" Restarts)"
[[ $(job_field "$cancelled" JobState) == CANCELLED ]] || fail "job $cancelled is not CANCELLED"
[[ $(job_field "$cancelled" Restarts) == 0 ]] || fail "job $cancelled was requeued after scancel"
grep -q "stopped by signal after step" "$log" || fail "the ranks did not checkpoint on SIGTERM"
grep -q "status 75), not requeued" "$log" || fail "no 'not requeued' line in $log"
grep -q '"checkpoint": "[^"]*ckpt_0*'"$steps"'.h5"' "$result" ||
  fail "the linear job did not evaluate the step-$steps checkpoint"
grep -q '"num_val": 300[,}]' "$result" || fail "the linear job did not count the 300 val images"
echo "OK: slurm pipeline"
