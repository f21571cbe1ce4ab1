#!/usr/bin/env bash
# Print the gzip-compressed size, in bytes, of an image's layers as a registry would serve them
# (`docker push` compresses each layer tar with gzip at its default level).
#   scripts/image-gz-size.sh IMAGE
set -euo pipefail
image=${1:?usage: $0 IMAGE}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
/usr/bin/docker save "$image" | tar -C "$dir" -x
total=0
for layer in $(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))[0]["Layers"]))' "$dir/manifest.json"); do
  n=$(gzip -6 -c "$dir/$layer" | wc -c); total=$((total + n))
done
echo "$total"
