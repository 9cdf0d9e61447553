#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 server for the tests: initdb into a temporary folder as the
# `postgres` user, listen on 127.0.0.1 at a free port, trust authentication (loopback only).
# Usage: source tests/scripts/postgres.sh; pg_test_start; ...; pg_test_stop
# Exports BASIS_TEST_POSTGRES (an Npgsql connection string) once the server accepts connections.

pg_test_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
    done
    return 1
}

pg_test_start() {
    local bin
    if ! bin=$(pg_test_bin); then
        if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
            echo "postgres.sh: installing postgresql (initdb not found)" >&2
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
            bin=$(pg_test_bin) || { echo "postgres.sh: no PostgreSQL server binaries" >&2; return 1; }
        else
            echo "postgres.sh: no PostgreSQL server binaries (install postgresql)" >&2
            return 1
        fi
    fi
    PG_TEST_DIR=$(mktemp -d /tmp/basis-pg.XXXXXX)
    PG_TEST_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
    local run=()
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$PG_TEST_DIR"
        run=(runuser -u postgres --)
    fi
    "${run[@]}" "$bin/initdb" -D "$PG_TEST_DIR/data" -U postgres -A trust --no-sync -E UTF8 >"$PG_TEST_DIR/initdb.log" 2>&1 \
        || { cat "$PG_TEST_DIR/initdb.log" >&2; return 1; }
    "${run[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PG_TEST_PORT -k $PG_TEST_DIR -c fsync=off -c max_connections=200" start >/dev/null \
        || { cat "$PG_TEST_DIR/server.log" >&2; return 1; }
    PG_TEST_BIN=$bin
    export BASIS_TEST_POSTGRES="Host=127.0.0.1;Port=$PG_TEST_PORT;Username=postgres;Database=postgres;Pooling=true"
    echo "postgres.sh: PostgreSQL listening on 127.0.0.1:$PG_TEST_PORT (data in $PG_TEST_DIR)" >&2
}

pg_test_stop() {
    if [ -n "${PG_TEST_DIR:-}" ] && [ -d "$PG_TEST_DIR/data" ]; then
        local run=()
        [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
        "${run[@]}" "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$PG_TEST_DIR"
    fi
}
