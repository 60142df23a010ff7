#!/usr/bin/env bash
# Driver of the pic-pretrain MPI tests (registered by tests/mpi/pretrain.cmake).
#
#   pretrain_test.sh data   WORK PIC_PREP
#       writes WORK/data/train.h5: the first 300 Fashion-MNIST training images, through
#       pic-prep's IDX input (the subset is a valid IDX file with a rewritten count).
#   pretrain_test.sh train  WORK PIC_PRETRAIN RANKS MPIEXEC...
#       8 steps; every logged loss finite, the last three below the first three on average,
#       a complete checkpoint at step 8 named by `latest`.
#   pretrain_test.sh resume WORK PIC_PRETRAIN RANKS MPIEXEC...
#       8 steps in one run vs 4 steps + --auto-resume + 4 steps: identical losses (%.9g);
#       --resume FILE from step 4 into a new folder: the same last 4 losses.
#   pretrain_test.sh sampled WORK PIC_PRETRAIN RANKS MPIEXEC...
#       the resume check with negative sampling (--num-negative 24 of 300): freeze, and
#       lazy where both runs checkpoint at step 4 (a checkpoint catches every row up, which
#       rounds it once: the uninterrupted run must do the same to match bit for bit).
#   pretrain_test.sh reshard WORK PIC_PRETRAIN RANKS MPIEXEC...
#       4 steps on RANKS ranks, then --auto-resume on the other count (2 <-> 3): the run
#       continues at the step of its own plan with as many images seen, its first checkpoint
#       holds the original's datasets bit for bit, every later step has the epoch and lr of
#       a run from scratch on that count, and it ends where that one ends.
#   pretrain_test.sh damaged WORK PIC_PRETRAIN RANKS MPIEXEC...
#       --keep-last 3; a checkpoint with damaged classifier rows is named and skipped by
#       --auto-resume (same losses from the previous one), refused by --resume; a truncated
#       one is skipped too.
#   pretrain_test.sh baselines WORK PIC_PRETRAIN RANKS MPIEXEC...
#       InstDisc, MoCo v2 and SimCLR (with LARS): finite losses, and the resume check, which
#       only passes if the memory bank, the queue and its pointer, the key encoder and the
#       LARS momentum all come back from the checkpoint; a MoCo checkpoint resumed as SimCLR
#       is refused naming both models, leaving config.json as it was.
#   pretrain_test.sh signal WORK PIC_PRETRAIN RANKS MPIEXEC...
#       SIGUSR1 to mpiexec during a long run: the ranks checkpoint and stop early with exit
#       status 75 ("stopped, resume me", src/train/exit_status.h), which mpiexec passes on; a
#       resumed run starts at that checkpoint's step.
#   pretrain_test.sh nonfinite WORK PIC_PRETRAIN RANKS MPIEXEC...
#       NaN images on one rank (PIC_TEST_NONFINITE_AT): rank 0's at step 5, after which the
#       BatchNorm statistics it checkpoints must still be finite, and the last rank's at steps
#       9-11: every rank skips those steps together, and 3 bad steps in a row send the run back
#       to its step-8 checkpoint at half the learning rate; without a checkpoint to go back to,
#       the job ends with that message.
#   pretrain_test.sh kill WORK PIC_PRETRAIN RANKS MPIEXEC...
#       SIGKILL of rank 1 in the middle of a step, then in the middle of writing a checkpoint:
#       the job ends within 30 s with a failure, and the checkpoint `latest` names is complete
#       and resumes.
set -euo pipefail
mode=$1 work=$2 exe=$3
shift 3
fail() { echo "FAIL: $*" >&2; exit 1; }

make_data() {
  local fm=/usr/share/datasets/fashion-mnist n=300
  [[ -f $fm/train-images-idx3-ubyte.gz ]] || fail "$fm missing (apt install dataset-fashion-mnist)"
  rm -rf "$work/data" && mkdir -p "$work/data"
  # IDX header: magic, count (big-endian uint32), then rows and cols for images. `head`
  # closes the pipe early on purpose, so the pipes run without pipefail.
  set +o pipefail
  { printf '\x00\x00\x08\x03\x00\x00\x01\x2c\x00\x00\x00\x1c\x00\x00\x00\x1c'
    zcat "$fm/train-images-idx3-ubyte.gz" | tail -c +17 | head -c $((n * 784)); } \
    > "$work/data/images.idx"
  { printf '\x00\x00\x08\x01\x00\x00\x01\x2c'
    zcat "$fm/train-labels-idx1-ubyte.gz" | tail -c +9 | head -c $n; } > "$work/data/labels.idx"
  "$exe" --input-format idx --input "$work/data/images.idx" --labels "$work/data/labels.idx" \
    --output "$work/data/train.h5" --seed 7 --threads 1
  [[ -f $work/data/train.h5 ]] || fail "pic-prep wrote no train.h5"
}

