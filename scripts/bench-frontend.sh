#!/usr/bin/env bash
# Slipway vs. its Dockerfile twin (Docker 20.10's built-in Dockerfile frontend), same daemon, same
# small project, runs alternating in one go; prints a markdown table of medians and the frontend
# image size.
#
#   scripts/bench-frontend.sh            # N=5 runs of each measurement
#   BENCH_RUNS=9 scripts/bench-frontend.sh
#
# cold = `docker builder prune -af` (all build cache dropped; not timed) right before the build,
#        so every step runs and every source is loaded again. Base images stay in the image store.
# warm = a no-change rebuild after a build of the same project (everything CACHED).
# Times are the whole `docker build` client wall time (includes starting the frontend container
# for Slipway). Needs: the engine (scripts/buildkit.sh up), base images, and $IMAGE (make image).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
eval "$("$HERE/buildkit.sh" env)"
DOCKER=/usr/bin/docker
IMAGE=${SLIPWAY_IMAGE:-slipway:dev}
N=${BENCH_RUNS:-5}

"$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1 || { echo "bench: $IMAGE missing: run make image" >&2; exit 1; }
# Alone on the engine: the prunes and cold builds below would make other processes' builds re-run
# (and theirs would disturb the timings). Same lock file as the e2e tests (tests/src/lib.rs).
exec 9>/tmp/slipway-e2e-engine.lock
flock 9
"$DOCKER" image inspect slipway-test/busybox:latest >/dev/null 2>&1 || "$HERE/base-images.sh" busybox

proj=$(mktemp -d /tmp/slipway-bench.XXXXXX)
trap 'rm -rf "$proj"' EXIT
mkdir -p "$proj/src"
for i in $(seq 1 20); do seq 1 200 | sed "s/^/file $i line /" >"$proj/src/part$i.txt"; done
cat >"$proj/build.sh" <<'SH'
set -e
mkdir -p /out
cat src/*.txt | sort > /out/all.txt
wc -l < /out/all.txt > /out/count.txt
md5sum /out/all.txt > /out/sum.txt
SH
cat >"$proj/slipway.yaml" <<YAML
# syntax=$IMAGE
version: 1
stages:
  build:
    from: slipway-test/busybox:latest
    workdir: /src
    steps:
      - copy: build.sh
        to: /src/build.sh
      - copy: src
        to: /src/src/
      - run: sh build.sh
  runtime:
    from: slipway-test/busybox:latest
    steps:
      - copy: /out/
        from: build
        to: /app/
    image:
      cmd: [cat, /app/count.txt]
YAML
cat >"$proj/Dockerfile" <<'DOCKERFILE'
FROM slipway-test/busybox:latest AS build
WORKDIR /src
COPY build.sh /src/build.sh
COPY src /src/src/
RUN sh build.sh

FROM slipway-test/busybox:latest AS runtime
COPY --from=build /out/ /app/
CMD ["cat", "/app/count.txt"]
DOCKERFILE

build() { # build slipway|dockerfile -> seconds on stdout
  local file=Dockerfile tag=slipway-bench/dockerfile
  [ "$1" = slipway ] && { file=slipway.yaml; tag=slipway-bench/slipway; }
  local t0 t1 log
  log=$(mktemp)
  t0=$(date +%s.%N)
  if ! "$DOCKER" build --progress=plain -f "$proj/$file" -t "$tag" "$proj" >"$log" 2>&1; then
    echo "bench: $1 build failed:" >&2; tail -30 "$log" >&2; rm -f "$log"; exit 1
  fi
  t1=$(date +%s.%N)
  rm -f "$log"
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}'
}
prune() { "$DOCKER" builder prune -af >/dev/null; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# Sanity: both produce the same result.
build slipway >/dev/null; build dockerfile >/dev/null
a=$("$DOCKER" run --rm slipway-bench/slipway); b=$("$DOCKER" run --rm slipway-bench/dockerfile)
[ "$a" = "$b" ] || { echo "bench: outputs differ: slipway=$a dockerfile=$b" >&2; exit 1; }

declare -a cold_s cold_d warm_s warm_d
for i in $(seq 1 "$N"); do
  # Alternate which one goes first.
  if [ $((i % 2)) = 1 ]; then order="slipway dockerfile"; else order="dockerfile slipway"; fi
  for who in $order; do
    prune; t=$(build "$who"); [ "$who" = slipway ] && cold_s+=("$t") || cold_d+=("$t")
    t=$(build "$who"); [ "$who" = slipway ] && warm_s+=("$t") || warm_d+=("$t")
  done
  echo "bench: run $i/$N done" >&2
done

m() { printf '%s\n' "$@" | median; }
cs=$(m "${cold_s[@]}"); cd=$(m "${cold_d[@]}"); ws=$(m "${warm_s[@]}"); wd=$(m "${warm_d[@]}")
size=$("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE")
gz=$("$DOCKER" save "$IMAGE" | gzip -9 | wc -c)

echo
echo "Docker $("$DOCKER" version -f '{{.Server.Version}}') (BuildKit inside), $(nproc) cores, N=$N runs each, medians of whole \`docker build\` wall time."
echo "cold = after \`docker builder prune -af\` (untimed); warm = no-change rebuild right after a build."
echo
echo "| build | Slipway ($IMAGE) | Dockerfile (built-in frontend) | Slipway / Dockerfile |"
echo "|---|---:|---:|---:|"
printf '| cold | %.3f s | %.3f s | %s× |\n' "$cs" "$cd" "$(ratio "$cs" "$cd")"
printf '| warm (no change) | %.3f s | %.3f s | %s× |\n' "$ws" "$wd" "$(ratio "$ws" "$wd")"
echo
echo "Frontend image $IMAGE: $size bytes uncompressed ($(ratio "$size" 1000000) MB), $gz bytes as \`docker save | gzip -9\`."
