#!/usr/bin/env bash
# Subrequests (buildx --call targets|outline|check) and warnings a user sees,
# through the real engines. Standalone, so the e2e harness can call it:
#
#   ENGINES="docker buildx" tests/subrequests.sh
#
# Environment (defaults in brackets):
#   SLIPWAY_BIN        host slipway binary whose offline listings the --call
#                      answers must equal [target/debug/slipway]
#   ENGINES            which parts to run: docker, buildx [docker buildx]
# docker part (Docker 20.10, BuildKit v0.8, no Warn):
#   DOCKER, DOCKER_HOST [/usr/bin/docker, unix:///run/slipway-docker.sock]
#   SLIPWAY_IMAGE      frontend image in that engine's store [slipway:dev]
#   DOCKER_BASE        base image in that store [slipway-test/busybox:latest]
# buildx part (buildx v0.28 on BuildKit v0.24):
#   BUILDX, BUILDX_BUILDER  buildx binary and a builder on the daemon [buildx, default]
#   SLIPWAY_IMAGE_REF  the frontend image as that daemon pulls it (required)
#   BUILDX_BASE        busybox base as that daemon pulls it (required)
# Every command and its output is printed; the first failed check exits 1.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SLIPWAY_BIN=${SLIPWAY_BIN:-$ROOT/target/debug/slipway}
ENGINES=${ENGINES:-docker buildx}
DOCKER=${DOCKER:-/usr/bin/docker}
export DOCKER_HOST=${DOCKER_HOST:-unix:///run/slipway-docker.sock}
export DOCKER_BUILDKIT=1
SLIPWAY_IMAGE=${SLIPWAY_IMAGE:-slipway:dev}
DOCKER_BASE=${DOCKER_BASE:-slipway-test/busybox:latest}
BUILDX=${BUILDX:-buildx}
BUILDX_BUILDER=${BUILDX_BUILDER:-default}
WORK=$(mktemp -d /tmp/slipway-subrequests.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
checks=0

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { checks=$((checks + 1)); echo "ok: $*"; }

# run NAME CMD…: run; stdout in $WORK/NAME.out, stderr in NAME.err, both in
# NAME.all; the exit code in $rc.
run() {
  local name=$1; shift
  echo "\$ $*"
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
  rc=$?
  cat "$WORK/$name.err" "$WORK/$name.out" >"$WORK/$name.all"
  sed 's/^/    stderr| /' "$WORK/$name.err"
  sed 's/^/    stdout| /' "$WORK/$name.out"
  echo "    (exit $rc)"
}

# A copy of a spec with its `# syntax=` line naming IMAGE, alone in a new context dir.
spec_copy() {
  local src=$1 image=$2 dir=$3
  mkdir -p "$dir"
  sed "1s|^# syntax=.*|# syntax=$image|" "$src" >"$dir/slipway.yaml"
  # The example's own .dockerignore: the lint rules read it (context-not-ignored).
  if [ -f "$(dirname "$src")/.dockerignore" ]; then cp "$(dirname "$src")/.dockerignore" "$dir/"; fi
}

# Lines of a file that contain TEXT (1-based), first one.
line_of() { grep -n -F -- "$2" "$1" | head -1 | cut -d: -f1; }

same_json() {
  python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(0 if a==b else 1)' "$1" "$2"
}

buildx_part() {
  : "${SLIPWAY_IMAGE_REF:?set SLIPWAY_IMAGE_REF to the frontend image as the daemon pulls it}"
  : "${BUILDX_BASE:?set BUILDX_BASE to a busybox image the daemon can pull}"
  local bx=("$BUILDX" --builder "$BUILDX_BUILDER")
  local dd="$WORK/bx-describe"
  spec_copy "$ROOT/examples/hello/slipway.yaml" "$SLIPWAY_IMAGE_REF" "$dd"
  run describe "${bx[@]}" build --call subrequests.describe -f "$dd/slipway.yaml" "$dd"
  [ "$rc" = 0 ] || fail "--call subrequests.describe exited $rc"
  for r in outline targets lint subrequests.describe; do
    grep -qE "^$r +1\.0\.0 " "$WORK/describe.out" || fail "describe does not list $r"
  done
  ok "buildx --call subrequests.describe lists outline, targets, lint"
  for spec in "$ROOT"/examples/*/slipway.yaml; do
    local ex; ex=$(basename "$(dirname "$spec")")
    local d="$WORK/bx-$ex"
    spec_copy "$spec" "$SLIPWAY_IMAGE_REF" "$d"
    for call in targets outline; do
      run "$ex-$call" "${bx[@]}" build --call "$call" -f "$d/slipway.yaml" "$d"
      [ "$rc" = 0 ] || fail "$ex: --call $call exited $rc"
      "$SLIPWAY_BIN" "$call" "$d/slipway.yaml" >"$WORK/$ex-$call.want" || fail "slipway $call $ex"
      diff -u "$WORK/$ex-$call.want" "$WORK/$ex-$call.out" || fail "$ex: --call $call differs from slipway $call"
      ok "$ex: buildx --call $call = slipway $call"
      run "$ex-$call-json" "${bx[@]}" build --call "$call,format=json" -f "$d/slipway.yaml" "$d"
      [ "$rc" = 0 ] || fail "$ex: --call $call,format=json exited $rc"
      "$SLIPWAY_BIN" "$call" --format json "$d/slipway.yaml" >"$WORK/$ex-$call-json.want"
      same_json "$WORK/$ex-$call-json.want" "$WORK/$ex-$call-json.out" \
        || fail "$ex: --call $call,format=json differs from slipway $call --format json"
      ok "$ex: buildx --call $call,format=json = slipway $call --format json"
    done
    run "$ex-check" "${bx[@]}" build --call check -f "$d/slipway.yaml" "$d"
    local warned=0
    "$SLIPWAY_BIN" check "$d/slipway.yaml" 2>&1 | grep -q '^warning\[' && warned=1
    if [ "$warned" = 1 ]; then
      [ "$rc" = 1 ] || fail "$ex: --call check exited $rc with warnings"
    else
      [ "$rc" = 0 ] && grep -q "Check complete, no warnings found." "$WORK/$ex-check.all" \
        || fail "$ex: --call check on a spec without warnings"
    fi
    ok "$ex: buildx --call check (exit $rc)"
  done

  # A spec with a warning: --call check exits 1 and shows it at its line.
  local d="$WORK/bx-typo"
  spec_copy "$ROOT/tests/subrequests/typo/slipway.yaml" "$SLIPWAY_IMAGE_REF" "$d"
  local line; line=$(line_of "$d/slipway.yaml" "        from: busybox")
  run typo-check "${bx[@]}" build --call check -f "$d/slipway.yaml" "$d"
  [ "$rc" = 1 ] || fail "typo: --call check exited $rc, want 1"
  grep -q "Check complete, 1 warning has been found!" "$WORK/typo-check.all" || fail "typo: no count"
  grep -q "WARNING: maybe-typo" "$WORK/typo-check.all" || fail "typo: no WARNING: maybe-typo"
  grep -q "slipway.yaml:$line" "$WORK/typo-check.all" || fail "typo: no slipway.yaml:$line"
  grep -q ">>>.*from: busybox" "$WORK/typo-check.all" || fail "typo: no snippet of the line"
  ok "typo: buildx --call check exits 1 with the warning at slipway.yaml:$line"
  run typo-check-json "${bx[@]}" build --call check,format=json -f "$d/slipway.yaml" "$d"
  python3 - "$WORK/typo-check-json.out" "$line" <<'PY' || fail "typo: check JSON"
import json, sys
v = json.load(open(sys.argv[1]))
w = v["warnings"]
assert len(w) == 1 and w[0]["ruleName"] == "maybe-typo", w
assert w[0]["location"]["ranges"][0]["start"]["line"] == int(sys.argv[2]), w
assert v["sources"][0]["filename"] == "slipway.yaml"
PY
  ok "typo: buildx --call check,format=json locates the warning"
  # The build itself: the warning comes through Warn, printed by buildx with its place.
  run typo-build "${bx[@]}" build --progress=plain --build-arg "BASE=$BUILDX_BASE" \
    --build-context "busybox=docker-image://$BUILDX_BASE" --target app -f "$d/slipway.yaml" "$d"
  [ "$rc" = 0 ] || fail "typo: build exited $rc"
  grep -q "1 warning found" "$WORK/typo-build.all" || fail "typo: buildx shows no warning"
  grep -q "is not a stage of this file.*(slipway.yaml:$line)" "$WORK/typo-build.all" \
    || fail "typo: the warning lacks its place"
  ok "typo: buildx build shows the warning with slipway.yaml:$line"
  # The warning as BuildKit hands it to buildx: the spec and the YAML range.
  run typo-build-json "${bx[@]}" build --progress=rawjson --build-arg "BASE=$BUILDX_BASE" \
    --build-context "busybox=docker-image://$BUILDX_BASE" --target app -f "$d/slipway.yaml" "$d"
  python3 - "$WORK/typo-build-json.err" "$line" <<'PY' || fail "typo: no warning with its range in the progress stream"
import json, sys
ws = [w for l in open(sys.argv[1]) if l.startswith("{") for w in json.loads(l).get("warnings") or []]
assert len(ws) == 1, ws
r = ws[0]["range"][0]
assert r["start"]["line"] == int(sys.argv[2]) and r["start"]["character"] == 14, r
assert ws[0]["sourceInfo"]["filename"] == "slipway.yaml" and ws[0]["sourceInfo"]["language"] == "YAML"
PY
  ok "typo: the Warn carries the spec and the range slipway.yaml:$line:15"
}

docker_part() {
  local caps
  caps=$("$DOCKER" image inspect -f '{{index .Config.Labels "moby.buildkit.frontend.caps"}}' "$SLIPWAY_IMAGE")
  case ",$caps," in
    *,moby.buildkit.frontend.subrequests,*) ok "$SLIPWAY_IMAGE label moby.buildkit.frontend.caps=$caps" ;;
    *) fail "$SLIPWAY_IMAGE label moby.buildkit.frontend.caps=$caps lacks subrequests" ;;
  esac
  # Docker 20.10 has no Warn: warnings are progress vertices.
  local d="$WORK/dk-link"
  spec_copy "$ROOT/tests/subrequests/link/slipway.yaml" "$SLIPWAY_IMAGE" "$d"
  local line; line=$(line_of "$d/slipway.yaml" "- copy: /bin/busybox")
  for n in 1 2; do
    run "link-$n" "$DOCKER" build --progress=plain --build-arg "BASE=$DOCKER_BASE" -f "$d/slipway.yaml" "$d"
    [ "$rc" = 0 ] || fail "link: docker build exited $rc"
    grep -q "\[warning\] slipway.yaml:$line:9: \`link: true\` needs merge ops" "$WORK/link-$n.all" \
      || fail "link: no warning vertex at slipway.yaml:$line"
    ok "link: docker build #$n shows [warning] slipway.yaml:$line:9"
  done
  # The second build: every RUN/COPY step is cached (warnings change no cache key).
  local steps cached
  steps=$(grep -cE '^#[0-9]+ \[app [0-9]+/[0-9]+\] (RUN|COPY)' "$WORK/link-2.all")
  cached=$(awk '/^#[0-9]+ \[app [0-9]+\/[0-9]+\] (RUN|COPY)/{want[$1]=1} /^#[0-9]+ CACHED/{if (want[$1]) n++} END{print n+0}' "$WORK/link-2.all")
  [ "$steps" -gt 0 ] && [ "$steps" = "$cached" ] || fail "link: $cached of $steps steps cached on the rebuild"
  ok "link: rebuild has all $steps steps CACHED"

  local d="$WORK/dk-typo"
  spec_copy "$ROOT/tests/subrequests/typo/slipway.yaml" "$SLIPWAY_IMAGE" "$d"
  local tline; tline=$(line_of "$d/slipway.yaml" "        from: busybox")
  run typo-docker "$DOCKER" build --progress=plain --build-arg "BASE=$DOCKER_BASE" --target app -f "$d/slipway.yaml" "$d"
  grep -q "\[warning\] slipway.yaml:$tline:15: \`busybox\` is not a stage of this file" "$WORK/typo-docker.all" \
    || fail "typo: no warning vertex at slipway.yaml:$tline"
  ok "typo: docker build shows [warning] slipway.yaml:$tline:15 (build exit $rc)"
}

for e in $ENGINES; do
  case $e in
    docker) docker_part ;;
    buildx) buildx_part ;;
    *) fail "unknown engine $e" ;;
  esac
done
echo "subrequests.sh: $checks checks passed ($ENGINES)"
