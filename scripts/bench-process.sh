#!/usr/bin/env bash
# Whole-process benchmark: the shipped frontend binary (slipway-frontend, as `make binary` builds
# it for the image) vs. BuildKit's upstream dockerfile-frontend v0.24.0, each started as BuildKit
# starts a gateway frontend and driven by the same fake LLBBridge peer over its stdin/stdout
# (frontend/gateway/examples/bench_process.rs), on the generated N-stage spec and its Dockerfile
# twin, runs alternating. Prints a markdown table of medians (min) and the ratios.
#
#   scripts/bench-process.sh [STAGES [RUNS]]        default 1000 stages, 9 runs
#   SLIPWAY_BIN=/tmp/other-build scripts/bench-process.sh   # another slipway-frontend as well (A/B)
#
# No engine needed. The upstream binary comes from ../shared/tools/buildkit (scripts/buildkitd.sh
# install puts it in /usr/local/lib/slipway/bin).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
STAGES=${1:-1000}
RUNS=${2:-9}
BIN=${SLIPWAY_TOOLS:-/usr/local/lib/slipway/bin}
[ -x "$BIN/dockerfile-frontend" ] || "$HERE/buildkitd.sh" install
cd "$ROOT"
make -s binary >/dev/null
cargo build -q --release -p slipway-gateway --example bench_process
args=(--slipway target/x86_64-unknown-linux-gnu/release/slipway-frontend)
[ -n "${SLIPWAY_BIN:-}" ] && args+=(--slipway "$SLIPWAY_BIN")
exec target/release/examples/bench_process "${args[@]}" --dockerfile "$BIN/dockerfile-frontend" \
  --stages "$STAGES" --runs "$RUNS"
