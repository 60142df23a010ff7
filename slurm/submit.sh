#!/usr/bin/env bash
# Submits pic's pipeline as a chain of Slurm jobs: conversion (prep.sbatch), pre-training
# (pretrain.sbatch) and linear evaluation (linear.sbatch), each starting only when the one
# before it succeeded (--dependency=afterok). Run with --help for the options.
set -euo pipefail
slurm_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  cat << 'EOF'
Usage: slurm/submit.sh [OPTIONS]

Submits up to three jobs, each after the previous one succeeded (--dependency=afterok):
  prep      SOURCE images -> DATA/train.h5, DATA/val.h5   (slurm/prep.sbatch, pic-prep)
  pretrain  DATA -> OUTPUT (checkpoints, metrics.jsonl)    (slurm/pretrain.sbatch)
  linear    DATA + OUTPUT's latest checkpoint -> LINEAR_OUTPUT/result.json
Pre-training is requeued by itself when the time limit nears (docs/slurm.md).

Every option can also be set in the environment as PIC_<NAME>, the name in upper case with
dashes as underscores (--gpus-per-node 8 or PIC_GPUS_PER_NODE=8); the command line wins.
Values listed as FLAGS are split on white space (no quoting). Unset resources keep the
defaults written in the #SBATCH lines of each script.

What and where:
  --source DIR            images to convert; without it there is no prep job and DATA must
                          already hold train.h5 and val.h5
  --prep-format F         folder (default), zip or idx: what SOURCE holds (prep.sbatch)
  --data DIR              dataset files (default ./data)
  --output DIR            pre-training output: checkpoints, config.json, metrics.jsonl
                          (default ./pretrain)
  --linear-output DIR     linear evaluation output (default OUTPUT/linear)
  --logs DIR              job logs, one per job: %x-%j.out (default ./logs)
  --steps LIST            which jobs, comma-separated (default prep,pretrain,linear, or
                          pretrain,linear without --source)
  --after JOBID           the first job waits for JOBID to succeed
Programs:
  --bin DIR               folder with pic-prep, pic-pretrain, pic-linear: an install's bin/
                          or a build tree (default: this checkout's build/ if it has them,
                          else $PATH on the nodes)
  --launcher CMD          how ranks start (default "srun --mpi=pmix"; e.g. "mpirun")
  --pretrain-recipe FLAGS
                          pic-pretrain recipe (default: the PIC ImageNet recipe in
                          pretrain.sbatch; "" for pic-pretrain's own defaults)
  --prep-flags FLAGS      extra pic-prep flags (e.g. "--max-side 256 --jpeg-quality 90")
  --pretrain-flags FLAGS  extra pic-pretrain flags, after the recipe (the last value wins)
  --linear-flags FLAGS    extra pic-linear flags
Slurm:
  --partition P, --account A, --qos Q      for every job
  --nodes N               pre-training nodes
  --gpus-per-node G       pre-training and linear evaluation; one rank per GPU, so the
                          tasks per node follow unless --tasks-per-node is given
  --tasks-per-node T      ranks per node (pre-training and linear evaluation)
  --cpus-per-task C       loader threads per rank (pre-training and linear evaluation)
  --prep-tasks N          pic-prep ranks (default 1)
  --prep-cpus C           pic-prep threads per rank
  --prep-time T, --pretrain-time T, --linear-time T     time limits (sbatch --time)
  --signal-seconds S      warn pre-training S seconds before its time limit (default 300)
  --sbatch-flags FLAGS    extra sbatch options for every job
  --prep-sbatch-flags FLAGS, --pretrain-sbatch-flags FLAGS, --linear-sbatch-flags FLAGS
Other:
  --dry-run               print the sbatch commands, submit nothing
  -h, --help              this text

Example (4 nodes x 4 GPUs, ImageNet folder):
  slurm/submit.sh --source /data/imagenet --data /scratch/in1k --output /scratch/pic \
    --partition gpu --account proj42 --nodes 4 --gpus-per-node 4 --pretrain-time 24:00:00
EOF
}

die() {
  echo "submit.sh: $*" >&2
  echo "Try slurm/submit.sh --help" >&2
  exit 2
}

# Options that take a value, as variable names: --gpus-per-node <-> gpus_per_node, read
# first from PIC_GPUS_PER_NODE.
names=(source prep_format data output linear_output logs steps after bin launcher pretrain_recipe
  prep_flags pretrain_flags linear_flags partition account qos nodes gpus_per_node
  tasks_per_node cpus_per_task prep_tasks prep_cpus prep_time pretrain_time linear_time
  signal_seconds sbatch_flags prep_sbatch_flags pretrain_sbatch_flags linear_sbatch_flags)
declare -A value is_set
for name in "${names[@]}"; do
  env_name=PIC_${name^^}
  if [[ -n ${!env_name+x} ]]; then
    value[$name]=${!env_name}
    is_set[$name]=1
  fi
done

