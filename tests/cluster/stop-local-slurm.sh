#!/usr/bin/env bash
# Stop the one-node SLURM cluster started by start-local-slurm.sh: cancels its jobs, then stops
# slurmd, slurmctld and munged by their pid files, then removes the slurm.conf it wrote.
# Leaves packages and the controller's state in place (start-local-slurm.sh reuses them).
#
# Why remove the config: with a config naming a controller that is not running, every
# `scontrol` call retries for about 9 s, and the SLURM executor plugin runs one when it is
# imported, so every later `snakemake` command on this machine would start 9 s slower. With
# no config, scontrol fails at once. start-local-slurm.sh writes it again.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

CONF=/etc/slurm/slurm.conf
MARKER="# Written by fraudprep tests/cluster/start-local-slurm.sh"

die() {
    echo "stop-local-slurm: $*" >&2
    exit 1
}

[[ "$(id -u)" == 0 ]] || die "must run as root"
if [[ -f "$CONF" ]] && ! grep -qxF "$MARKER" "$CONF"; then
    die "$CONF was not written by start-local-slurm.sh; not stopping a real cluster"
fi

stop() { # pidfile name
    local pidfile="$1" name="$2" pid
    [[ -f "$pidfile" ]] || return 0
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
        echo "stop-local-slurm: stopping $name ($pid)" >&2
        kill "$pid"
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
}

if command -v scancel >/dev/null && [[ -f /run/slurmctld.pid ]]; then
    scancel --partition=debug >/dev/null 2>&1 || true
fi
stop /run/slurmd.pid slurmd
stop /run/slurmctld.pid slurmctld
stop /run/munge/munged.pid munged
# Only our own config is removed: the marker check above stopped us before touching another.
rm -f "$CONF"
