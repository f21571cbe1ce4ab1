#!/usr/bin/env bash
# Build the local substitutes for the public base images the examples name (golang, node, python,
# rust, eclipse-temurin, nginx, distroless, alpine) from Debian packages on slipway-test/debian,
# with Slipway itself (<name>.yaml). Existing tags are skipped (FORCE=1 rebuilds).
#
#   examples/base-images/build.sh [NAME...]      default: all
#
# Environment:
#   BUILDER=slipway|dockerfile|auto   slipway: build <name>.yaml through the slipway:dev frontend;
#                                     dockerfile: build the Dockerfile.<name> twin; auto (default):
#                                     slipway when the slipway:dev image exists, else dockerfile.
#   DOCKER_HOST                       default: from scripts/buildkit.sh env
#   PROGRESS                          docker build --progress (default plain)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
if [ -z "${DOCKER_HOST:-}" ] && [ -x "$ROOT/scripts/buildkit.sh" ]; then eval "$("$ROOT/scripts/buildkit.sh" env)"; fi
export DOCKER_BUILDKIT=1
DOCKER=/usr/bin/docker
BUILDER=${BUILDER:-auto}
PROGRESS=${PROGRESS:-plain}
ALL=(golang node python rust jdk jre nginx distroless alpine-like)

say() { echo "base-images/build.sh: $*" >&2; }
has_image() { [ -z "${FORCE:-}" ] && "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

if [ "$BUILDER" = auto ]; then
  if "$DOCKER" image inspect slipway:dev >/dev/null 2>&1; then BUILDER=slipway; else BUILDER=dockerfile; fi
fi
for base in slipway-test/debian:bookworm slipway-test/busybox:latest; do
  "$DOCKER" image inspect "$base" >/dev/null 2>&1 || { say "missing $base: run scripts/base-images.sh"; exit 1; }
done

names=("$@"); [ ${#names[@]} -gt 0 ] || names=("${ALL[@]}")
for name in "${names[@]}"; do
  ref=slipway-test/$name:latest
  if has_image "$ref"; then say "$ref exists"; continue; fi
  case "$BUILDER" in
    slipway) file=$HERE/$name.yaml ;;
    dockerfile) file=$HERE/Dockerfile.$name ;;
    *) say "unknown BUILDER=$BUILDER"; exit 2 ;;
  esac
  [ -f "$file" ] || { say "no $file"; exit 2; }
  say "building $ref from $(basename "$file")"
  start=$(date +%s)
  "$DOCKER" build --progress="$PROGRESS" -f "$file" -t "$ref" "$HERE"
  say "built $ref in $(( $(date +%s) - start ))s ($("$DOCKER" image inspect -f '{{.Size}}' "$ref") bytes)"
done
