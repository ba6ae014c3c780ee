#!/usr/bin/env bash
# A real one-node Slurm on this machine, for the sweep tests (test/sweep-slurm.test.ts).
# Needs root and Debian's slurm-wlm and munge (`install` gets them with apt-get).
#   bash scripts/slurm-local.sh install   apt-get install slurm-wlm munge (if missing)
#   bash scripts/slurm-local.sh start     munge key, /etc/slurm/slurm.conf, munged, slurmctld, slurmd;
#                                         waits until the node is idle
#   bash scripts/slurm-local.sh stop      stops what `start` started, removes the config it wrote
# State, logs and pid files: $SLURM_LOCAL_DIR (default /tmp/stoopt-slurm).
set -euo pipefail
dir=${SLURM_LOCAL_DIR:-/tmp/stoopt-slurm}
conf=/etc/slurm/slurm.conf
marker="# written by stoopt scripts/slurm-local.sh"
host=$(hostname -s)

say() { echo "slurm-local: $*" >&2; }

install() {
  if command -v sbatch >/dev/null && command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
    return
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq slurm-wlm munge >/dev/null
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  [ "$(id -u)" = 0 ] || { say "needs root"; exit 1; }
  command -v slurmctld >/dev/null || { say "slurm-wlm is not installed (run: $0 install)"; exit 1; }
  if [ -f "$conf" ] && ! grep -qF "$marker" "$conf"; then
    say "$conf exists and was not written by this script; not touching this machine's Slurm"
    exit 1
  fi
  mkdir -p "$dir/ctld" "$dir/spool"
  # munge: a key owned by munge, mode 0400; its run folder owned by munge
  mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
  if [ ! -s /etc/munge/munge.key ]; then
    if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key --force >/dev/null 2>&1 || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    else dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; fi
  fi
  chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
  chmod 0700 /etc/munge
  chmod 0400 /etc/munge/munge.key
  chmod 0755 /run/munge
  if ! pid_alive /run/munge/munged.pid; then
    runuser -u munge -- /usr/sbin/munged --force
    echo started > "$dir/munged.ours"
  fi
  mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
  cpus=$(nproc)
  mkdir -p /etc/slurm
  cat > "$conf" <<EOF
$marker
ClusterName=stoopt
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=600
KillWait=10
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  if ! pid_alive "$dir/slurmctld.pid"; then
    rm -rf "${dir:?}/ctld/"* "${dir:?}/spool/"*   # a fresh cluster: no jobs left from an earlier start
    /usr/sbin/slurmctld -i
  fi
  pid_alive "$dir/slurmd.pid" || /usr/sbin/slurmd
  for _ in $(seq 1 60); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
    case "$state" in
      idle*|mixed*|allocated*) say "node $host is $state"; return ;;
      down*|drain*) scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
    esac
    sleep 1
  done
  say "the node did not become idle (state '${state:-none}'); logs in $dir"
  tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  exit 1
}

stop_pid() {
  local f=$1 name=$2
  if pid_alive "$f"; then
    local p
    p=$(cat "$f")
    kill "$p" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null || true
    say "stopped $name ($p)"
  fi
}

stop() {
  if command -v scancel >/dev/null && pid_alive "$dir/slurmctld.pid"; then
    scancel --quiet --user=root 2>/dev/null || true
    for _ in $(seq 1 30); do [ -z "$(squeue -h -t R,CG 2>/dev/null)" ] && break; sleep 1; done
  fi
  stop_pid "$dir/slurmd.pid" slurmd
  stop_pid "$dir/slurmctld.pid" slurmctld
  if [ -f "$dir/munged.ours" ]; then
    stop_pid /run/munge/munged.pid munged
    rm -f "$dir/munged.ours"
  fi
  if [ -f "$conf" ] && grep -qF "$marker" "$conf"; then rm -f "$conf"; fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
