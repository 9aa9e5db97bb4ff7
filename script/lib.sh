# Shared helpers for the project's shell scripts. Source it; do not run it.
# shellcheck shell=bash

ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
RUN_DIR="${RUN_DIR:-$ROOT/.run}"
export PATH="$ROOT/node_modules/.bin:$PATH"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/x402_settle}"

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

info() {
  printf '==> %s\n' "$*" >&2
}

# Splits DATABASE_URL into host, port and database name (postgres://user[:pw]@host[:port]/db).
parse_database_url() {
  local rest="${DATABASE_URL#*://}"
  rest="${rest#*@}"
  local hostport="${rest%%/*}"
  PG_DB="${rest#*/}"
  PG_DB="${PG_DB%%\?*}"
  PG_HOST="${hostport%%:*}"
  PG_PORT="${hostport##*:}"
  [[ "$PG_PORT" == "$hostport" ]] && PG_PORT=5432
  PG_ADMIN_URL="${DATABASE_URL%/*}/postgres"
  [[ -n "$PG_DB" && "$PG_DB" != "$rest" ]] || die "DATABASE_URL=$DATABASE_URL has no database name: use postgres://user@host:port/dbname"
}

pg_reachable() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2
  else
    (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null
  fi
}

# Makes DATABASE_URL usable: starts a local cluster that is installed but stopped and
# creates the database when it is missing.
ensure_postgres() {
  parse_database_url
  if ! pg_reachable; then
    local is_local=0
    [[ "$PG_HOST" == "127.0.0.1" || "$PG_HOST" == "localhost" ]] && is_local=1
    # Start a local cluster only if one is configured on that port and is down.
    if [[ $is_local == 1 ]] && command -v pg_lsclusters >/dev/null 2>&1; then
      local version cluster port status
      while read -r version cluster port status _; do
        if [[ "$port" == "$PG_PORT" && "$status" == down* ]]; then
          info "starting the local PostgreSQL $version/$cluster cluster on port $port"
          pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start >/dev/null 2>&1 || true
          for _ in $(seq 1 30); do pg_reachable && break; sleep 0.5; done
        fi
      done < <(pg_lsclusters -h 2>/dev/null)
    fi
    if ! pg_reachable; then
      if [[ $is_local == 1 ]] && ! command -v pg_ctlcluster >/dev/null 2>&1; then
        die "PostgreSQL is not installed: install it ('apt-get install postgresql') or set DATABASE_URL to a reachable server"
      fi
      die "PostgreSQL is not reachable at $PG_HOST:$PG_PORT: start it or set DATABASE_URL (now $DATABASE_URL)"
    fi
  fi
  command -v psql >/dev/null 2>&1 || die "psql is not installed: install the PostgreSQL client ('apt-get install postgresql-client')"
  local exists
  exists="$(psql "$PG_ADMIN_URL" -XtAc "select 1 from pg_database where datname = '$PG_DB'" 2>&1)" \
    || die "cannot log in to PostgreSQL with DATABASE_URL=$DATABASE_URL: $(echo "$exists" | head -1)"
  if [[ "$exists" != "1" ]]; then
    info "creating database $PG_DB"
    psql "$PG_ADMIN_URL" -Xqc "create database \"$PG_DB\"" >/dev/null || die "could not create database $PG_DB: check the role in DATABASE_URL may create databases"
  fi
}

# Fails with a clear line when a TCP port on 127.0.0.1 is already taken.
require_free_port() {
  local port="$1" what="$2"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port ($what) is already in use: stop what listens there or choose another port with ${3:-the matching variable}"
  fi
}
