#!/usr/bin/env bash
# Warm no-change rebuild on buildkitd v0.24 through buildx v0.28: Slipway vs. BuildKit's own
# Dockerfile frontend (the upstream `dockerfile-frontend` v0.24.0 binary, run as a gateway image the
# same way Slipway is), same daemon, same example, runs alternating in one go. Prints a markdown
# table of medians and the ratio (goal: Slipway <= 0.8x).
#
#   scripts/bench-buildx.sh [EXAMPLE [TARGET]]     default: go runtime-scratch; BENCH_RUNS=9
#
# Both files reach their frontend the same way: buildkitd's built-in Dockerfile frontend reads the
# syntax (the spec's `# syntax=` line; BUILDKIT_SYNTAX for the twin) and runs that image as a gateway.
# warm = a rebuild with nothing changed after a build of the same target (every step CACHED); no
# output is exported (buildx builds to the cache only), so the time is frontend + solve.
# Needs: scripts/buildkit.sh up (dockerd, buildkitd, registry, buildx builder), the frontend image
# pushed (make image; scripts/mirror-images.sh), and the examples' base images in the registry.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
eval "$("$HERE/buildkit.sh" env)"
DOCKER=/usr/bin/docker
REG=127.0.0.1:5000
N=${BENCH_RUNS:-9}
EXAMPLE=${1:-go}
TARGET=${2:-runtime-scratch}
DF_IMAGE=$REG/slipway-bench/dockerfile-frontend:v0.24.0
# The Slipway frontend image as buildkitd pulls it (make image pushes slipway:dev there).
SLIPWAY_REF=${SLIPWAY_REF:-$REG/library/slipway:dev}
BIN=${SLIPWAY_TOOLS:-/usr/local/lib/slipway/bin}

# Alone on the engines: no test build may merge vertices with these (and theirs would disturb the
# timings). Same lock file as the e2e tests (tests/src/lib.rs).
exec 9>/tmp/slipway-e2e-engine.lock
flock 9

command -v buildx >/dev/null || { echo "bench-buildx: buildx missing: run scripts/buildkit.sh up" >&2; exit 1; }
[ -x "$BIN/dockerfile-frontend" ] || { echo "bench-buildx: $BIN/dockerfile-frontend missing: run scripts/buildkit.sh up" >&2; exit 1; }

# The upstream frontend as a gateway image, as docker/dockerfile ships it (binary + entrypoint).
ctx=$(mktemp -d /tmp/slipway-bench-df.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
cp "$BIN/dockerfile-frontend" "$ctx/dockerfile-frontend"
printf 'FROM scratch\nCOPY dockerfile-frontend /bin/dockerfile-frontend\nLABEL moby.buildkit.frontend.network.none="true"\nLABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts"\nENTRYPOINT ["/bin/dockerfile-frontend"]\n' >"$ctx/Dockerfile"
DOCKER_BUILDKIT=1 "$DOCKER" build -q -t "$DF_IMAGE" "$ctx" >/dev/null
"$DOCKER" push -q "$DF_IMAGE" >/dev/null 2>&1 || "$DOCKER" push "$DF_IMAGE" >/dev/null

dir=$ROOT/examples/$EXAMPLE
slipway() { buildx build --progress=quiet --build-arg BUILDKIT_SYNTAX="$SLIPWAY_REF" -f "$dir/slipway.yaml" --target "$TARGET" "$dir" >/dev/null 2>&1; }
dockerfile() { buildx build --progress=quiet --build-arg BUILDKIT_SYNTAX="$DF_IMAGE" -f "$dir/Dockerfile" --target "$TARGET" "$dir" >/dev/null 2>&1; }
timed() { local t0 t1; t0=$(date +%s.%N); "$1" || { echo "bench-buildx: $1 build of $EXAMPLE failed" >&2; exit 1; }; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# Warm both (first builds run every step).
slipway; dockerfile
s=(); d=()
for i in $(seq 1 "$N"); do
  if [ $((i % 2)) = 1 ]; then s+=("$(timed slipway)"); d+=("$(timed dockerfile)")
  else d+=("$(timed dockerfile)"); s+=("$(timed slipway)"); fi
done
ms=$(printf '%s\n' "${s[@]}" | median); md=$(printf '%s\n' "${d[@]}" | median)
echo "| warm no-change rebuild, buildx on buildkitd v0.24, examples/$EXAMPLE --target $TARGET, median of $N | Slipway | Dockerfile frontend v0.24.0 (gateway image) | ratio |"
echo "|---|---|---|---|"
printf '| wall time (s) | %.3f | %.3f | %.2fx |\n' "$ms" "$md" "$(awk -v a="$ms" -v b="$md" 'BEGIN {print a / b}')"
echo "slipway runs: ${s[*]}" >&2
echo "dockerfile runs: ${d[*]}" >&2
