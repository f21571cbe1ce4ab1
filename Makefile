# Slipway developer entry points.
#   make demo    start the engines, build the frontend image, build + run examples/hello through it
#   make test    every test: the fuzzer's short run, cargo test --workspace (unit + e2e on dockerd 20.10 and buildkitd v0.24)
#   make image   build the frontend image $(IMAGE) from a host-built static binary, push it to 127.0.0.1:5000
#   make down    stop the registry, dockerd and buildkitd started by scripts/buildkit.sh
#   make bench   Slipway vs Dockerfile twin: cold and warm build timings (scripts/bench-frontend.sh, scripts/bench-buildx.sh)
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

IMAGE ?= slipway:dev
SLIPWAY_DOCKER_HOST ?= unix:///run/slipway-docker.sock
export SLIPWAY_DOCKER_HOST
export DOCKER_HOST := $(SLIPWAY_DOCKER_HOST)
export DOCKER_BUILDKIT := 1
# The Docker 20.10 client (never /usr/local/bin/docker).
DOCKER := /usr/bin/docker
CARGO ?= cargo

TRIPLE := x86_64-unknown-linux-gnu
# The image's binary: `slipway frontend` only (frontend/cli/src/bin/slipway-frontend.rs).
BIN := target/$(TRIPLE)/release/slipway-frontend
IMAGE_CONTEXT := .state/frontend-context
# Upper bound for the frontend image: the gzip-compressed size of its one layer (what a user pulls
# from a registry), in bytes (1.5 MB). The uncompressed size is printed too.
IMAGE_MAX_GZ_BYTES ?= 1500000

.PHONY: test-deps help up down status base-images substitutes binary image demo test e2e examples-table bench

help:
	@sed -n '2,6p' Makefile | sed 's/^# *//'

up:
	scripts/buildkit.sh up

down:
	scripts/buildkit.sh down

status:
	scripts/buildkit.sh status

# busybox + debian, imported, and pushed to the local registry under their public names.
base-images: up
	scripts/base-images.sh
	scripts/mirror-images.sh slipway-test/busybox:latest slipway-test/debian:bookworm

# The examples' base-image substitutes (built with Slipway), pushed under their public names.
substitutes: image base-images
	examples/base-images/build.sh
	scripts/mirror-images.sh

# Static glibc binary: the only Rust target installed here is the gnu one (no musl).
# relocation-model=static: a plain (non-PIE) static executable, ~100 KB smaller than static-pie;
# it runs as the only process of a FROM-scratch, network-less frontend container.
STATIC_RUSTFLAGS := -C target-feature=+crt-static -C relocation-model=static
binary:
	RUSTFLAGS="$(STATIC_RUSTFLAGS)" $(CARGO) build --release --target $(TRIPLE) -p slipway --no-default-features --bin slipway-frontend
	@if ! file -L $(BIN) | grep -Eq 'static(-pie)? linked|statically linked'; then \
	  file -L $(BIN); echo "error: $(BIN) is not statically linked" >&2; exit 1; fi
	@echo "binary: $(BIN) ($$(stat -c %s $(BIN)) bytes, static)"

# The build context holds only the binary (Dockerfile: BINARY=host).
image: up binary
	rm -rf $(IMAGE_CONTEXT) && mkdir -p $(IMAGE_CONTEXT) && cp $(BIN) $(IMAGE_CONTEXT)/slipway
	$(DOCKER) build -q --build-arg BINARY=host --build-arg HOST_BINARY=slipway -f Dockerfile -t $(IMAGE) $(IMAGE_CONTEXT) >/dev/null
	@size=$$($(DOCKER) image inspect -f '{{.Size}}' $(IMAGE)); \
	  gz=$$(scripts/image-gz-size.sh $(IMAGE)); \
	  echo "image: $(IMAGE) is $$size bytes, $$gz bytes as a gzip layer (limit $(IMAGE_MAX_GZ_BYTES))"; \
	  if [ "$$gz" -gt $(IMAGE_MAX_GZ_BYTES) ]; then echo "error: $(IMAGE) layer exceeds $(IMAGE_MAX_GZ_BYTES) bytes gzip-compressed" >&2; exit 1; fi
	scripts/mirror-images.sh --frontend $(IMAGE)

demo: image base-images
	$(DOCKER) build -f examples/hello/slipway.yaml -t slipway-example/hello examples/hello
	$(DOCKER) run --rm slipway-example/hello

# The schema test runs a real JSON Schema validator (Python jsonschema + PyYAML, from PyPI).
test-deps:
	python3 -c 'import jsonschema, yaml' 2>/dev/null || python3 -m pip install --quiet jsonschema pyyaml

# FUZZ_CASES: the fuzzer's short run (dev profile: a panic is a finding, not an abort).
FUZZ_CASES ?= 20000
test: image base-images test-deps
	$(CARGO) run -q -p slipway-compiler --example fuzz -- $(FUZZ_CASES)
	$(CARGO) test --workspace --no-fail-fast

# Rewrite the results table of examples/README.md from a run of the examples suite (tracked file:
# only this target writes it; `make test` leaves the checkout clean).
examples-table: image base-images
	SLIPWAY_WRITE_RESULTS=1 $(CARGO) test -p slipway-e2e --test examples --no-fail-fast -- --test-threads=1 docker

# Only the end-to-end tests.
e2e: image base-images
	$(CARGO) test -p slipway-e2e --no-fail-fast

bench: image base-images
	scripts/bench-frontend.sh
	scripts/bench-buildx.sh
