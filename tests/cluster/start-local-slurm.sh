#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine, for tests/workflow/test_slurm.py (see docs/cluster.md).
#
# Idempotent: installs slurm-wlm and munge with apt-get when they are missing, writes
# /etc/slurm/slurm.conf (the executor plugin strips SLURM_CONF from job steps, so the config
# must be at the default path), starts munged, slurmctld and slurmd unless they already run,
# and waits until `sinfo` shows the node up. Needs root, and apt-get (Debian/Ubuntu) when the
# packages are missing; exits non-zero with a message on stderr when it cannot work.
#
# There is no slurmdbd (no accounting), so `sacct` does not work here: job status comes from
# `squeue`, which keeps finished jobs for MinJobAge seconds (profiles/slurm sets
# slurm-status-command: squeue).
#
# Environment: SLURM_START_TIMEOUT (seconds to wait for the node, default 60).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

TIMEOUT="${SLURM_START_TIMEOUT:-60}"
CONF=/etc/slurm/slurm.conf
MARKER="# Written by fraudprep tests/cluster/start-local-slurm.sh"
LOG_DIR=/var/log/slurm
STATE_DIR=/var/lib/slurm/slurmctld
SPOOL_DIR=/var/lib/slurm/slurmd

die() {
    echo "start-local-slurm: $*" >&2
    exit 1
}

log() {
    echo "start-local-slurm: $*" >&2
}

[[ "$(id -u)" == 0 ]] || die "must run as root (installs packages, writes $CONF, starts daemons)"

# 1. Packages.
missing=()
for tool in slurmctld slurmd sinfo squeue sbatch munged; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
    command -v apt-get >/dev/null ||
        die "needs apt-get (Debian/Ubuntu) to install slurm-wlm and munge (missing: ${missing[*]})"
    log "installing slurm-wlm and munge (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null 2>&1 || {
        apt-get update -q >/dev/null 2>&1 || die "apt-get update failed"
        apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null ||
            die "apt-get install slurm-wlm munge failed"
    }
fi
for tool in slurmctld slurmd sinfo squeue sbatch munged; do
    command -v "$tool" >/dev/null || die "$tool still missing after installing slurm-wlm and munge"
done

# 2. slurm.conf for this one node.
if [[ -f "$CONF" ]] && ! grep -qxF "$MARKER" "$CONF"; then
    die "$CONF exists and was not written by this script; refusing to replace a real cluster's config"
fi
host="$(hostname -s)"
cpus="$(nproc)"
real_memory="$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -n 1)"
[[ -n "$real_memory" ]] || die "could not read RealMemory from 'slurmd -C'"

new_conf="$(
    cat <<EOF
$MARKER
# A one-node cluster for testing the workflow's SLURM profile. No accounting (no slurmdbd):
# job status comes from squeue, which keeps finished jobs for MinJobAge seconds.
ClusterName=fraudprep-local
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
MpiDefault=none
MailProg=/bin/true
StateSaveLocation=${STATE_DIR}
SlurmdSpoolDir=${SPOOL_DIR}
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=${LOG_DIR}/slurmctld.log
SlurmdLogFile=${LOG_DIR}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups needed (works in containers and VMs without a delegated cgroup tree).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
# Finished jobs stay visible to squeue (the status source here) for an hour.
MinJobAge=3600
AccountingStorageType=accounting_storage/none
# A plain-text record of every finished job, for debugging (sacct cannot read it).
JobCompType=jobcomp/filetxt
JobCompLoc=${LOG_DIR}/jobcomp.log
JobAcctGatherType=jobacct_gather/none
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${real_memory} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
)"

conf_changed=0
if [[ ! -f "$CONF" ]] || [[ "$(cat "$CONF")" != "$new_conf" ]]; then
    mkdir -p "$(dirname "$CONF")"
    printf '%s\n' "$new_conf" >"$CONF"
    conf_changed=1
    log "wrote $CONF (node $host, $cpus CPUs, ${real_memory} MB)"
fi

mkdir -p "$LOG_DIR" "$STATE_DIR" "$SPOOL_DIR"
chown slurm:slurm "$LOG_DIR" "$STATE_DIR"

running() { # pidfile
    [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

stop_pidfile() { # pidfile name
    if running "$1"; then
        log "stopping $2 (config changed)"
        kill "$(cat "$1")"
        for _ in $(seq 50); do
            running "$1" || return 0
            sleep 0.2
        done
        die "$2 did not stop"
    fi
}

# 3. munged.
if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating /etc/munge/munge.key"
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
fi
if ! running /run/munge/munged.pid; then
    install -d -o munge -g munge -m 0755 /run/munge
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged || die "munged failed to start (see /var/log/munge/munged.log)"
fi
for _ in $(seq 50); do
    munge -n </dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.2
done
munge -n </dev/null | unmunge >/dev/null 2>&1 || die "munge does not work (see /var/log/munge/munged.log)"

# 4. slurmctld and slurmd.
if ((conf_changed)); then
    stop_pidfile /run/slurmd.pid slurmd
    stop_pidfile /run/slurmctld.pid slurmctld
fi
if ! running /run/slurmctld.pid; then
    log "starting slurmctld"
    /usr/sbin/slurmctld || die "slurmctld failed to start (see $LOG_DIR/slurmctld.log)"
fi
for _ in $(seq 50); do
    scontrol ping 2>/dev/null | grep -q "is UP" && break
    sleep 0.2
done
if ! running /run/slurmd.pid; then
    log "starting slurmd"
    /usr/sbin/slurmd || die "slurmd failed to start (see $LOG_DIR/slurmd.log)"
fi

# 5. Wait for the node; a node left down or drained by an earlier run is resumed.
deadline=$((SECONDS + TIMEOUT))
state=""
while ((SECONDS < deadline)); do
    state="$(sinfo -h -n "$host" -o '%t' 2>/dev/null | head -n 1 || true)"
    case "$state" in
    idle | mix | alloc | comp)
        log "node $host is $state; partition debug is ready"
        exit 0
        ;;
    down* | drain* | drng* | fail*)
        scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true
        ;;
    esac
    sleep 1
done
die "node $host not idle after ${TIMEOUT}s (state '${state:-unknown}'); see $LOG_DIR/slurmctld.log and $LOG_DIR/slurmd.log"
