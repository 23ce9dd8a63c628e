#!/usr/bin/env bash
# Bring up a real single-node SLURM cluster (with slurmdbd accounting) on localhost.
#
#   bash .ci/slurm/up.sh          # install if needed, configure, start, wait until usable
#   source "$SPACED_KD_SLURM_DIR/env.sh"   # or: eval "$(bash .ci/slurm/up.sh | tail -n1)"
#   bash .ci/slurm/down.sh        # stop everything (add --purge to delete the state dir)
#
# Idempotent: when the cluster is already up it only checks it and prints the export line.
# Runs as root without an init system (every daemon is started by hand, in this order):
#   munged -> mariadbd -> slurmdbd -> `sacctmgr add cluster` -> slurmctld -> slurmd
#
# Environment:
#   SPACED_KD_SLURM_DIR      state dir for configs, logs, spool, database (default /tmp/spaced-kd-slurm)
#   SPACED_KD_SLURM_NO_INSTALL=1   never call apt-get (exit 3 when packages are missing)
#   SPACED_KD_SLURM_PORT_BASE      first of the ports used (default 16817: ctld, +1 slurmd, +2 dbd, +3 mariadb)
#
# Exit status: 0 up; 3 packages missing and could not be installed; 1 anything else.
# The last line on stdout is always `export SLURM_CONF=...` on success; the same line is
# written to $SPACED_KD_SLURM_DIR/env.sh.
set -euo pipefail

STATE="${SPACED_KD_SLURM_DIR:-/tmp/spaced-kd-slurm}"
PORT_BASE="${SPACED_KD_SLURM_PORT_BASE:-16817}"
CTLD_PORT=$PORT_BASE
SLURMD_PORT=$((PORT_BASE + 1))
DBD_PORT=$((PORT_BASE + 2))
DB_PORT=$((PORT_BASE + 3))
CLUSTER=spacedkd
NODE=localhost
DB_NAME=spaced_kd_slurm_acct
DB_USER=slurm
DB_PASS=spacedkd-slurm-ci   # local, loopback-only test database

ETC="$STATE/etc"
RUN="$STATE/run"
LOG="$STATE/log"
SPOOL="$STATE/spool"
DBDIR="$STATE/mysql"
DBRUN="$STATE/mysql-run"   # socket + pid: must be writable by the mysql user
export SLURM_CONF="$ETC/slurm.conf"

T0=${EPOCHREALTIME/./}
log() {
    local dt=$(( ${EPOCHREALTIME/./} - T0 ))
    printf '[slurm-up %3d.%01ds] %s\n' $((dt / 1000000)) $((dt / 100000 % 10)) "$*" >&2
}
die() { log "ERROR: $1"; exit "${2:-1}"; }

if [ "$(id -u)" != 0 ]; then
    die "must run as root (daemons run as root / munge / mysql)"
fi
mkdir -p "$STATE"

# --------------------------------------------------------------------------- packages
need_pkgs() {
    local missing=()
    command -v slurmctld >/dev/null 2>&1 || missing+=(slurm-wlm)
    command -v slurmd >/dev/null 2>&1 || missing+=(slurm-wlm)
    command -v munged >/dev/null 2>&1 || missing+=(munge)
    command -v slurmdbd >/dev/null 2>&1 || missing+=(slurmdbd)
    command -v mariadbd >/dev/null 2>&1 || missing+=(mariadb-server)
    command -v mariadb >/dev/null 2>&1 || missing+=(mariadb-client)
    printf '%s\n' "${missing[@]}" | sort -u | grep . || true
}

missing=$(need_pkgs)
if [ -n "$missing" ]; then
    if [ "${SPACED_KD_SLURM_NO_INSTALL:-0}" = 1 ]; then
        die "missing packages: $(echo $missing) (SPACED_KD_SLURM_NO_INSTALL=1)" 3
    fi
    command -v apt-get >/dev/null 2>&1 || die "missing packages $(echo $missing) and no apt-get" 3
    log "installing slurm-wlm munge slurmdbd mariadb-server (missing: $(echo $missing))"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get update -qq >"$STATE/apt.log" 2>&1; then
        tail -n 30 "$STATE/apt.log" >&2 || true
        die "apt-get update failed" 3
    fi
    if ! apt-get install -y -qq --no-install-recommends slurm-wlm munge slurmdbd mariadb-server mariadb-client \
            >>"$STATE/apt.log" 2>&1; then
        tail -n 30 "$STATE/apt.log" >&2 || true
        die "apt-get install failed" 3
    fi
    missing=$(need_pkgs)
    [ -z "$missing" ] || die "still missing after install: $(echo $missing)" 3
    log "packages installed"
fi

