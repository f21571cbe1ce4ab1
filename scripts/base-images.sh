#!/usr/bin/env bash
# Import the offline base images Slipway's examples and e2e tests build on:
#   slipway-test/busybox:latest   busybox-static rootfs (applet symlinks, /etc/passwd+group, /tmp)
#   slipway-test/debian:bookworm  debootstrap --variant=minbase bookworm (tarball cached)
# Idempotent: an image that already exists is skipped (FORCE=1 re-imports).
#
# Environment: DOCKER_HOST (default: from scripts/buildkit.sh env), SLIPWAY_CACHE (default
# /var/cache/slipway), DEBIAN_MIRROR (default: first deb.debian.org-like URI in apt sources).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
eval "$("$HERE/buildkit.sh" env)"
DOCKER=/usr/bin/docker
CACHE=${SLIPWAY_CACHE:-/var/cache/slipway}
FORCE=${FORCE:-}
only=${1:-all}   # all | busybox | debian

say() { echo "base-images.sh: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }
has_image() { [ -z "$FORCE" ] && "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

apt_updated=
need_pkg() { # need_pkg CMD PKG
  command -v "$1" >/dev/null && return
  [ "$(id -u)" = 0 ] || die "$1 missing and not root; install package $2"
  export DEBIAN_FRONTEND=noninteractive
  [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
  apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

mkdir -p "$CACHE"

# Mirror the host's TLS trust into the test images: machines behind a TLS-intercepting egress
# proxy (like this workplace's) need its CA for https in RUN steps. Local CAs go to
# /usr/local/share/ca-certificates too, so `apt-get install ca-certificates` keeps them.
copy_host_trust() {
  local root=$1
  if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$root/etc/ssl/certs"; cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  fi
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    mkdir -p "$root/usr/local/share/ca-certificates"; cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  fi
}

busybox_image() {
  local ref=slipway-test/busybox:latest
  if has_image "$ref"; then say "$ref exists"; return; fi
  need_pkg file file
  # The image needs a static busybox (Debian's busybox-static, which replaces the dynamic busybox).
  local bb; bb=$(command -v busybox || true)
  if [ -z "$bb" ] || ! file -L "$bb" | grep -Eq 'static(-pie)? linked|statically linked'; then
    apt_updated=${apt_updated:-}; need_pkg __force_install busybox-static; bb=$(command -v busybox)
  fi
  file -L "$bb" | grep -Eq 'static(-pie)? linked|statically linked' || die "$bb is not a static binary"
  local dir; dir=$(mktemp -d)
  mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,var/tmp,home,proc,sys,dev}
  chmod 1777 "$dir/tmp" "$dir/var/tmp"; chmod 700 "$dir/root"
  cp "$bb" "$dir/bin/busybox"
  # One symlink per applet, at busybox's own install paths (skipping the binary itself).
  "$dir/bin/busybox" --list-full | while read -r p; do
    [ "$p" = bin/busybox ] && continue
    mkdir -p "$dir/$(dirname "$p")"; ln -sf /bin/busybox "$dir/$p"
  done
  [ -e "$dir/bin/sh" ] || ln -s busybox "$dir/bin/sh"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\nnobody:x:65534:\n' >"$dir/etc/group"
  printf 'hosts: files dns\n' >"$dir/etc/nsswitch.conf"
  copy_host_trust "$dir"
  tar -C "$dir" --numeric-owner --owner=0 --group=0 -c . |
    "$DOCKER" import -c 'CMD ["sh"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -m "slipway-test busybox (busybox-static $("$bb" 2>&1 | head -1 | awk '{print $2}'))" - "$ref" >/dev/null
  rm -rf "$dir"
  say "imported $ref"
}

debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local m
  m=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
      grep -oE 'https?://[^ ]*/debian/?( |$)' | grep -v security | head -1 | tr -d ' ') || true
  echo "${m:-http://deb.debian.org/debian}"
}

debian_image() {
  local ref=slipway-test/debian:bookworm
  if has_image "$ref"; then say "$ref exists"; return; fi
  local tarball=$CACHE/debian-bookworm-minbase.tar
  if [ ! -s "$tarball" ] || [ -n "$FORCE" ]; then
    [ "$(id -u)" = 0 ] || die "debootstrap needs root"
    need_pkg debootstrap debootstrap
    local mirror dir; mirror=$(debian_mirror); dir=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    say "debootstrap --variant=minbase bookworm from $mirror (about 30 s)"
    if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$CACHE/debootstrap.log" 2>&1; then
      tail -20 "$CACHE/debootstrap.log" >&2; rm -rf "$dir"; die "debootstrap failed (log: $CACHE/debootstrap.log)"
    fi
    # Trim what an image does not need; keep apt usable.
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/log/*.log
    printf 'deb %s bookworm main\n' "$mirror" >"$dir/etc/apt/sources.list"
    copy_host_trust "$dir"
    tar -C "$dir" --numeric-owner -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$dir"
  else
    say "using cached $tarball"
  fi
  "$DOCKER" import -c 'CMD ["bash"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -m "slipway-test debian bookworm minbase" "$tarball" "$ref" >/dev/null
  say "imported $ref"
}

case "$only" in
  all) busybox_image; debian_image ;;
  busybox) busybox_image ;;
  debian) debian_image ;;
  *) die "usage: $0 [all|busybox|debian]" ;;
esac
