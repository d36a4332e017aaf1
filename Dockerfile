# syntax=docker/dockerfile:1
#
# cartclick's production image: a release build in a Rust builder, the one
# binary in a distroless runtime (glibc and libgcc, no shell, no package
# manager) as the non-root user 65532. The build needs no protoc (protox
# compiles the contract in Rust) and no OpenSSL (TLS to Redis is rustls).
#
#   docker build -t cartclick .
#   docker run --rm -p 50051:50051 -p 8080:8080 \
#     -v "$PWD/cartclick.toml:/etc/cartclick/cartclick.toml:ro" \
#     -e CARTCLICK_STORE=redis://redis:6379/0 cartclick
#
# The Helm chart (helm/cartclick) runs it the same way.

ARG RUST_VERSION=1
FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
COPY . .
# The registry and target caches survive between builds (BuildKit); the
# binary is copied out of the cached target directory.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin cartclick \
    && install -D -m 0755 target/release/cartclick /out/cartclick

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=build /out/cartclick /usr/local/bin/cartclick
USER 65532:65532
# gRPC and gRPC-Web; the HTTP/JSON API for webshops.
EXPOSE 50051 8080
ENTRYPOINT ["/usr/local/bin/cartclick"]
# The store URL comes from CARTCLICK_STORE (it may hold a password).
CMD ["serve", "--config", "/etc/cartclick/cartclick.toml", "--listen", "0.0.0.0:50051", "--http-listen", "0.0.0.0:8080"]