# The small configuration every run shares, extra flags after it, into the array `cmd`. The
# small sliding window (24 or 16 images per rank, stride 3 or 2) shows each image in several
# consecutive steps, so that the loss falls within a few steps.
pretrain_cmd() {
  local out=$1
  shift
  cmd=("${mpiexec[@]}" -n "$ranks" "$exe" --data-dir "$work/data" --output-dir "$out"
    --arch resnet18 --small-stem --width 0.125 --feature-dim 32 --image-size 32
    --batch-size 8 --num-workers 1 --threads 1 --aug SimCLR --crop 0.2
    --contrast-temperature 0.2 --base-lr 0.5 --warmup-epoch 0 --epochs 20
    --use-sliding-window-sampler --window-size 48 --window-stride 6
    --print-freq 1 --seed 3 "$@")
}
pretrain() {
  pretrain_cmd "$@"
  "${cmd[@]}"
}

# The "loss" field of every line of a metrics.jsonl, one per line.
losses() { sed -n 's/.*"loss": \([^,}]*\).*/\1/p' "$1"; }

check_train() {
  local out=$work/train_$ranks
  rm -rf "$out"
  pretrain "$out" --max-steps 8
  local m=$out/metrics.jsonl
  [[ $(wc -l < "$m") -eq 8 ]] || fail "expected 8 lines in $m, found $(wc -l < "$m")"
  losses "$m" | awk '
    $1 == "null" || $1 != $1 + 0 { print "FAIL: loss not finite: " $1; bad = 1 }
    { loss[NR] = $1 }
    END {
      if (bad) exit 1
      first = (loss[1] + loss[2] + loss[3]) / 3; last = (loss[6] + loss[7] + loss[8]) / 3
      printf "mean loss of steps 1-3: %.6f, of steps 6-8: %.6f\n", first, last
      if (!(last < first)) { print "FAIL: the loss did not decrease"; exit 1 }
    }'
  [[ $(cat "$out/latest") == ckpt_00000008.h5 ]] || fail "latest is '$(cat "$out/latest")'"
  [[ -f $out/ckpt_00000008.h5 && -f $out/config.json ]] || fail "checkpoint or config missing"
  grep -q '"world_size": '"$ranks" "$out/config.json" || fail "config.json lacks world_size"

  # Refused options: status 2 and the message once (rank 0), not once per rank.
  local refused=$work/refused_$ranks.txt rc=0
  pretrain "$work/refused_out_$ranks" --max-steps 2 --train-file "$work/missing.h5" \
    > "$refused" 2>&1 || rc=$?
  [[ $rc -eq 2 ]] || { cat "$refused"; fail "refused options: status $rc, expected 2"; }
  [[ $(grep -c "no dataset at" "$refused") -eq 1 ]] ||
    { cat "$refused"; fail "the refusal is not printed exactly once"; }
}

check_resume() {
  local whole=$work/resume_whole_$ranks split=$work/resume_split_$ranks
  rm -rf "$whole" "$split"
  pretrain "$whole" --max-steps 8
  pretrain "$split" --max-steps 4
  [[ $(cat "$split/latest") == ckpt_00000004.h5 ]] || fail "no checkpoint at step 4"
  pretrain "$split" --max-steps 8 --auto-resume | tee "$work/resume_log_$ranks.txt"
  grep -q "resumed from .*ckpt_00000004.h5 at step 4" "$work/resume_log_$ranks.txt" ||
    fail "the second run did not resume from step 4"
  paste <(losses "$whole/metrics.jsonl") <(losses "$split/metrics.jsonl")
  diff <(losses "$whole/metrics.jsonl") <(losses "$split/metrics.jsonl") ||
    fail "losses after resume differ from the uninterrupted run"
  [[ $(losses "$whole/metrics.jsonl" | wc -l) -eq 8 ]] || fail "expected 8 losses"

  # --resume FILE into a fresh output folder: steps 5..8 again, the same losses.
  local explicit=$work/resume_explicit_$ranks
  rm -rf "$explicit"
  pretrain "$explicit" --max-steps 8 --resume "$split/ckpt_00000004.h5"
  diff <(losses "$whole/metrics.jsonl" | tail -n 4) <(losses "$explicit/metrics.jsonl") ||
    fail "losses after --resume FILE differ from the uninterrupted run"
}