dry_run=0
while (($#)); do
  arg=$1
  shift
  case $arg in
    -h | --help) usage; exit 0 ;;
    --dry-run) dry_run=1; continue ;;
    --*=*) option=${arg%%=*} given=${arg#*=} ;;
    --*)
      option=$arg
      (($#)) || die "$option needs a value"
      given=$1
      shift
      ;;
    *) die "unexpected argument '$arg'" ;;
  esac
  name=${option#--}
  name=${name//-/_}
  [[ " ${names[*]} " == *" $name "* ]] || die "unknown option $option"
  value[$name]=$given
  is_set[$name]=1
done

get() { echo "${value[$1]:-${2:-}}"; }
has() { [[ -n ${is_set[$1]:-} ]]; }
absolute() { realpath -m -- "$1"; }
# split VAR TEXT: TEXT's words (spaces, tabs or newlines between them) into the array VAR.
split() { read -r -d '' -a "$1" <<< "$2" || true; }

# Where and what.
data=$(absolute "$(get data ./data)")
output=$(absolute "$(get output ./pretrain)")
linear_output=$(absolute "$(get linear_output "$output/linear")")
logs=$(absolute "$(get logs ./logs)")
default_steps=pretrain,linear
has source && default_steps=prep,pretrain,linear
steps=",$(get steps $default_steps),"
for step in ${steps//,/ }; do
  [[ $step == prep || $step == pretrain || $step == linear ]] ||
    die "--steps: unknown job '$step' (prep, pretrain, linear)"
done
[[ $steps != *,prep,* ]] || has source || die "the prep job needs --source DIR"

# Programs, and the settings the jobs read from their environment (sbatch --export=ALL).
bin=$(get bin)
if [[ -z $bin && -x $slurm_dir/../build/src/apps/pic-pretrain ]]; then bin=$slurm_dir/../build; fi
export PIC_SLURM_DIR=$slurm_dir
if [[ -n $bin ]]; then export PIC_BIN; PIC_BIN=$(absolute "$bin"); else unset PIC_BIN; fi
if has launcher; then export PIC_LAUNCHER=${value[launcher]}; fi
if has pretrain_recipe; then export PIC_PRETRAIN_RECIPE=${value[pretrain_recipe]}; fi
export PIC_PREP_FORMAT
PIC_PREP_FORMAT=$(get prep_format folder)
[[ $PIC_PREP_FORMAT =~ ^(folder|zip|idx)$ ]] || die "--prep-format: folder, zip or idx"

# sbatch options of every job, then of each.
common=(--parsable --export=ALL --output="$logs/%x-%j.out")
has partition && common+=(--partition="${value[partition]}")
has account && common+=(--account="${value[account]}")
has qos && common+=(--qos="${value[qos]}")
split extra "$(get sbatch_flags)"
common+=("${extra[@]}")

ranks=()
if has gpus_per_node; then
  ranks+=(--gpus-per-node="${value[gpus_per_node]}")
  # One rank per GPU; no GPU means one rank per task given, or the script's default.
  if ! has tasks_per_node && ((value[gpus_per_node] > 0)); then
    ranks+=(--ntasks-per-node="${value[gpus_per_node]}")
  fi
fi
has tasks_per_node && ranks+=(--ntasks-per-node="${value[tasks_per_node]}")
has cpus_per_task && ranks+=(--cpus-per-task="${value[cpus_per_task]}")

prep_opts=(--ntasks="$(get prep_tasks 1)")
has prep_cpus && prep_opts+=(--cpus-per-task="${value[prep_cpus]}")
has prep_time && prep_opts+=(--time="${value[prep_time]}")
split extra "$(get prep_sbatch_flags)"
prep_opts+=("${extra[@]}")

pretrain_opts=("${ranks[@]}" --signal="B:USR1@$(get signal_seconds 300)")
has nodes && pretrain_opts+=(--nodes="${value[nodes]}")
has pretrain_time && pretrain_opts+=(--time="${value[pretrain_time]}")
split extra "$(get pretrain_sbatch_flags)"
pretrain_opts+=("${extra[@]}")

linear_opts=("${ranks[@]}")
has linear_time && linear_opts+=(--time="${value[linear_time]}")
split extra "$(get linear_sbatch_flags)"
linear_opts+=("${extra[@]}")

prep_flags=() pretrain_flags=() linear_flags=()
split prep_flags "$(get prep_flags)"
split pretrain_flags "$(get pretrain_flags)"
split linear_flags "$(get linear_flags)"

# submit NAME SBATCH-OPTIONS... -- SCRIPT ARGS...: prints "NAME JOBID", chains on the last.
previous=$(get after)
submit() {
  local name=$1
  shift
  local opts=()
  while [[ $1 != -- ]]; do opts+=("$1"); shift; done
  shift
  [[ -n $previous ]] && opts+=(--dependency="afterok:$previous")
  local cmd=(sbatch "${common[@]}" "${opts[@]}" "$@")
  if ((dry_run)); then
    printf '%q ' "${cmd[@]}"
    echo
    previous="<$name>"
    return
  fi
  local id
  id=$("${cmd[@]}")
  id=${id%%;*}
  echo "$name $id  log: $logs/pic-$name-$id.out"
  previous=$id
}

if ((dry_run)); then
  echo "# the jobs' environment: $(env | grep -E '^PIC_(SLURM_DIR|BIN|LAUNCHER|PRETRAIN_RECIPE|PREP_FORMAT)=' |
    sort | tr '\n' ' ')"
else
  mkdir -p "$logs"
fi
if [[ $steps == *,prep,* ]]; then
  submit prep "${prep_opts[@]}" -- "$slurm_dir/prep.sbatch" "$(absolute "${value[source]}")" \
    "$data" "${prep_flags[@]}"
fi
if [[ $steps == *,pretrain,* ]]; then
  submit pretrain "${pretrain_opts[@]}" -- "$slurm_dir/pretrain.sbatch" "$data" "$output" \
    "${pretrain_flags[@]}"
fi
if [[ $steps == *,linear,* ]]; then
  submit linear "${linear_opts[@]}" -- "$slurm_dir/linear.sbatch" "$data" "$output" \
    "$linear_output" "${linear_flags[@]}"
fi
