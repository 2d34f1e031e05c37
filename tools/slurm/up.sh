#!/usr/bin/env bash
# Bring up a single-node Slurm with accounting on this machine (root, no systemd). Idempotent.
# Facts behind each step: ../shared/notes/real-components.md. Undo with tools/slurm/down.sh.
set -euo pipefail

STATE=${YANEX_SLURM_STATE:-/var/lib/yanex-slurm}
CONF=/etc/slurm
HOST=$(hostname -s)

log() { echo "slurm-up: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
    echo "slurm-up: must run as root (it installs packages and starts daemons)" >&2
    exit 1
fi

install_packages() {
    local missing=()
    for cmd in slurmctld slurmd sinfo munged slurmdbd mariadbd; do
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Slurm, munge, slurmdbd and MariaDB (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge slurmdbd mariadb-server >/dev/null
}

alive() {  # alive PIDFILE: the process named in the pidfile runs (and is no zombie)
    local pid
    [ -s "$1" ] || return 1
    pid=$(cat "$1")
    [ -r "/proc/$pid/stat" ] || return 1
    [ "$(awk '{print $3}' "/proc/$pid/stat")" != Z ]
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local limit=$1 what=$2
    shift 2
    local end=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        if [ $SECONDS -ge $end ]; then
            log "timed out waiting for $what"
            return 1
        fi
        sleep 0.2
    done
}

resolve_host() {
    getent hosts "$HOST" >/dev/null || echo "127.0.0.1 $HOST" >>/etc/hosts
}

start_munge() {
    mkdir -p /run/munge
    chown munge:munge /run/munge
    chmod 755 /run/munge
    alive /run/munge/munged.pid && return 0
    [ -s /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || create-munge-key -f; }
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
    su -s /bin/sh munge -c "munged --force"
    wait_for 10 munged munge -n
}

start_mariadb() {
    local data=$STATE/mysql run=$STATE/mysqld
    mkdir -p "$run"
    chown mysql:mysql "$run"
    alive "$run/mariadb.pid" && return 0
    if [ ! -d "$data/mysql" ]; then
        mkdir -p "$data"
        chown mysql:mysql "$data"
        mariadb-install-db --user=mysql --datadir="$data" \
            --auth-root-authentication-method=socket --skip-test-db >/dev/null
    fi
    # in a session of its own, holding none of our descriptors (a caller's pipe stays free)
    (cd / && exec setsid mariadbd --user=mysql --datadir="$data" --skip-networking \
        --socket="$run/mysqld.sock" --pid-file="$run/mariadb.pid" \
        --log-error="$STATE/mariadb.log") </dev/null >/dev/null 2>&1 &
    wait_for 30 mariadbd mariadb --socket="$run/mysqld.sock" -e 'select 1'
}

write_configs() {
    local mem cpus
    mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
    cpus=$(nproc)
    mkdir -p "$CONF" "$STATE/spool/ctld" "$STATE/spool/d" "$STATE/log"
    cat >"$CONF/slurm.conf" <<CONFEOF
# Written by yanex tools/slurm/up.sh: a single-node cluster for tests.
ClusterName=yanex
SlurmctldHost=$HOST
SlurmUser=root
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
StateSaveLocation=$STATE/spool/ctld
SlurmdSpoolDir=$STATE/spool/d
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=$HOST
MinJobAge=300
KillWait=2
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
MaxArraySize=10001
NodeName=$HOST CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONFEOF
    cat >"$CONF/slurmdbd.conf" <<CONFEOF
# Written by yanex tools/slurm/up.sh.
AuthType=auth/munge
DbdHost=$HOST
SlurmUser=root
PidFile=$STATE/slurmdbd.pid
LogFile=$STATE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=root
StoragePort=3306
CONFEOF
    chmod 600 "$CONF/slurmdbd.conf"
    # slurmdbd connects to MariaDB through its socket: point the client library at ours.
    mkdir -p /etc/mysql/conf.d
    printf '[client]\nsocket=%s\n' "$STATE/mysqld/mysqld.sock" >/etc/mysql/conf.d/yanex-slurm.cnf
    ln -sf "$STATE/mysqld/mysqld.sock" /run/mysqld/mysqld.sock 2>/dev/null || {
        mkdir -p /run/mysqld && ln -sf "$STATE/mysqld/mysqld.sock" /run/mysqld/mysqld.sock
    }
}

start_slurmdbd() {
    alive "$STATE/slurmdbd.pid" || slurmdbd
    wait_for 60 "slurmdbd (sacctmgr list cluster)" sacctmgr -n list cluster
}

start_slurm() {
    alive "$STATE/slurmctld.pid" || slurmctld -i
    alive "$STATE/slurmd.pid" || slurmd
    wait_for 60 "an idle node (sinfo)" sh -c 'sinfo -h -o %t | grep -qx idle'
    wait_for 30 "sacct" sacct -n -X -S now
}

install_packages
resolve_host
start_munge
start_mariadb
write_configs
start_slurmdbd
start_slurm
log "ready: $(sinfo -h -o '%P %D %t %c CPUs')"