# Same as check_resume's first part, with extra flags for both runs.
resume_matches() {
  local name=$1
  shift
  local whole=$work/${name}_whole_$ranks split=$work/${name}_split_$ranks
  rm -rf "$whole" "$split"
  pretrain "$whole" --max-steps 8 "$@"
  pretrain "$split" --max-steps 4 "$@"
  # Into a file, then grep: `| grep -q` under pipefail fails when grep leaves early.
  pretrain "$split" --max-steps 8 --auto-resume "$@" > "$work/${name}_resume_$ranks.txt"
  grep -q "resumed from .* at step 4" "$work/${name}_resume_$ranks.txt" ||
    fail "$name: the second run did not resume from step 4"
  paste <(losses "$whole/metrics.jsonl") <(losses "$split/metrics.jsonl")
  diff <(losses "$whole/metrics.jsonl") <(losses "$split/metrics.jsonl") ||
    fail "$name: losses after resume differ from the uninterrupted run"
}

check_sampled() {
  local sampled=(--num-negative 24 --negative-sampling recent)
  resume_matches sampled_freeze "${sampled[@]}" --weight-update-correction freeze
  resume_matches sampled_lazy "${sampled[@]}" --weight-update-correction lazy --save-every-steps 4
  resume_matches sampled_uniform --num-negative 24 --negative-sampling uniform --save-every-steps 4
  grep -q "softmax over 24 recent instances (lazy correction)" <(
    pretrain "$work/sampled_log_$ranks" --max-steps 1 "${sampled[@]}" 2>&1) ||
    fail "no head description line for the sampled softmax"
}

check_baselines() {
  resume_matches instdisc --model InstDisc --aug InstDisc --contrast-num-negative 64 \
    --contrast-momentum 0.5
  # The queue (48) is a multiple of the global batch on 2 and 3 ranks (16, 24); 8 steps wrap it.
  resume_matches moco --model MoCo --aug MoCov2 --contrast-num-negative 48 --contrast-momentum 0.9
  resume_matches simclr --model SimCLR --optimizer lars --weight-decay 1e-6
  local name
  for name in instdisc moco simclr; do
    losses "$work/${name}_whole_$ranks/metrics.jsonl" |
      awk -v n="$name" '$1 == "null" || $1 != $1 + 0 { print "FAIL: " n " loss " $1; exit 1 }'
  done
  # Another --model on a MoCo checkpoint: refused before loading, config.json left alone.
  local moco=$work/moco_whole_$ranks
  cp "$moco/config.json" "$work/moco_config_before_$ranks.json"
  if pretrain "$moco" --max-steps 10 --model SimCLR --auto-resume > "$work/model_change_$ranks.txt" 2>&1; then
    fail "resuming a MoCo checkpoint as SimCLR was not refused"
  fi
  grep -q "was written by --model MoCo; this run is --model SimCLR" "$work/model_change_$ranks.txt" ||
    { cat "$work/model_change_$ranks.txt"; fail "the refusal does not name both models"; }
  cmp -s "$moco/config.json" "$work/moco_config_before_$ranks.json" ||
    fail "a refused resume rewrote config.json"
  grep -q "memory bank sharded over $ranks ranks" <(
    pretrain "$work/instdisc_log_$ranks" --max-steps 1 --model InstDisc --aug InstDisc \
      --contrast-num-negative 64 2>&1) || fail "no InstDisc description line"
}

# The step, total_steps, epoch and lr of every line of a metrics.jsonl, one line per step.
plan_fields() {
  local n='\([0-9]*\)'
  sed -n "s/.*\"step\": $n, \"total_steps\": $n, \"epoch\": $n, \"lr\": \([^,]*\),.*/\1 \2 \3 \4/p" "$1"
}

