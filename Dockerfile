# syntax=docker/dockerfile:1
# Build stage: the toolchain pinned in rust-toolchain.toml.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The release binary keeps line tables for backtraces; they are split off here into
# roster.debug (the `debug-info` stage below), so the runtime image carries a stripped
# binary with a link to them:
#   docker build --target debug-info --output type=local,dest=. .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p roster-server \
 && cp target/release/roster /usr/local/bin/roster \
 && objcopy --only-keep-debug /usr/local/bin/roster /usr/local/bin/roster.debug \
 && objcopy --strip-debug --strip-unneeded --add-gnu-debuglink=/usr/local/bin/roster.debug /usr/local/bin/roster

# The split-off debug info, for symbolising a crash report of the image's binary.
FROM scratch AS debug-info
COPY --from=build /usr/local/bin/roster.debug /roster.debug

# Runtime stage: the one binary (templates and static assets are built into it). It also
# backs SQLite up and restores it (`roster backup`, `roster restore`); PostgreSQL is
# backed up with pg_dump from the database's own image.
FROM debian:bookworm-slim AS runtime
# The data folder is created here, owned by the unprivileged user and owner-only, before
# VOLUME: a new volume is initialised from it (owner and mode included), so a SQLite
# node can create its database and key in it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/roster --create-home roster \
 && install -d -m 0700 -o roster -g roster /var/lib/roster/data
COPY --from=build /usr/local/bin/roster /usr/local/bin/roster
USER roster
WORKDIR /var/lib/roster
ENV ROSTER_LISTEN=0.0.0.0:8080 \
    ROSTER_DATABASE_URL=sqlite:///var/lib/roster/data/roster.db \
    ROSTER_LOG_FORMAT=json
EXPOSE 8080
VOLUME ["/var/lib/roster/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["roster", "healthcheck"]
# SIGTERM stops the node gracefully (in-flight requests get ROSTER_SHUTDOWN_TIMEOUT_SECS).
STOPSIGNAL SIGTERM
ENTRYPOINT ["roster"]
CMD ["serve"]
