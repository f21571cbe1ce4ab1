# Slipway developer entry points.
#   make demo    start the engine, build the frontend image, build + run examples/hello through it
#   make test    every test: cargo test --workspace (unit + e2e against the engine)
#   make image   build the frontend image $(IMAGE) from a host-built static binary
#   make down    stop the private dockerd started by scripts/buildkit.sh
#   make bench   Slipway vs Dockerfile twin: cold and warm build timings (scripts/bench-frontend.sh)
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
BIN := target/$(TRIPLE)/release/slipway
IMAGE_CONTEXT := .state/frontend-context
# Upper bound for the frontend image: the gzip-compressed size of its one layer (what a user pulls
# from a registry), in bytes (1.5 MB). The uncompressed size is printed too.
IMAGE_MAX_GZ_BYTES ?= 1500000

.PHONY: help up down status base-images binary image demo test e2e bench

help:
	@sed -n '2,6p' Makefile | sed 's/^# *//'

up:
	scripts/buildkit.sh up

down:
	scripts/buildkit.sh down

status:
	scripts/buildkit.sh status

base-images: up
	scripts/base-images.sh

# Static glibc binary: the only Rust target installed here is the gnu one (no musl).
# relocation-model=static: a plain (non-PIE) static executable, ~100 KB smaller than static-pie;
# it runs as the only process of a FROM-scratch, network-less frontend container.
STATIC_RUSTFLAGS := -C target-feature=+crt-static -C relocation-model=static
binary:
	RUSTFLAGS="$(STATIC_RUSTFLAGS)" $(CARGO) build --release --target $(TRIPLE) -p slipway --no-default-features
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

demo: image base-images
	$(DOCKER) build -f examples/hello/slipway.yaml -t slipway-example/hello examples/hello
	$(DOCKER) run --rm slipway-example/hello

test: image base-images
	$(CARGO) test --workspace --no-fail-fast

# Only the end-to-end tests.
e2e: image base-images
	$(CARGO) test -p slipway-e2e --no-fail-fast

bench: image base-images
	scripts/bench-frontend.sh