# Overwrites 4 bytes in the middle of dataset $2's data in file $1 (offset from h5dump).
damage_dataset() {
  local size offset
  read -r size offset < <(h5dump -p -H -d "$2" "$1" |
    awk '$1 == "SIZE" { s = $2 } $1 == "OFFSET" { o = $2 } END { print s, o }')
  [[ -n $offset ]] || fail "no offset of $2 in $1"
  printf '\xde\xad\xbe\xef' | dd of="$1" bs=1 seek=$((offset + size / 2)) conv=notrunc status=none
}

check_reshard() {
  local other=$((ranks == 2 ? 3 : 2)) saved_ranks=$ranks
  local out=$work/reshard_$ranks ref=$work/reshard_ref_$ranks log=$work/reshard_log_$ranks.txt
  # --epochs 1: a global window of 48 images on both rank counts, ceil(300 / 48) = 7 window
  # epochs = 21 steps of 16 images on 2 ranks, 14 steps of 24 images on 3.
  local short=(--epochs 1)
  rm -rf "$out" "$ref"
  pretrain "$out" "${short[@]}" --max-steps 4
  ranks=$other
  pretrain "$out" "${short[@]}" --auto-resume > "$log" 2>&1 || { cat "$log"; fail "resume failed"; }
  pretrain "$ref" "${short[@]}" > /dev/null  # the same options on $other ranks from scratch
  ranks=$saved_ranks
  cat "$log"
  grep -q "resumed from .*ckpt_00000004.h5 at step 4 (written by $saved_ranks ranks)" "$log" ||
    fail "no resume from the $saved_ranks-rank checkpoint"

  # The step of the $other-rank plan with as many images seen: round(4 x 8 x W / (8 x W')).
  local images=$((4 * 8 * saved_ranks)) global=$((8 * other))
  local mapped=$(((images + global / 2) / global))
  grep -q "elastic resume: $images images seen (step 4 on $saved_ranks ranks) = step $mapped of " \
    "$log" || fail "the resume was not mapped to step $mapped"

  # The classifier rows (and everything else) carry over bit for bit: the checkpoint written
  # right after the resume, by $other ranks, holds the same datasets as the original.
  local remapped
  remapped=$out/$(printf 'ckpt_%08d.h5' "$mapped")
  [[ -f $remapped ]] || fail "no checkpoint at the mapped step $mapped"
  h5diff "$out/ckpt_00000004.h5" "$remapped" /model /model ||
    fail "/model differs after the resume on $other ranks"
  h5diff "$out/ckpt_00000004.h5" "$remapped" /optimizer /optimizer ||
    fail "/optimizer differs after the resume on $other ranks"
  grep -q "/model/sim_matrix .*Dataset {300, 32}" <(h5ls -r "$remapped") || fail "no classifier"

  # From there the run follows the $other-rank plan: every step's epoch and lr are those of
  # the run from scratch, and it ends where that one ends.
  local resumed expected
  resumed=$(plan_fields "$out/metrics.jsonl" | tail -n +5)
  expected=$(plan_fields "$ref/metrics.jsonl" | tail -n +$((mapped + 1)))
  [[ -n $resumed && $resumed == "$expected" ]] || {
    paste <(echo "$resumed") <(echo "$expected")
    fail "step, epoch or lr after the resume differ from the $other-rank plan"
  }
  local last total
  read -r last total _ < <(plan_fields "$out/metrics.jsonl" | tail -n 1)
  [[ $last -eq $total && $total -eq $((other == 2 ? 21 : 14)) ]] ||
    fail "the resumed run ended at step $last of $total"
  losses "$out/metrics.jsonl" | awk '$1 == "null" || $1 != $1 + 0 { print "FAIL: " $1; exit 1 }'
}

# The value of KEY in the last metrics line of step STEP (a reload logs steps again).
metric_at() { grep "\"step\": $2," "$1" | tail -n 1 | sed -n "s/.*\"$3\": \([^,}]*\).*/\1/p"; }

