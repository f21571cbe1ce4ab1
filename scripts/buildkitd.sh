#!/usr/bin/env bash
# Slipway's current BuildKit: buildkitd v0.24 (rootful, OCI worker + runc) on a private socket and
# state dir, and a buildx (v0.28) builder of the `remote` driver on that socket.
#
#   scripts/buildkitd.sh install   put buildkitd/buildctl/buildx/dockerfile-frontend in $SLIPWAY_BIN
#                                  (from ../shared/tools/buildkit/install.sh) unless they are on
#                                  PATH; runc from Debian when missing
#   scripts/buildkitd.sh up        install, start buildkitd (idempotent), create the buildx builder
#   scripts/buildkitd.sh down      stop buildkitd, only if this script started it
#   scripts/buildkitd.sh status    exit 0 when buildkitd answers
#   scripts/buildkitd.sh env       print export lines (BUILDKIT_HOST, BUILDX_CONFIG, BUILDX_BUILDER)
#
# Environment (a second daemon with its own state: SLIPWAY_BUILDKITD_NAME=slipway-buildkitd2):
#   SLIPWAY_BUILDKITD_NAME   names the socket /run/NAME.sock, state /var/lib/NAME, log
#                            /var/log/NAME.log and the buildx builder (default slipway-buildkitd)
#   SLIPWAY_BUILDX_CONFIG    buildx's config dir (default /var/lib/slipway-buildx)
#   SLIPWAY_BUILDKITD_WAIT   seconds to wait for the daemon (default 60)
#   SLIPWAY_BUILDKITD_DEBUGADDR  buildkitd's --debugaddr (pprof: goroutine dumps of a stuck build);
#                            default 127.0.0.1:6060 for the default daemon, none for others
# The daemon reads scripts/conf/buildkitd.toml (registry mirrors; copied into the state dir); when
# that file changes, `up` restarts the daemon this script started.
set -euo pipefail
TAG=buildkitd.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

NAME=${SLIPWAY_BUILDKITD_NAME:-slipway-buildkitd}
ADDR=unix:///run/$NAME.sock
ROOT=/var/lib/$NAME
LOG=/var/log/$NAME.log
PIDFILE=$ROOT/buildkitd.pid
CONF=$REPO_ROOT/scripts/conf/buildkitd.toml
BUILDX_CONFIG_DIR=${SLIPWAY_BUILDX_CONFIG:-/var/lib/slipway-buildx}
BUILDER=$NAME
WAIT=${SLIPWAY_BUILDKITD_WAIT:-60}
if [[ $NAME == slipway-buildkitd ]]; then DEBUGADDR=${SLIPWAY_BUILDKITD_DEBUGADDR-127.0.0.1:6060}
else DEBUGADDR=${SLIPWAY_BUILDKITD_DEBUGADDR:-}; fi

# A tool from PATH, else from $SLIPWAY_BIN.
tool() { local p; p=$(PATH="$PATH:$SLIPWAY_BIN" command -v "$1") || return 1; echo "$p"; }

