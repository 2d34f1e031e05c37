#!/usr/bin/env bash
# Take down what tools/slurm/up.sh started (slurmd, slurmctld, slurmdbd, mariadbd, munged).
# Idempotent; the packages and the accounting database stay for the next bring-up.
set -uo pipefail

STATE=${YANEX_SLURM_STATE:-/var/lib/yanex-slurm}

running() {  # running PID: alive and not a zombie (PID 1 here reaps late)
    [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat")" != Z ]
}

stop() {  # stop PIDFILE NAME
    local pidfile=$1 name=$2 pid
    [ -s "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if running "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 100); do
            running "$pid" || break
            sleep 0.1
        done
        if running "$pid"; then
            echo "slurm-down: $name ($pid) still running after 10 s: SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    rm -f "$pidfile"
}

command -v scancel >/dev/null 2>&1 && [ -s "$STATE/slurmctld.pid" ] && scancel --user=root 2>/dev/null
stop "$STATE/slurmd.pid" slurmd
stop "$STATE/slurmctld.pid" slurmctld
stop "$STATE/slurmdbd.pid" slurmdbd
stop "$STATE/mysqld/mariadb.pid" mariadbd
stop /run/munge/munged.pid munged
echo "slurm-down: stopped" >&2
