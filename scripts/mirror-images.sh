#!/usr/bin/env bash
# Push local images to the local registry (127.0.0.1:5000) under their public names
# (scripts/conf/mirror-images.txt), so that `alpine:3.20` or `gcr.io/distroless/static-debian12:nonroot`
# resolve through the registry mirror of dockerd and buildkitd; and push the frontend image.
#
#   scripts/mirror-images.sh [LOCAL-IMAGE...]   the table's entries (all, or those of these local
#                                               images); a local image that does not exist is an error
#   scripts/mirror-images.sh --frontend IMAGE   push IMAGE (e.g. slipway:dev) as 127.0.0.1:5000/IMAGE
#                                               (what `buildctl --opt source=` names) and as
#                                               127.0.0.1:5000/library/IMAGE (so `# syntax=slipway:dev`
#                                               resolves through the docker.io mirror on buildkitd)
# Idempotent: a name whose registry manifest already has the local image's config is not pushed again.
# Environment: DOCKER_HOST (default: from scripts/buildkit.sh env).
set -euo pipefail
TAG=mirror-images.sh
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$HERE/lib.sh"
[ -n "${DOCKER_HOST:-}" ] || eval "$("$HERE/buildkit.sh" env)"
DOCKER=/usr/bin/docker
REG=127.0.0.1:5000
TABLE=$HERE/conf/mirror-images.txt

# The config digest of REPO:TAG's manifest in the registry (empty when absent).
registry_config() {
  local repo=${1%:*} tag=${1##*:}
  curl -fsS -m 10 -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REG/v2/$repo/manifests/$tag" 2>/dev/null |
    grep -o '"digest": *"sha256:[0-9a-f]*"' | head -1 | grep -o 'sha256:[0-9a-f]*' || true
}

# push LOCAL PATH: PATH is the name inside the registry (library/alpine:3.20).
push() {
  local local=$1 path=$2 id
  id=$("$DOCKER" image inspect -f '{{.Id}}' "$local" 2>/dev/null) || die "no local image $local (scripts/base-images.sh, examples/base-images/build.sh or make image build it)"
  if [ "$(registry_config "$path")" = "$id" ]; then say "$REG/$path is $local already"; return 0; fi
  "$DOCKER" tag "$local" "$REG/$path"
  "$DOCKER" push -q "$REG/$path" >/dev/null || die "docker push $REG/$path failed"
  "$DOCKER" rmi "$REG/$path" >/dev/null 2>&1 || true   # keep dockerd's store free of registry names
  say "pushed $local as $REG/$path"
}

"$HERE/registry.sh" status >/dev/null || die "the local registry does not answer on $REG (scripts/buildkit.sh up)"

if [ "${1:-}" = --frontend ]; then
  img=${2:?usage: $0 --frontend IMAGE}
  case "$img" in */*) push "$img" "$img" ;; *) push "$img" "$img"; push "$img" "library/$img" ;; esac
  exit 0
fi

want=("$@")
n=0
while read -r local public; do
  case "$local" in ''|'#'*) continue ;; esac
  if [ ${#want[@]} -gt 0 ]; then
    hit=; for w in "${want[@]}"; do [ "$w" = "$local" ] && hit=1; done
    [ -n "$hit" ] || continue
  fi
  host=${public%%/*}; path=${public#*/}
  push "$local" "$path"
  if [ "$host" != docker.io ]; then "$DOCKER" tag "$local" "$public"; fi
  n=$((n + 1))
done <"$TABLE"
[ "$n" -gt 0 ] || die "no entry of $TABLE matches: ${want[*]}"
