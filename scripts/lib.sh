# Helpers for scripts/test. Sourced, not run.

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

redact_url() { sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#' <<<"$1"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Sets PG_TEST_URL to a database the tests may fill with schemas. Not to be called in a
# subshell: a throwaway cluster lives as long as this shell.
setup_postgres() {
    if [ -n "${ROSTER_TEST_DATABASE_URL:-}" ]; then
        PG_TEST_URL=$ROSTER_TEST_DATABASE_URL
        return
    fi
    need_psql
    local user=${PGUSER:-postgres}
    if pg_isready -q -h 127.0.0.1 -p 5432 -t 3; then
        fresh_database "postgres://${user}@127.0.0.1:5432"
        PG_TEST_URL="postgres://${user}@127.0.0.1:5432/roster_test"
        return
    fi
    throwaway_cluster
    PG_TEST_URL="postgres://postgres@127.0.0.1:${THROWAWAY_PORT}/roster_test"
}

need_psql() {
    if ! command -v psql >/dev/null || ! command -v pg_isready >/dev/null; then
        step "installing postgresql-client"
        as_root apt-get update -qq
        as_root apt-get install -y -qq postgresql-client
    fi
}

# Headless Chromium and its WebDriver, for the admin UI's browser tests.
need_chromium() {
    if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
        step "installing chromium and chromium-driver"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
    fi
}

# Debian's nginx, for the test that runs the compose topology (deploy/nginx.conf) without
# Docker.
need_nginx() {
    if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
        step "installing nginx"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx
    fi
}

# Drops and creates the database roster_test on the server at $1 (no path).
fresh_database() {
    psql "$1/postgres" -v ON_ERROR_STOP=1 -q \
        -c "DROP DATABASE IF EXISTS roster_test WITH (FORCE)" \
        -c "CREATE DATABASE roster_test"
}

# Starts a PostgreSQL cluster in a temporary directory, stopped when the script exits.
throwaway_cluster() {
    local bindir
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$bindir" ]; then
        step "installing postgresql"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
        bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    THROWAWAY_PORT=${ROSTER_TEST_PG_PORT:-55432}
    THROWAWAY_DIR=$(mktemp -d /tmp/roster-pg.XXXXXX)
    local run=()
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$THROWAWAY_DIR"
        run=(runuser -u postgres --)
    fi
    "${run[@]}" "$bindir/initdb" -D "$THROWAWAY_DIR/data" -U postgres -A trust >/dev/null
    "${run[@]}" "$bindir/pg_ctl" -D "$THROWAWAY_DIR/data" -l "$THROWAWAY_DIR/log" -w \
        -o "-p $THROWAWAY_PORT -k $THROWAWAY_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start
    trap 'runuser_stop' EXIT
    export THROWAWAY_PORT
    fresh_database "postgres://postgres@127.0.0.1:${THROWAWAY_PORT}"
}

runuser_stop() {
    local bindir
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$bindir/pg_ctl" -D "$THROWAWAY_DIR/data" -m fast stop >/dev/null || true
    else
        "$bindir/pg_ctl" -D "$THROWAWAY_DIR/data" -m fast stop >/dev/null || true
    fi
    rm -rf "$THROWAWAY_DIR"
}