install_tools() {
  local missing=()
  for t in buildkitd buildctl buildx; do tool "$t" >/dev/null || missing+=("$t"); done
  if [ ${#missing[@]} -gt 0 ] || [ ! -x "$SLIPWAY_BIN/dockerfile-frontend" ]; then
    [ -x "$SHARED_BUILDKIT/install.sh" ] || [ -f "$SHARED_BUILDKIT/install.sh" ] ||
      die "${missing[*]:-dockerfile-frontend} not on PATH and no $SHARED_BUILDKIT/install.sh to install from (see README: BuildKit v0.24.0, buildx v0.28.0)"
    need_root "install BuildKit into $SLIPWAY_BIN"
    command -v xz >/dev/null || apt_install xz-utils
    say "installing BuildKit v0.24 / buildx v0.28 into $SLIPWAY_BIN from $SHARED_BUILDKIT"
    sh "$SHARED_BUILDKIT/install.sh" "$SLIPWAY_BIN" >&2
  fi
  command -v runc >/dev/null || apt_install runc
  # The Docker 20.10 client under the name `docker`, for the PATH that `env` prints.
  mkdir -p "$SLIPWAY_BIN" 2>/dev/null && ln -sfn /usr/bin/docker "$SLIPWAY_BIN/docker" 2>/dev/null || true
}

buildctl_() { "$(tool buildctl)" --addr "$ADDR" "$@"; }
buildx_() { BUILDX_CONFIG=$BUILDX_CONFIG_DIR "$(tool buildx)" "$@"; }
answers() { tool buildctl >/dev/null && timeout 10 "$(tool buildctl)" --addr "$ADDR" debug workers >/dev/null 2>&1; }

start() {
  local sock=${ADDR#unix://}
  mkdir -p "$ROOT" "$(dirname "$LOG")" "$(dirname "$sock")"
  cp "$CONF" "$ROOT/buildkitd.toml"
  rm -f "$sock"
  say "starting buildkitd on $ADDR (state $ROOT, log $LOG)"
  echo "=== $(date -Is) buildkitd start" >>"$LOG"
  local debug=()
  [[ -n $DEBUGADDR ]] && debug=(--debugaddr "$DEBUGADDR")
  setsid nohup "$(tool buildkitd)" --config "$ROOT/buildkitd.toml" --root "$ROOT" --addr "$ADDR" \
    "${debug[@]}" --oci-worker=true --containerd-worker=false </dev/null >>"$LOG" 2>&1 9>&- &
  echo $! >"$PIDFILE"
}

builder() { # the buildx builder on this daemon (idempotent)
  mkdir -p "$BUILDX_CONFIG_DIR"
  if ! buildx_ inspect "$BUILDER" >/dev/null 2>&1; then
    say "creating buildx builder $BUILDER (driver remote, $ADDR, BUILDX_CONFIG=$BUILDX_CONFIG_DIR)"
    buildx_ create --name "$BUILDER" --driver remote "$ADDR" >/dev/null
  fi
  buildx_ inspect --bootstrap "$BUILDER" >/dev/null || die "buildx builder $BUILDER does not answer"
}

up() {
  local pid
  # One `up` at a time (tests start the second daemon from parallel threads): two at once would
  # both start a buildkitd on the same state, or race on `buildx create` ("existing instance").
  mkdir -p /run/lock
  exec 9>/run/lock/slipway-buildkitd-up.lock
  flock 9
  if pid=$(pid_of "$PIDFILE" buildkitd) && ! cmp -s "$CONF" "$ROOT/buildkitd.toml"; then
    say "scripts/conf/buildkitd.toml changed: restarting buildkitd (pid $pid)"
    stop_pid "$pid" buildkitd; rm -f "$PIDFILE"
  fi
  if answers; then say "buildkitd already answers on $ADDR"; builder; return 0; fi
  need_root "start buildkitd"
  install_tools
  if pid=$(pid_of "$PIDFILE" buildkitd); then say "buildkitd (pid $pid) running but not answering yet; waiting"; else start; fi
  if ! wait_for "$WAIT" "buildkitd on $ADDR" answers; then log_tail "$LOG" 40; exit 1; fi
  say "buildkitd up on $ADDR: $(buildctl_ debug workers 2>/dev/null | awk 'NR==2 {print "worker " $1 ", platforms " $2}') ($("$(tool buildkitd)" --version | awk '{print $3}'))"
  builder
}

down() {
  local pid
  if ! pid=$(pid_of "$PIDFILE" buildkitd); then say "no buildkitd started by this script is running ($PIDFILE)"; return 0; fi
  stop_pid "$pid" buildkitd
  rm -f "$PIDFILE"
}

status() {
  if answers; then
    echo "up: buildkitd $ADDR ($("$(tool buildkitd)" --version | awk '{print $3}'))$(pid=$(pid_of "$PIDFILE" buildkitd) && echo ", started by this script: pid $pid")"
    return 0
  fi
  echo "down: no buildkitd answers on $ADDR"; return 1
}

env_lines() {
  echo "export BUILDKIT_HOST=$ADDR"
  echo "export BUILDX_CONFIG=$BUILDX_CONFIG_DIR"
  echo "export BUILDX_BUILDER=$BUILDER"
}

case "${1:-}" in
  install) install_tools ;;
  up) up ;;
  down) down ;;
  status) status ;;
  env) env_lines ;;
  *) echo "usage: $0 install|up|down|status|env" >&2; exit 2 ;;
esac
