#!/usr/bin/env bash
# Installs the Debian packages the test suite uses but pip cannot provide, and starts the
# throwaway services those tests need:
#
# * `chromium`: the headless browser for the demo- and review-page tests (Playwright uses the
#   system browser; no browser is downloaded at run time).
# * `postgresql`: a throwaway PostgreSQL cluster (trust auth, 127.0.0.1, a free port, data in
#   a temporary directory) for the label-store tests; its URL is written to
#   $TAGGER_TEST_PG_URL_FILE (default /tmp/tagger-test-postgres.url), which the tests read.
#   Running the script again reuses a cluster that still answers.
#
# Best effort on purpose: when something cannot be installed or started (not root, no apt, no
# network, over the time limit) it says why and exits 0, and the tests that need it skip with
# the reason instead of breaking CI.
set -u

LOG=/tmp/tagger-install-system-deps.log
PG_URL_FILE=${TAGGER_TEST_PG_URL_FILE:-/tmp/tagger-test-postgres.url}
APT_SECONDS=${TAGGER_APT_SECONDS:-240}
say() { echo "install_system_deps: $*" >&2; }

can_apt() { [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; }
APT_UPDATED=0
apt_install() {  # apt_install PACKAGE...: bounded in time, logged, never fatal
    can_apt || return 1
    if [ "$APT_UPDATED" = 0 ]; then
        timeout "$APT_SECONDS" apt-get update -qq >>"$LOG" 2>&1 || true
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive timeout "$APT_SECONDS" apt-get install -y -qq "$@" \
        >>"$LOG" 2>&1
}

# --- chromium ---------------------------------------------------------------------------
if ! command -v chromium >/dev/null 2>&1; then
    say "installing Debian chromium (headless browser for the page tests)"
    apt_install chromium || say "could not install chromium (see $LOG); the browser tests will skip"
fi

# --- postgresql -------------------------------------------------------------------------
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(pg_bin)" ]; then
    say "installing Debian postgresql (server for the label-store tests)"
    apt_install postgresql || say "could not install postgresql (see $LOG)"
fi
PGBIN=$(pg_bin)
if [ -z "$PGBIN" ]; then
    say "no PostgreSQL server; the PostgreSQL label-store tests will skip"
    rm -f "$PG_URL_FILE"
    exit 0
fi
if [ -s "$PG_URL_FILE" ] && "$PGBIN/pg_isready" -q -d "$(cat "$PG_URL_FILE")" 2>/dev/null; then
    exit 0  # a cluster started earlier still answers
fi
as_pg() {  # run as the unprivileged cluster owner (initdb refuses root)
    if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = "0" ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql postgres >>"$LOG" 2>&1 || true
fi
PGDIR=$(mktemp -d /tmp/tagger-pg.XXXXXX)
[ "$(id -u)" = "0" ] && chown postgres "$PGDIR"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres >>"$LOG" 2>&1 \
   && as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
        -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off" start >>"$LOG" 2>&1 \
   && "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres tagger_test >>"$LOG" 2>&1; then
    echo "postgresql://postgres@127.0.0.1:$PORT/tagger_test" >"$PG_URL_FILE"
    say "throwaway PostgreSQL on 127.0.0.1:$PORT (data in $PGDIR) for the label-store tests"
else
    say "could not start PostgreSQL (see $LOG and $PGDIR/server.log); its tests will skip"
    rm -f "$PG_URL_FILE"
fi
exit 0
