# shellcheck shell=bash
# Shared by the pic sbatch scripts (sourced, not run): where the programs are, how ranks are
# launched, and the requeue-on-status logic of pre-training. docs/slurm.md explains the
# settings; every one comes from the environment, which sbatch passes on to the job.
#
#   PIC_BIN        folder with pic-prep, pic-pretrain, pic-linear: an install's bin/ or a
#                  build tree (its src/apps/ and data_prep/ are searched too). Unset: $PATH.
#   PIC_LAUNCHER   the command that starts one program on every task of the job, split on
#                  spaces. Default "srun --mpi=pmix" (one rank per task; Debian's and most
#                  sites' OpenMPI speak PMIx). "mpirun" works too: inside an allocation
#                  OpenMPI takes the task count and hosts from Slurm.

pic_log() { echo "[$(date '+%F %T')] ${SLURM_JOB_NAME:-pic}: $*"; }
pic_fail() {
  echo "${SLURM_JOB_NAME:-pic}: error: $*" >&2
  exit 1
}

# Prints the path of pic program $1, or fails naming where it looked.
pic_program() {
  local name=$1 dir
  if [[ -z ${PIC_BIN:-} ]]; then
    command -v "$name" || pic_fail "$name is not on PATH; set PIC_BIN to the folder that holds it"
    return
  fi
  for dir in "$PIC_BIN" "$PIC_BIN/src/apps" "$PIC_BIN/data_prep"; do
    [[ -x $dir/$name ]] && { echo "$dir/$name"; return; }
  done
  pic_fail "$name not found in PIC_BIN=$PIC_BIN (nor its src/apps/ or data_prep/)"
}

# The launcher as an array (word-split on purpose: "srun --mpi=pmix --cpu-bind=cores").
read -r -d '' -a pic_launcher <<< "${PIC_LAUNCHER:-srun --mpi=pmix}" || true
((${#pic_launcher[@]} > 0)) || pic_fail "PIC_LAUNCHER is empty"

pic_log "job ${SLURM_JOB_ID:-?} (restart ${SLURM_RESTART_COUNT:-0}) on ${SLURM_JOB_NODELIST:-?}," \
  "${SLURM_NTASKS:-?} tasks, launcher: ${pic_launcher[*]}"

# Runs "launcher PROGRAM ARGS..." and returns its status.
pic_launch() {
  pic_log "${pic_launcher[*]} $*"
  "${pic_launcher[@]}" "$@"
}

# pic_launch_requeueable PROGRAM ARGS...: pic_launch for a program that stops early with
# status 75 (src/train/exit_status.h) after a checkpoint. In between, the batch shell
# forwards the warning signal (sbatch --signal=B:USR1@T) to the launcher, which passes it
# to every rank; srun and mpirun both forward USR1. When the program ends with 75 and the
# stop came from that warning, the job is requeued and the next run resumes by itself
# (--auto-resume). A SIGTERM to the batch shell means scancel, a preemption or the time
# limit itself: Slurm has decided, so the job is not requeued here (a preemption in
# PreemptMode=REQUEUE is requeued by Slurm; a cancel must stay cancelled). The ranks get
# that SIGTERM from Slurm directly and checkpoint within KillWait if they can.
pic_launch_requeueable() {
  local warned=0 terminated=0 interrupted=0 launcher_pid="" status="" rc
  trap 'warned=1; interrupted=1; pic_log "warning signal: asking the ranks to checkpoint and stop"
        [[ -z $launcher_pid ]] || kill -USR1 "$launcher_pid" 2> /dev/null || true' USR1
  trap 'terminated=1; interrupted=1; pic_log "SIGTERM: waiting for the ranks to stop"' TERM
  pic_log "${pic_launcher[*]} $*"
  "${pic_launcher[@]}" "$@" &
  launcher_pid=$!
  # `wait` returns early (status > 128) when a trapped signal arrives: wait again then. A
  # repeated wait answers 127 if the launcher had ended already: keep the status we have.
  while true; do
    interrupted=0
    rc=0
    wait "$launcher_pid" || rc=$?
    ((rc == 127)) && [[ -n $status ]] && break
    status=$rc
    ((interrupted && rc > 128)) || break
  done
  trap - USR1 TERM
  if ((status == 75)); then
    if ((warned && !terminated)); then
      pic_log "stopped early after a checkpoint (status 75): requeueing job $SLURM_JOB_ID"
      scontrol requeue "$SLURM_JOB_ID" || pic_log "scontrol requeue failed: resubmit by hand"
    else
      pic_log "stopped early after a checkpoint (status 75), not requeued: the stop was" \
        "not the warning signal; resubmit to continue (--auto-resume)"
    fi
  elif ((status != 0)); then
    pic_log "failed with status $status"
  fi
  return "$status"
}
