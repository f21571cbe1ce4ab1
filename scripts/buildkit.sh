#!/usr/bin/env bash
# Slipway's build engines, all on private sockets and state dirs:
#   - dockerd 20.10 (BuildKit v0.8 inside), with the local registry as its docker.io mirror;
#   - buildkitd v0.24 and a buildx v0.28 builder on it (scripts/buildkitd.sh);
#   - a local registry on 127.0.0.1:5000 (scripts/registry.sh), the docker.io/gcr.io mirror of both.
#
#   scripts/buildkit.sh up      ensure all three answer (reuse what answers, start the rest)
#   scripts/buildkit.sh down    stop what these scripts started (buildkitd, dockerd, registry)
#   scripts/buildkit.sh env     print export lines, for eval: DOCKER_HOST, DOCKER_BUILDKIT, PATH (a dir
#                               whose `docker` is the 20.10 client, plus buildctl/buildx), BUILDKIT_HOST,
#                               BUILDX_CONFIG, BUILDX_BUILDER
#   scripts/buildkit.sh status  say what answers; exit 0 if all three do
#   scripts/buildkit.sh dockerd-up|dockerd-down   only the dockerd part
#
# Environment:
#   SLIPWAY_DOCKER_HOST   engine address (default unix:///run/slipway-docker.sock)
#   SLIPWAY_DOCKER_ROOT   state directory (default /var/lib/slipway-docker: data/, exec/, daemon.json)
#   SLIPWAY_DOCKER_LOG    daemon log (default /var/log/slipway-docker.log)
#   SLIPWAY_DOCKER_WAIT   seconds to wait for the daemon to answer (default 60)
#   SLIPWAY_DOCKERD_ARGS  extra dockerd arguments (e.g. "--storage-driver vfs")
#   (and those of scripts/buildkitd.sh and scripts/registry.sh)
#
# dockerd reads scripts/conf/daemon.json (copied to $SLIPWAY_DOCKER_ROOT/daemon.json, --config-file):
# a change is applied with SIGHUP (registry mirrors and insecure registries are reloadable); a dockerd
# of ours started without it (an older version of this script) is restarted once.
# Always uses the 20.10 client at /usr/bin/docker (never /usr/local/bin/docker).
set -euo pipefail

