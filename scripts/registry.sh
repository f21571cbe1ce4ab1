#!/usr/bin/env bash
# Slipway's local registry on 127.0.0.1:5000 (Debian's docker-registry): the docker.io/gcr.io mirror
# of both engines, and where the frontend image and the base-image substitutes are pushed.
#
#   scripts/registry.sh up       install docker-registry when missing, start it (idempotent)
#   scripts/registry.sh down     stop it, only if this script started it
#   scripts/registry.sh status   exit 0 when the registry answers
#
# Environment:
#   SLIPWAY_REGISTRY_ROOT   state dir (default /var/lib/slipway-registry: data/, registry.pid, config.yml)
#   SLIPWAY_REGISTRY_LOG    log (default /var/log/slipway-registry.log)
# The address is fixed (127.0.0.1:5000): the mirror configs in scripts/conf/ name it.
set -euo pipefail
TAG=registry.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

ADDR=127.0.0.1:5000
ROOT=${SLIPWAY_REGISTRY_ROOT:-/var/lib/slipway-registry}
LOG=${SLIPWAY_REGISTRY_LOG:-/var/log/slipway-registry.log}
PIDFILE=$ROOT/registry.pid
CONF=$REPO_ROOT/scripts/conf/registry.yml

answers() { curl -fsS -m 3 -o /dev/null "http://$ADDR/v2/" 2>/dev/null; }

up() {
  if answers; then say "registry already answers on $ADDR"; return 0; fi
  need_root "start the registry"
  command -v docker-registry >/dev/null || apt_install docker-registry
  command -v curl >/dev/null || apt_install curl
  if pid=$(pid_of "$PIDFILE" docker-registry); then
    say "registry (pid $pid) running but not answering yet; waiting"
  else
    mkdir -p "$ROOT/data" "$(dirname "$LOG")"
    # A copy of the config: the daemon must not depend on this checkout staying where it is.
    cp "$CONF" "$ROOT/config.yml"
    say "starting docker-registry on $ADDR (storage $ROOT/data, log $LOG)"
    echo "=== $(date -Is) registry start" >>"$LOG"
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="$ROOT/data" \
      setsid nohup docker-registry serve "$ROOT/config.yml" </dev/null >>"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
  fi
  if ! wait_for 30 "registry on $ADDR" answers; then log_tail "$LOG"; exit 1; fi
  say "registry up on $ADDR"
}

down() {
  local pid
  if ! pid=$(pid_of "$PIDFILE" docker-registry); then say "no registry started by this script is running"; return 0; fi
  stop_pid "$pid" "docker-registry"
  rm -f "$PIDFILE"
}

status() {
  if answers; then
    echo "up: registry http://$ADDR$(pid=$(pid_of "$PIDFILE" docker-registry) && echo " (started by this script: pid $pid)")"
    return 0
  fi
  echo "down: no registry answers on $ADDR"; return 1
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
