# Slipway frontend image: one static binary, FROM scratch.
#
#   docker build -t slipway:dev .                          # build the binary in a Rust (musl) image
#   docker build -t slipway:dev --build-arg BINARY=host .  # take a host-built static binary instead
#
# BINARY=host expects target/x86_64-unknown-linux-gnu/release/slipway-frontend (the image-only binary), built with
#   RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" cargo build --release --target x86_64-unknown-linux-gnu -p slipway --no-default-features --bin slipway-frontend
# (`make image` does that and sends a context holding only the binary). The rust image is then never
# needed, so the host path works offline. Both paths end in the same final stage.
#
# No `# syntax=` line on purpose: Docker 20.10's built-in Dockerfile frontend is used, offline.

# Which stage provides /slipway: "source" (build in RUST_IMAGE) or "host" (from the context).
ARG BINARY=source
ARG RUST_IMAGE=rust:1-alpine
# The frontend caps Slipway declares: exactly what it implements (BuildKit refuses a
# client's `frontend.caps` request for any cap this label lacks). Kept equal to
# frontend/gateway/src/frontendcaps.rs SUPPORTED (a unit test compares them).
# `contexts`: named contexts (`context:NAME=docker-image://…, local:…, git/http URLs`).
# `subrequests`: buildx `--call targets|outline|check` (frontend.targets, .outline,
# .lint, .subrequests.describe). `inputs`: frontend inputs as `input:NAME` named contexts
# (buildx bake's `target:NAME` contexts; their ops join the build as they are).
ARG FRONTEND_CAPS=moby.buildkit.frontend.contexts,moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests

FROM ${RUST_IMAGE} AS bin-source
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
# The musl target links statically by default. Target dir and registry live in cache mounts.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p slipway --no-default-features --bin slipway-frontend \
 && cp target/release/slipway-frontend /slipway

FROM scratch AS bin-host
# Host build context: either the repo root (.dockerignore lets this one binary through) or a
# directory holding only `slipway` (see Makefile: image). HOST_BINARY says where it is.
ARG HOST_BINARY=target/x86_64-unknown-linux-gnu/release/slipway-frontend
COPY ${HOST_BINARY} /slipway

FROM bin-${BINARY} AS bin

FROM scratch
ARG FRONTEND_CAPS
COPY --from=bin /slipway /slipway
LABEL moby.buildkit.frontend.network.none="true" \
      moby.buildkit.frontend.caps="${FRONTEND_CAPS}"
USER 65532:65532
ENTRYPOINT ["/slipway", "frontend"]
