# syntax=docker/dockerfile:1
# Multi-stage build: a full Rust toolchain compiles the three binaries; the
# runtime image carries only them, on Debian slim, as a non-root user.
# SQLite and libpq are compiled in (bundled), so no database client library
# is installed in the runtime image.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin auth-server --bin resource-server --bin demo \
 && mkdir /out \
 && cp target/release/auth-server target/release/resource-server target/release/demo /out/

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --create-home app
COPY --from=build /out/ /usr/local/bin/
USER app
WORKDIR /data
ENV RUST_LOG=info
# Each compose service picks its binary with `command:`; the default is the auth server.
ENTRYPOINT []
CMD ["auth-server"]
