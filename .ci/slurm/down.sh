#!/usr/bin/env bash
# Stop the single-node test cluster started by .ci/slurm/up.sh.
#
#   bash .ci/slurm/down.sh           # cancel jobs, stop slurmd, slurmctld, slurmdbd, mariadbd (and munged if up.sh started it)
#   bash .ci/slurm/down.sh --purge   # ... and delete the state dir (configs, logs, spool, accounting database)
#
# Only processes recorded in the state dir's pid files are stopped.
set -uo pipefail

STATE="${SPACED_KD_SLURM_DIR:-/tmp/spaced-kd-slurm}"
RUN="$STATE/run"
DBRUN="$STATE/mysql-run"
export SLURM_CONF="$STATE/etc/slurm.conf"
PURGE=0
[ "${1:-}" = "--purge" ] && PURGE=1

log() { echo "[slurm-down] $*" >&2; }

stop_pidfile() {  # name pidfile [timeout_s]
    local name=$1 pidf=$2 secs=${3:-20} pid i
    [ -s "$pidf" ] || return 0
    pid=$(cat "$pidf")
    # only the daemon itself: a stale pid file may name a pid reused by something else
    if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
        log "stopping $name ($pid)"
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < secs * 5; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name did not stop in ${secs}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    rm -f "$pidf"
}

if [ -f "$SLURM_CONF" ] && [ -s "$RUN/slurmctld.pid" ] && kill -0 "$(cat "$RUN/slurmctld.pid")" 2>/dev/null; then
    # cancel every job of this private cluster so no slurmstepd/job process outlives slurmd
    if [ -n "$(squeue -h -o %i 2>/dev/null)" ]; then
        log "cancelling jobs"
        scancel --full --quiet $(squeue -h -o %A 2>/dev/null | sort -u) 2>/dev/null || true
        for _ in $(seq 1 50); do
            [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
fi

# slurmd and slurmctld together, then accounting (slurmctld flushes to slurmdbd on the way out),
# then the database
stop_pidfile slurmd "$RUN/slurmd.pid" &
stop_pidfile slurmctld "$RUN/slurmctld.pid" &
wait
stop_pidfile slurmdbd "$RUN/slurmdbd.pid"
stop_pidfile mariadbd "$DBRUN/mariadbd.pid" 60 &
if [ -f "$RUN/munged.started-by-us" ]; then
    stop_pidfile munged /run/munge/munged.pid &
    rm -f "$RUN/munged.started-by-us"
fi
wait

if [ "$PURGE" = 1 ]; then
    log "removing $STATE"
    rm -rf "$STATE"
fi
log "down"