DOCKER=/usr/bin/docker
SOCK_DEFAULT=/run/slipway-docker.sock
HOST=${SLIPWAY_DOCKER_HOST:-unix://$SOCK_DEFAULT}
ROOT=${SLIPWAY_DOCKER_ROOT:-/var/lib/slipway-docker}
LOG=${SLIPWAY_DOCKER_LOG:-/var/log/slipway-docker.log}
WAIT=${SLIPWAY_DOCKER_WAIT:-60}
PIDFILE=$ROOT/dockerd.pid
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=buildkit.sh
# shellcheck source=scripts/lib.sh
. "$HERE/lib.sh"
DAEMON_JSON=$REPO_ROOT/scripts/conf/daemon.json

# The daemon log since the last start by this script.
dockerd_log_tail() { awk '/^=== .* dockerd start/ {n = 0} {buf[n++] = $0} END {s = n > 40 ? n - 40 : 0; for (i = s; i < n; i++) print buf[i]}' "$LOG" >&2 || true; }


answers() { timeout 10 env DOCKER_HOST="$HOST" "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

our_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  grep -q dockerd "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

ensure_installed() {
  local missing=()
  [ -x "$DOCKER" ] && command -v dockerd >/dev/null || missing+=(docker.io)
  command -v iptables >/dev/null || missing+=(iptables)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
  [ -x "$DOCKER" ] || die "$DOCKER missing after installing docker.io"
}

# Choose a storage driver: overlay2 when the kernel can mount overlayfs on the data dir, else vfs.
storage_driver() {
  case " ${SLIPWAY_DOCKERD_ARGS:-} " in *" --storage-driver"*|*" -s "*) return;; esac
  local t="$ROOT/ovl-probe"; rm -rf "$t"; mkdir -p "$t"/{l,u,w,m}
  if mount -t overlay overlay -o "lowerdir=$t/l,upperdir=$t/u,workdir=$t/w" "$t/m" 2>/dev/null; then
    umount "$t/m"; rm -rf "$t"; echo "--storage-driver overlay2"
  else
    rm -rf "$t"; say "overlayfs not mountable here; using the vfs storage driver (slow but works)"; echo "--storage-driver vfs"
  fi
}

# iptables: bridge networking needs it; fall back to --iptables=false if it does not work.
iptables_args() {
  if iptables -w -L -n >/dev/null 2>&1; then return; fi
  if command -v iptables-legacy >/dev/null && iptables-legacy -L -n >/dev/null 2>&1; then
    say "iptables (nft) unusable; switching alternative to iptables-legacy"
    update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null 2>&1 || true
    update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null 2>&1 || true
    iptables -w -L -n >/dev/null 2>&1 && return
  fi
  say "iptables unusable: starting dockerd with --iptables=false (RUN steps may lack outbound network)"
  echo "--iptables=false --ip-masq=false"
}

# dockerd (managed mode) reuses the containerd named in exec-root/containerd/containerd.pid when that
# pid is alive, and then waits for its socket. After an unclean stop the pid can belong to an orphaned
# containerd that is shutting down (socket already gone) or to an unrelated process: dockerd then
# fails with "timeout waiting for containerd to start" (seen on CI). Stop an orphan of ours, drop a
# stale pidfile and sockets, so dockerd always starts its own containerd.
clear_stale_containerd() {
  local dir="$ROOT/exec/containerd" pid
  [ -d "$dir" ] || return 0
  if [ -f "$dir/containerd.pid" ]; then
    pid=$(cat "$dir/containerd.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "containerd.*$dir"; then
      say "stopping orphaned containerd (pid $pid) left by an earlier dockerd"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/containerd.pid"
  fi
  rm -f "$dir/containerd.sock" "$dir/containerd.sock.ttrpc" "$dir/containerd-debug.sock"
}

start_dockerd() {
  local sock=${HOST#unix://} args
  clear_stale_containerd
  # Not ours (checked by the caller): a pidfile left by a killed dockerd makes the new one refuse to start.
  rm -f "$PIDFILE"
  # containerd is started by dockerd itself (managed mode) under exec-root.
  args="$(storage_driver) $(iptables_args) ${SLIPWAY_DOCKERD_ARGS:-}"
  rm -f "$sock"
  # A copy of the config: the daemon must not depend on this checkout staying where it is.
  cp "$DAEMON_JSON" "$ROOT/daemon.json"
  say "starting dockerd on $HOST (data $ROOT/data, log $LOG, config $ROOT/daemon.json, args:$args)"
  echo "=== $(date -Is) dockerd start $args" >>"$LOG"
  # shellcheck disable=SC2086
  setsid nohup dockerd --config-file "$ROOT/daemon.json" --data-root "$ROOT/data" --exec-root "$ROOT/exec" \
    -H "$HOST" --pidfile "$PIDFILE" $args </dev/null >>"$LOG" 2>&1 &
  echo $! >"$PIDFILE.launch"
}

# Our running dockerd and scripts/conf/daemon.json: reload a changed config (SIGHUP); restart a dockerd
# of ours started without it. A foreign engine without the mirror only gets a warning.
sync_config() {
  local pid
  if pid=$(our_pid); then
    if ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--config-file $ROOT/daemon.json"; then
      say "dockerd (pid $pid) was started without $ROOT/daemon.json (registry mirror): restarting it once"
      dockerd_down; return 1
    fi
    if ! cmp -s "$DAEMON_JSON" "$ROOT/daemon.json"; then
      say "scripts/conf/daemon.json changed: reloading dockerd (pid $pid, SIGHUP)"
      cp "$DAEMON_JSON" "$ROOT/daemon.json"; kill -HUP "$pid"; sleep 1
    fi
  elif ! DOCKER_HOST=$HOST "$DOCKER" info --format '{{.RegistryConfig.Mirrors}}' 2>/dev/null | grep -q '127.0.0.1:5000'; then
    say "WARNING: the engine on $HOST (not started by this script) has no registry mirror 127.0.0.1:5000: public base-image names will not resolve from the local registry"
  fi
  return 0
}

dockerd_up() {
  if answers && sync_config; then say "engine already answers on $HOST"; return 0; fi
  case "$HOST" in unix://*) ;; *) die "no engine answers on $HOST (and it is not a unix socket this script can start)";; esac
  need_root "start dockerd"
  ensure_installed
  local sock=${HOST#unix://}
  mkdir -p "$ROOT/data" "$ROOT/exec" "$(dirname "$LOG")" "$(dirname "$sock")"
  if pid=$(our_pid); then
    say "dockerd (pid $pid) running but not answering yet; waiting"
  else
    start_dockerd
  fi
  local i=0 retried=
  while ! answers; do
    i=$((i + 1))
    if [ "$i" -gt "$WAIT" ]; then
      say "dockerd did not answer on $HOST within ${WAIT}s; last lines of $LOG:"
      dockerd_log_tail
      exit 1
    fi
    if [ -f "$PIDFILE.launch" ] && ! kill -0 "$(cat "$PIDFILE.launch")" 2>/dev/null && ! our_pid >/dev/null; then
      if [ -z "$retried" ]; then
        # One retry: a leftover of an unclean stop (containerd, sockets) can make the first start fail.
        say "dockerd exited during startup; cleaning up and retrying once. Its last log lines:"
        dockerd_log_tail
        retried=1; i=0; start_dockerd; sleep 1; continue
      fi
      say "dockerd exited during startup again; last lines of $LOG:"
      dockerd_log_tail
      exit 1
    fi
    sleep 1
  done
  rm -f "$PIDFILE.launch"
  say "engine up on $HOST: $(DOCKER_HOST=$HOST "$DOCKER" info --format 'docker {{.ServerVersion}}, storage {{.Driver}}, cgroup {{.CgroupDriver}}' 2>/dev/null)"
}

dockerd_down() {
  local pid
  if ! pid=$(our_pid); then say "no dockerd started by this script is running (pidfile $PIDFILE)"; return 0; fi
  say "stopping dockerd pid $pid"
  kill -TERM "$pid"
  local stopped=
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || { stopped=1; break; }; sleep 1; done
  if [ -n "$stopped" ]; then say "stopped"; else
    say "dockerd $pid did not stop in 30s; sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  # Its containerd must not outlive it (the next start would wait on a dying one).
  clear_stale_containerd
}

dockerd_status() {
  if answers; then
    echo "up: dockerd $HOST ($(DOCKER_HOST=$HOST "$DOCKER" info --format 'docker {{.ServerVersion}}, storage {{.Driver}}, mirrors {{.RegistryConfig.Mirrors}}' 2>/dev/null))$(pid=$(our_pid) && echo ", started by this script: pid $pid")"
    return 0
  fi
  echo "down: no dockerd answers on $HOST"; return 1
}

# PATH with $SLIPWAY_BIN first (its `docker` is /usr/bin/docker; buildctl/buildx live there when
# installed by scripts/buildkitd.sh), without a second copy of it.
env_path() {
  local rest
  rest=$(printf '%s' ":$PATH:" | sed "s#:$SLIPWAY_BIN:#:#g; s#^:##; s#:\$##")
  echo "$SLIPWAY_BIN${rest:+:$rest}"
}

env_lines() {
  # The symlink is made by `up` too; made here when possible so that `env` alone is enough.
  [ -L "$SLIPWAY_BIN/docker" ] || { mkdir -p "$SLIPWAY_BIN" && ln -sfn "$DOCKER" "$SLIPWAY_BIN/docker"; } 2>/dev/null || true
  echo "export DOCKER_HOST=$HOST"
  echo "export DOCKER_BUILDKIT=1"
  printf 'export PATH=%q\n' "$(env_path)"
  "$HERE/buildkitd.sh" env
}

CMD=${1:-}
case "$CMD" in
  up) "$HERE/registry.sh" up; dockerd_up; "$HERE/buildkitd.sh" up ;;
  down) "$HERE/buildkitd.sh" down; dockerd_down; "$HERE/registry.sh" down ;;
  env) env_lines ;;
  status) rc=0; "$HERE/registry.sh" status || rc=1; dockerd_status || rc=1; "$HERE/buildkitd.sh" status || rc=1; exit $rc ;;
  dockerd-up) dockerd_up ;;
  dockerd-down) dockerd_down ;;
  *) echo "usage: $0 up|down|env|status|dockerd-up|dockerd-down" >&2; exit 2 ;;
esac
