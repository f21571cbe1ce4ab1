# Shared helpers of scripts/*.sh (sourced, not run). Each script sets TAG (its name in messages).
# shellcheck shell=bash

SCRIPT_LOG=${SLIPWAY_SCRIPT_LOG:-/var/log/slipway-buildkit.log}
# Where the BuildKit/buildx binaries are installed when they are not on PATH, and where the `docker`
# symlink to the 20.10 client lives (first on PATH after `eval "$(scripts/buildkit.sh env)"`).
SLIPWAY_BIN=${SLIPWAY_BIN:-/usr/local/lib/slipway/bin}
# The repository root and the shared tools beside it (a CI clone has shared/ beside it as ../shared).
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED_BUILDKIT=${SLIPWAY_SHARED_BUILDKIT:-$REPO_ROOT/../shared/tools/buildkit}

say() { echo "$TAG: $*" >&2; echo "$(date -Is) $TAG: $*" >>"$SCRIPT_LOG" 2>/dev/null || true; }
die() { say "ERROR: $*"; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "must run as root to $1"; }

apt_updated=
apt_install() { # apt_install PKG... (apt-get update at most once per script run)
  need_root "install $*"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$apt_updated" ]; then say "apt-get update"; apt-get update -qq >>"$SCRIPT_LOG" 2>&1 || apt-get update; apt_updated=1; fi
  say "apt-get install $*"
  apt-get install -y -qq --no-install-recommends "$@" >>"$SCRIPT_LOG" 2>&1 || apt-get install -y --no-install-recommends "$@"
}

# pid_of PIDFILE NAME: print the pid recorded in PIDFILE when that process is alive and its command
# line contains NAME (a stale pidfile or a recycled pid never counts as ours).
pid_of() {
  local f=$1 name=$2 pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name" || return 1
  echo "$pid"
}

# stop_pid PID WHAT: SIGTERM, wait up to 30 s, then SIGKILL.
stop_pid() {
  local pid=$1 what=$2
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { say "stopped $what (pid $pid)"; return 0; }; sleep 0.5; done
  say "$what (pid $pid) did not stop in 30 s; sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true
}

# wait_for SECONDS WHAT CMD...: poll CMD every 0.5 s until it succeeds.
wait_for() {
  local secs=$1 what=$2; shift 2
  local n=$((secs * 2))
  for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.5; done
  say "$what did not answer within ${secs}s"; return 1
}

# Last lines of a log file (for failure messages).
log_tail() { [ -f "$1" ] && { echo "--- last lines of $1 ---"; tail -n "${2:-30}" "$1"; } >&2 || true; }
