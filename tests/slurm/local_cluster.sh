# shellcheck shell=bash
# A one-node Slurm cluster on localhost for tests, started from scratch: munged, slurmctld and
# slurmd from Debian's munge and slurm-wlm, every file (key, sockets, state, spool, logs,
# slurm.conf) in one folder, every port on 127.0.0.1 and picked free. Runs as root (CI does);
# nothing outside the folder is read or written, so it runs next to a site's own Slurm.
#
#   source tests/slurm/local_cluster.sh
#   cluster_start DIR     # exports SLURM_CONF; returns when the node is idle
#   sbatch ... / squeue ... / scontrol ...
#   cluster_stop          # also from an EXIT trap: stops what cluster_start started
#   cluster_logs          # the daemons' logs, for a failure report
#
# Why each setting: SlurmUser=root because the test runs as root and owns the folder;
# proctrack/linuxproc and task/none need no cgroups (containers often have none);
# NoInAddrAny and NoCtldInAddrAny bind every daemon and srun to what the host name resolves
# to, and SlurmctldHost / NodeAddr make that 127.0.0.1; AuthInfo points slurm at our munged's
# socket instead of the system one. JobRequeue=1 lets batch jobs be requeued by default.

cluster_dir=""

# Prints a TCP port that is free on 127.0.0.1 right now.
cluster_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cluster_missing_tools() {
  local tool missing=()
  for tool in munged mungekey slurmctld slurmd sbatch squeue scontrol scancel srun python3; do
    command -v "$tool" > /dev/null || missing+=("$tool")
  done
  echo "${missing[*]}"
}

cluster_logs() {
  [[ -n $cluster_dir ]] || return 0
  local log
  for log in munged.log slurmctld.log slurmd.log; do
    [[ -f $cluster_dir/$log ]] || continue
    echo "----- $cluster_dir/$log (last 40 lines)"
    tail -n 40 "$cluster_dir/$log"
  done
}

# Stops a daemon named by its pid file: TERM, then KILL after 10 s.
cluster_stop_daemon() {
  local pid_file=$1 pid
  [[ -f $pid_file ]] || return 0
  pid=$(cat "$pid_file")
  [[ -n $pid ]] && kill -0 "$pid" 2> /dev/null || return 0
  kill -TERM "$pid" 2> /dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2> /dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2> /dev/null || true
}

cluster_stop() {
  [[ -n $cluster_dir ]] || return 0
  # Jobs first, so that no step outlives slurmd: cancel, then wait for the queue to empty.
  if [[ -f $cluster_dir/slurmctld.pid ]]; then
    scancel --quiet --user root 2> /dev/null || true
    for _ in $(seq 1 200); do
      [[ -z $(squeue --noheader --user root 2> /dev/null) ]] && break
      sleep 0.1
    done
  fi
  cluster_stop_daemon "$cluster_dir/slurmd.pid"
  cluster_stop_daemon "$cluster_dir/slurmctld.pid"
  cluster_stop_daemon "$cluster_dir/munged.pid"
  cluster_dir=""
}

cluster_write_conf() {
  local dir=$1 node=$2 hardware=$3 ctld_port=$4 slurmd_port=$5
  cat > "$dir/slurm.conf" << EOF
ClusterName=pictest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$dir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 ${hardware}State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  : > "$dir/plugstack.conf"
}

# cluster_start DIR: starts the three daemons with their files in DIR (created; emptied
# first) and waits until the node accepts jobs.
cluster_start() {
  local dir=$1
  local missing
  missing=$(cluster_missing_tools)
  [[ -z $missing ]] || { echo "local_cluster: missing $missing (apt install slurm-wlm munge)" >&2; return 1; }
  # Settings of an outer Slurm (a test run inside a job) must not leak into this one.
  local name
  for name in $(compgen -v SLURM_) $(compgen -v SBATCH_) $(compgen -v SRUN_) $(compgen -v SALLOC_); do
    unset "$name"
  done
  rm -rf "$dir" && mkdir -p "$dir/state" "$dir/spool"
  dir=$(cd "$dir" && pwd)
  cluster_dir=$dir
  # The node is named after the host and described as slurmd sees the hardware (`slurmd -C`:
  # CPUs, sockets, cores, threads), so that slurmd accepts the configuration. (`nproc` would
  # follow OMP_NUM_THREADS.)
  local node hardware
  node=$(hostname -s)
  hardware=$(slurmd -C | head -n 1 | tr ' ' '\n' |
    grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=' | tr '\n' ' ')
  [[ $hardware == CPUs=* ]] || { echo "local_cluster: slurmd -C printed no CPU count" >&2; return 1; }

  mungekey --create --keyfile "$dir/munge.key" > /dev/null
  chmod 600 "$dir/munge.key"
  munged --force --socket "$dir/munge.socket" --key-file "$dir/munge.key" \
    --pid-file "$dir/munged.pid" --log-file "$dir/munged.log" --seed-file "$dir/munged.seed" ||
    { echo "local_cluster: munged did not start" >&2; return 1; }

  cluster_write_conf "$dir" "$node" "$hardware" "$(cluster_free_port)" "$(cluster_free_port)"
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -i || { echo "local_cluster: slurmctld did not start" >&2; return 1; }
  slurmd || { echo "local_cluster: slurmd did not start" >&2; return 1; }

  local state=""
  for _ in $(seq 1 300); do
    state=$(sinfo --noheader --nodes "$node" --format %T 2> /dev/null || true)
    [[ $state == idle ]] && return 0
    sleep 0.1
  done
  echo "local_cluster: node $node is '$state' after 30 s" >&2
  return 1
}