# --------------------------------------------------------------------------- helpers
pid_alive() {  # pidfile [command name] -> 0 when the process in it is alive (and is that command)
    local pid
    [ -s "$1" ] || return 1
    pid=$(cat "$1")
    kill -0 "$pid" 2>/dev/null || return 1
    # a stale pid file (daemon killed, e.g. when a CI machine's processes were ended) may name a
    # pid that now belongs to something else
    [ -z "${2:-}" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

wait_for() {  # seconds description command...
    local secs=$1 what=$2; shift 2
    local deadline=$(( $(date +%s) + secs ))
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            return 1
        fi
        sleep 0.2
    done
}

# A daemon must not keep any of our caller's descriptors: a caller that captures our output (a
# test, CI) would otherwise wait for pipes that stay open as long as the daemon runs.
close_inherited_fds() {  # in a subshell that is about to exec a daemon
    local fd
    for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        case $fd in 0 | 1 | 2) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
    done
}

# start DAEMON in the background, in its own session, stdio to a log file
spawn() {  # logfile cmd...
    local logf=$1; shift
    ( close_inherited_fds; exec setsid "$@" </dev/null >>"$logf" 2>&1 ) &
}

node_idle() {
    sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'
}
sacct_ok() {
    local out
    out=$(sacct -n -X -S now-1hour -o JobID 2>&1) || return 1
    # "accounting storage is disabled" comes with exit status 0: reject it
    ! grep -qi 'disabled' <<<"$out"
}
munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
db_ok() { mariadb-admin --no-defaults --socket="$DBRUN/mysqld.sock" -u root ping >/dev/null 2>&1; }
dbd_ok() { sacctmgr -n -P list cluster format=cluster >/dev/null 2>&1; }

print_env() {
    echo "export SLURM_CONF=$SLURM_CONF" >"$STATE/env.sh"
    echo "export SLURM_CONF=$SLURM_CONF"
}

# --------------------------------------------------------------------------- fast path
if [ -f "$SLURM_CONF" ] && pid_alive "$RUN/slurmctld.pid" slurmctld && pid_alive "$RUN/slurmd.pid" slurmd \
        && pid_alive "$RUN/slurmdbd.pid" slurmdbd && db_ok && munge_ok && node_idle && sacct_ok; then
    log "already up ($STATE)"
    print_env
    exit 0
fi

mkdir -p "$STATE"
chmod 755 "$STATE"
mkdir -p "$ETC" "$RUN" "$LOG" "$SPOOL/ctld" "$SPOOL/d"

# --------------------------------------------------------------------------- configs
# Node hardware as slurmd itself sees it, so slurmctld never drains the node for
# "configuration differs from hardware"; RealMemory from the machine's memory.
hw=$(slurmd -C 2>/dev/null | head -n1)
hwval() { echo "$hw" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
CPUS=$(hwval CPUs); SOCKETS=$(hwval SocketsPerBoard); CORES=$(hwval CoresPerSocket); THREADS=$(hwval ThreadsPerCore)
MEM_MB=$(hwval RealMemory)
[ -n "$CPUS" ] || CPUS=$(nproc)
[ -n "$MEM_MB" ] || MEM_MB=$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo)
# keep a little headroom below what slurmd measures (it drains a node whose RealMemory is too high)
MEM_MB=$(( MEM_MB * 97 / 100 ))
NODE_HW="CPUs=$CPUS"
if [ -n "$SOCKETS" ] && [ -n "$CORES" ] && [ -n "$THREADS" ]; then
    NODE_HW="$NODE_HW Sockets=$SOCKETS CoresPerSocket=$CORES ThreadsPerCore=$THREADS"
fi

write_if_changed() {  # path mode ; content on stdin
    local tmp
    tmp=$(mktemp "$1.XXXX")
    cat >"$tmp"
    chmod "$2" "$tmp"
    if [ -f "$1" ] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv -f "$tmp" "$1"; fi
}

[ -f "$ETC/jobid.conf" ] || echo "FirstJobId=1" >"$ETC/jobid.conf"
write_if_changed "$ETC/slurm.conf" 644 <<EOF
# generated by .ci/slurm/up.sh -- single-node test cluster for spaced-kd
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# cred_expire also sets how long a requeued job waits before it may start again (default 120 s)
AuthInfo=cred_expire=10
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
# a test cluster: look at pending (e.g. just requeued) jobs every few seconds, not every minute
SchedulerParameters=sched_interval=5,bf_interval=5
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ReturnToService=2
# jobs may be requeued (submitit's checkpoint/requeue uses scontrol requeue)
JobRequeue=1
# short grace between SIGTERM and SIGKILL when a job is cancelled/requeued
KillWait=10
InactiveLimit=0
MinJobAge=300
SlurmctldTimeout=60
SlurmdTimeout=60
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
JobCompType=jobcomp/none
# FirstJobId, written by this script each time it (re)starts slurmctld
Include $ETC/jobid.conf
NodeName=$NODE NodeAddr=127.0.0.1 $NODE_HW RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF

# slurmdbd has no -f: it reads slurmdbd.conf next to $SLURM_CONF; must be mode 600, owned by SlurmUser.
write_if_changed "$ETC/slurmdbd.conf" 600 <<EOF
# generated by .ci/slurm/up.sh
AuthType=auth/munge
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$RUN/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=$DB_USER
StoragePass=$DB_PASS
StorageLoc=$DB_NAME
EOF
chown root:root "$ETC/slurmdbd.conf"

# --------------------------------------------------------------------------- munge
if ! munge_ok; then
    log "starting munged"
    [ -s /etc/munge/munge.key ] || {
        if command -v mungekey >/dev/null 2>&1; then mungekey --create --force; else
            dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; fi
    }
    chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
    for d in /run/munge /var/lib/munge /var/log/munge; do
        mkdir -p "$d"; chown munge:munge "$d"
    done
    chmod 755 /run/munge
    # --force: remove a stale socket left by a munged that was killed
    ( close_inherited_fds
      exec setpriv --reuid=munge --regid=munge --init-groups munged --force </dev/null >>"$LOG/munged.out" 2>&1 )
    wait_for 20 munge munge_ok || die "munged did not start (see $LOG/munged.out, /var/log/munge/munged.log)"
    touch "$RUN/munged.started-by-us"
fi

# --------------------------------------------------------------------------- mariadb
if ! db_ok; then
    mkdir -p "$DBRUN"; chown mysql:mysql "$DBRUN"
    if [ ! -d "$DBDIR/mysql" ]; then
        log "initialising mariadb datadir $DBDIR"
        rm -rf "$DBDIR"; mkdir -p "$DBDIR"; chown mysql:mysql "$DBDIR"
        mariadb-install-db --no-defaults --user=mysql --datadir="$DBDIR" --skip-test-db \
            --auth-root-authentication-method=socket >"$LOG/mariadb-install.log" 2>&1 \
            || { tail -n 20 "$LOG/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
    fi
    log "starting mariadbd"
    rm -f "$DBRUN/mysqld.sock" "$DBRUN/mysqld.sock.lock"
    spawn "$LOG/mariadbd.log" mariadbd --no-defaults --user=mysql --datadir="$DBDIR" \
        --socket="$DBRUN/mysqld.sock" --port="$DB_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
        --pid-file="$DBRUN/mariadbd.pid" --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
        --innodb-flush-log-at-trx-commit=2 --max-connections=50
    wait_for 60 mariadb db_ok || { tail -n 30 "$LOG/mariadbd.log" >&2; die "mariadbd did not start"; }
fi
mariadb --no-defaults --socket="$DBRUN/mysqld.sock" -u root <<EOF
CREATE DATABASE IF NOT EXISTS $DB_NAME;
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;
EOF

# --------------------------------------------------------------------------- slurmdbd
if ! pid_alive "$RUN/slurmdbd.pid" slurmdbd || ! dbd_ok; then
    if pid_alive "$RUN/slurmdbd.pid" slurmdbd; then kill "$(cat "$RUN/slurmdbd.pid")" 2>/dev/null || true; sleep 1; fi
    log "starting slurmdbd"
    spawn "$LOG/slurmdbd.out" slurmdbd -D
    # first start creates the schema: allow some time
    wait_for 90 slurmdbd dbd_ok || { tail -n 30 "$LOG/slurmdbd.log" >&2; die "slurmdbd did not answer"; }
fi
if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
    log "registering cluster $CLUSTER in accounting"
    sacctmgr -i add cluster "$CLUSTER" >/dev/null
fi

# --------------------------------------------------------------------------- slurmctld
if ! pid_alive "$RUN/slurmctld.pid" slurmctld; then
    # A slurmctld that is not running has lost its jobs' processes too (a stopped cluster, or a
    # machine whose processes were all ended): start it without its saved job state (-c), so no
    # ghost job holds the node, and go on numbering jobs after the last one in accounting, so a
    # job id never names two jobs in sacct.
    last_id=$(sacct -a -X -n -P -D -S 2000-01-01 -E now -o JobIDRaw 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -n1 || true)
    echo "FirstJobId=$(( ${last_id:-0} + 1 ))" >"$ETC/jobid.conf"
    log "starting slurmctld (first job id $(( ${last_id:-0} + 1 )))"
    spawn "$LOG/slurmctld.out" slurmctld -D -c
    wait_for 60 slurmctld scontrol ping || { tail -n 30 "$LOG/slurmctld.log" >&2; die "slurmctld did not start"; }
    # scontrol ping answers 'DOWN' with exit 0 on some versions: require UP
    wait_for 30 slurmctld-up sh -c 'scontrol ping | grep -q UP' \
        || { tail -n 30 "$LOG/slurmctld.log" >&2; die "slurmctld not UP"; }
fi

# --------------------------------------------------------------------------- slurmd
if ! pid_alive "$RUN/slurmd.pid" slurmd; then
    log "starting slurmd"
    spawn "$LOG/slurmd.out" slurmd -D -N "$NODE"
fi
if ! wait_for 60 node node_idle; then
    # a node left DOWN/DRAINED by an earlier unclean stop: resume it once
    scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
    wait_for 30 node node_idle || {
        sinfo -N -l >&2 || true; tail -n 30 "$LOG/slurmd.log" "$LOG/slurmctld.log" >&2
        die "node $NODE not idle"
    }
fi
wait_for 60 sacct sacct_ok || { sacct -n -X 2>&1 | tail -n 5 >&2; die "sacct does not answer"; }

log "up: $(sinfo -h -N -o '%N %T cpus=%c mem=%mMB' | head -n1); state in $STATE"
print_env