check_nonfinite() {
  local clean=$work/nonfinite_clean_$ranks out=$work/nonfinite_$ranks last=$((ranks - 1))
  local log=$work/nonfinite_log_$ranks.txt
  rm -rf "$clean" "$out"
  pretrain "$clean" --max-steps 12 --save-every-steps 4
  PIC_TEST_NONFINITE_AT="0:5;$last:9,10,11" pretrain "$out" --max-steps 12 --save-every-steps 4 \
    --nonfinite-skip-limit 3 > "$log" 2>&1 || { cat "$log"; fail "the run with NaN steps failed"; }
  cat "$log"
  grep -q "warning: step 5: loss or gradients not finite (loss nan); skipped (1 in a row, 1 in all)" \
    "$log" || fail "step 5 was not reported as skipped"
  grep -q "3 steps in a row (9..11) had non-finite loss or gradients: going back to .*ckpt_00000008.h5 (step 8) with the learning rate at 0.5 x the schedule's" \
    "$log" || fail "no reload to step 8 at half the learning rate"
  # Before the first bad step both runs are the same run.
  diff <(losses "$clean/metrics.jsonl" | head -n 4) <(losses "$out/metrics.jsonl" | head -n 4) ||
    fail "steps 1-4 differ from the clean run"
  [[ $(metric_at "$out/metrics.jsonl" 5 loss) == null ]] || fail "step 5's loss is not null"
  # The skipped step put rank 0's BatchNorm statistics back (rank 0 writes the replicated
  # tensors): the step-8 checkpoint has no NaN.
  # (grep -c reads all of h5dump's output: grep -q under pipefail would hide a match.)
  local file
  for file in ckpt_00000008.h5 ckpt_00000012.h5; do
    [[ $(h5dump "$out/$file" | grep -ci nan) -eq 0 ]] || fail "NaN in $file"
  done
  [[ $(metric_at "$out/metrics.jsonl" 12 skipped_steps) == 4 ]] || fail "skipped_steps is not 4"
  [[ $(metric_at "$out/metrics.jsonl" 12 lr_scale) == 0.5 ]] || fail "lr_scale is not 0.5"
  # The lowered rate is saved, so that a run resumed after preemption keeps it.
  h5dump -a lr_scale "$out/ckpt_00000012.h5" | grep -q "(0): 0.5$" ||
    fail "ckpt_00000012.h5 does not carry lr_scale 0.5"
  pretrain "$out" --max-steps 13 --auto-resume > "$log.resume" 2>&1
  [[ $(metric_at "$out/metrics.jsonl" 13 lr_scale) == 0.5 ]] || fail "the resume lost lr_scale"
  awk -v a="$(metric_at "$clean/metrics.jsonl" 12 lr)" -v b="$(metric_at "$out/metrics.jsonl" 12 lr)" \
    'BEGIN { if (!(b > 0) || (b - a / 2) / b > 1e-6 || (a / 2 - b) / b > 1e-6) exit 1 }' ||
    fail "the learning rate at step 12 is not half the clean run's"
  losses "$out/metrics.jsonl" | tail -n 4 |
    awk '$1 == "null" || $1 != $1 + 0 { print "FAIL: loss after the reload " $1; exit 1 }'

  # Bad from the start and no checkpoint yet: the job ends, naming the reason.
  local none=$work/nonfinite_none_$ranks
  rm -rf "$none"
  if PIC_TEST_NONFINITE_AT=$last:1,2 pretrain "$none" --max-steps 6 --nonfinite-skip-limit 2 \
    > "$log" 2>&1; then
    fail "the run without a checkpoint to go back to did not fail"
  fi
  grep -q "2 steps in a row (1..2) had non-finite loss or gradients, and .* holds no checkpoint to go back to" \
    "$log" || { cat "$log"; fail "no clear message without a checkpoint"; }
}

# The pid of rank R in the placement table of LOG.
rank_pid() { sed -n "s/^  rank *$2 .* pid \([0-9][0-9]*\) .*/\1/p" "$1"; }

# Conditions for the moment to kill: a few steps logged after the step-4 checkpoint, or a
# checkpoint being written (its temporary file exists) after an earlier one is complete.
in_a_step() { [[ -s $1/latest && $(wc -l < "$1/metrics.jsonl") -ge 6 ]]; }
in_a_checkpoint() { [[ -s $1/latest ]] && compgen -G "$1/.ckpt_*.h5.tmp" > /dev/null; }

