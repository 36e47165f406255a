# syntax=docker/dockerfile:1
# Build stage: the toolchain pinned in rust-toolchain.toml.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p roster-server \
 && cp target/release/roster /usr/local/bin/roster

# Runtime stage: the one binary (templates and static assets are built into it).
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/roster --create-home roster \
 && install -d -m 0700 -o roster -g roster /var/lib/roster/data
COPY --from=build /usr/local/bin/roster /usr/local/bin/roster
USER roster
WORKDIR /var/lib/roster
ENV ROSTER_LISTEN=0.0.0.0:8080 \
    ROSTER_LOG_FORMAT=json
EXPOSE 8080
VOLUME ["/var/lib/roster/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["roster", "healthcheck"]
ENTRYPOINT ["roster"]
CMD ["serve"]