# kill_rank_when NAME CONDITION FLAGS...: a long run, SIGKILL to rank 1 once CONDITION holds.
kill_rank_when() {
  local name=$1 condition=$2
  shift 2
  local out=$work/kill_${name}_$ranks log=$work/kill_${name}_log_$ranks.txt
  rm -rf "$out"
  pretrain_cmd "$out" --max-steps 100000 "$@"
  "${cmd[@]}" > "$log" 2>&1 &
  local pid=$! victim=""
  for _ in $(seq 1 6000); do
    [[ -z $victim ]] && victim=$(rank_pid "$log" 1)
    [[ -n $victim ]] && "$condition" "$out" && break
    sleep 0.01
  done
  "$condition" "$out" || { kill "$pid"; cat "$log"; fail "$name: the moment to kill never came"; }
  kill -KILL "$victim"
  local start rc=0
  start=$(date +%s.%N)
  # A job that hangs would hold this test until CTest's timeout: end it at 60 s instead.
  (sleep 60 && kill -KILL "$pid" 2> /dev/null) &
  local watchdog=$!
  wait "$pid" || rc=$?
  kill "$watchdog" 2> /dev/null || true
  local seconds
  seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  tail -n 5 "$log"
  echo "$name: rank 1 (pid $victim) killed; the job ended after $seconds s with status $rc"
  ((rc != 0)) || fail "$name: the job ended with status 0 after losing a rank"
  awk -v s="$seconds" 'BEGIN { exit !(s < 30) }' || fail "$name: $seconds s to end the job"

  # What latest names is a complete checkpoint, and the run resumes from it.
  local ckpt digits step
  ckpt=$(cat "$out/latest")
  digits=${ckpt#ckpt_}
  step=$((10#${digits%.h5}))
  if [[ $condition == in_a_checkpoint ]]; then
    # Killed mid-write: the temporary of a later step is left, latest names an earlier one.
    local tmp
    tmp=$(compgen -G "$out/.ckpt_*.h5.tmp" | sort | tail -n 1)
    [[ -n $tmp ]] || fail "$name: no temporary left: the kill missed the checkpoint write"
    digits=${tmp##*/.ckpt_}
    ((10#${digits%.h5.tmp} > step)) || fail "$name: $tmp is not newer than $ckpt"
  fi
  pretrain "$out" --max-steps $((step + 1)) --auto-resume > "$log.resume" 2>&1 ||
    { cat "$log.resume"; fail "$name: no resume after the kill"; }
  grep -q "resumed from .*$ckpt at step $step " "$log.resume" ||
    { cat "$log.resume"; fail "$name: did not resume from $ckpt"; }
}

check_kill() {
  kill_rank_when step in_a_step --save-every-steps 4
  # A checkpoint every step: most of the run is spent writing them.
  kill_rank_when checkpoint in_a_checkpoint --save-every-steps 1
}

check_damaged() {
  local out=$work/damaged_$ranks
  local log=$work/damaged_log_$ranks
  local every=(--max-steps 8 --save-every-steps 2 --keep-last 3)
  rm -rf "$out"

  # --keep-last 3 with a checkpoint every 2 steps: 4, 6 and 8 remain.
  pretrain "$out" "${every[@]}" > "$log.1"
  grep -q "checkpoint: removed .*ckpt_00000002.h5 (--keep-last 3)" "$log.1" || fail "no removal"
  [[ $(cd "$out" && echo ckpt_*.h5) == "ckpt_00000004.h5 ckpt_00000006.h5 ckpt_00000008.h5" ]] ||
    fail "--keep-last 3 left $(cd "$out" && echo ckpt_*.h5)"

  # Damaged classifier rows in the newest: the resume names the file and the dataset, falls
  # back to step 6 and replays steps 7 and 8 with the same losses.
  damage_dataset "$out/ckpt_00000008.h5" /model/sim_matrix
  pretrain "$out" "${every[@]}" --auto-resume > "$log.2" 2>&1 ||
    { cat "$log.2"; fail "no fallback"; }
  cat "$log.2"
  local damage="ckpt_00000008.h5 is damaged: 1 dataset(s) do not match their checksum"
  grep -q "warning: checkpoint .*$damage: /model/sim_matrix (crc32" "$log.2" ||
    fail "the damage was not reported"
  grep -q "falling back to the previous one, .*ckpt_00000006.h5" "$log.2" || fail "no fallback"
  grep -q "resumed from .*ckpt_00000006.h5 at step 6 " "$log.2" || fail "not resumed at step 6"
  diff <(losses "$out/metrics.jsonl" | sed -n 7,8p) <(losses "$out/metrics.jsonl" | sed -n 9,10p) ||
    fail "steps 7 and 8 after the fallback differ from the first run's"

  # --resume of a damaged file is refused (no fallback when a file was named).
  damage_dataset "$out/ckpt_00000004.h5" /model/encoder.conv1.weight
  if pretrain "$work/damaged_explicit_$ranks" --max-steps 8 --resume "$out/ckpt_00000004.h5" \
    > "$log.3" 2>&1; then
    fail "--resume of a damaged checkpoint was not refused"
  fi
  grep -q "ckpt_00000004.h5 is damaged: .*/model/encoder.conv1.weight" "$log.3" ||
    { cat "$log.3"; fail "the refusal does not name the file and the dataset"; }

  # A truncated newest file: skipped with a note, the run resumes from step 6.
  truncate -s $(($(stat -c %s "$out/ckpt_00000008.h5") / 2)) "$out/ckpt_00000008.h5"
  pretrain "$out" --max-steps 10 --save-every-steps 2 --keep-last 3 --auto-resume > "$log.4" 2>&1 ||
    { cat "$log.4"; fail "no resume past the truncated file"; }
  grep -q "names 'ckpt_00000008.h5', which is not usable: unreadable by HDF5" "$log.4" ||
    { cat "$log.4"; fail "the truncated file was not reported"; }
  grep -q "resumed from .*ckpt_00000006.h5 at step 6 " "$log.4" || fail "not resumed at step 6"
  [[ $(cat "$out/latest") == ckpt_00000010.h5 ]] || fail "latest is $(cat "$out/latest")"

  # Damaged HDF5 structure (bytes 200-260 of the file set to 0xff): reported by name,
  # without HDF5's error stack, and the run falls back to the previous checkpoint.
  head -c 61 /dev/zero | tr '\000' '\377' |
    dd of="$out/ckpt_00000010.h5" bs=1 seek=200 conv=notrunc status=none
  pretrain "$out" --max-steps 12 --save-every-steps 2 --auto-resume > "$log.5" 2>&1 ||
    { cat "$log.5"; fail "no resume past the file with a damaged structure"; }
  grep -q "ckpt_00000010.h5 is damaged: HDF5 cannot read its structure" "$log.5" ||
    { cat "$log.5"; fail "the damaged structure was not reported"; }
  grep -q "resumed from .*ckpt_00000008.h5 at step 8 " "$log.5" || fail "not resumed at step 8"
  ! grep -q "HDF5-DIAG" "$log.5" || fail "HDF5's error stack reached the log"
}

check_signal() {
  local out=$work/signal_$ranks
  rm -rf "$out"
  pretrain_cmd "$out" --max-steps 100000
  "${cmd[@]}" > "$work/signal_log_$ranks.txt" 2>&1 &
  local pid=$!
  for _ in $(seq 1 600); do
    [[ -s $out/metrics.jsonl ]] && break
    sleep 0.1
  done
  [[ -s $out/metrics.jsonl ]] || { kill "$pid"; fail "no step logged within 60 s"; }
  kill -USR1 "$pid"
  local rc=0
  wait "$pid" || rc=$?
  cat "$work/signal_log_$ranks.txt"
  [[ $rc -eq 75 ]] || fail "exit status $rc after SIGUSR1, expected 75"
  grep -q "stopped by signal after step" "$work/signal_log_$ranks.txt" || fail "no stop line"
  local ckpt
  ckpt=$(cat "$out/latest")
  local digits=${ckpt#ckpt_}
  local step=$((10#${digits%.h5}))
  ((step >= 1 && step < 100000)) || fail "unexpected checkpoint $ckpt"
  pretrain "$out" --max-steps $((step + 2)) --auto-resume > "$work/signal_resume_$ranks.txt"
  grep -q "at step $step " "$work/signal_resume_$ranks.txt" ||
    fail "the resumed run did not start at step $step"
}

case $mode in
  data) make_data ;;
  train | resume | sampled | baselines | reshard | damaged | signal | nonfinite | kill)
    ranks=$1
    shift
    mpiexec=("$@")
    "check_$mode"
    ;;
  *) fail "unknown mode $mode" ;;
esac
echo "OK: $mode"
