#!/usr/bin/env bash
# Refreshes .sqlx/, the query data sqlx's compile-time checked queries (query!, query_as!,
# query_scalar!) are built from (see .cargo/config.toml). Run it after changing such a query or
# a migration one of them reads, and commit .sqlx/. `make test` fails when the committed data no
# longer matches the schema (testkit/tests/schema_history.rs) or a query has none (the build).
#
# It migrates a throwaway database with psql (the migrations are plain SQL), then rebuilds the
# crates that use the macros online, with SQLX_OFFLINE_DIR telling the macros where to write.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/script/setup.sh"
# shellcheck source=script/lib.sh
source "$ROOT/script/lib.sh"
cd "$ROOT"

parse_database_url
SERVER="${DATABASE_URL%/*}"
DB="x402_sqlx_prepare"
command -v psql >/dev/null || die "psql (the PostgreSQL client) is needed to migrate the throwaway database"
drop_db() { psql -q "$SERVER/postgres" -c "drop database if exists $DB with (force)" >/dev/null; }
trap drop_db EXIT
drop_db
psql -q "$SERVER/postgres" -c "create database $DB" >/dev/null
info "migrating $DB (domain/migrations)"
for f in domain/migrations/*.sql; do
  psql -q -v ON_ERROR_STOP=1 "$SERVER/$DB" -f "$f" >/dev/null || die "$f failed on $DB"
done

rm -rf .sqlx
mkdir -p .sqlx
# The macros write their data only when they expand: touch the sources that use them so cargo
# recompiles exactly those crates.
grep -rlE --include='*.rs' 'sqlx::query(_as|_scalar)?!' ./*/src ./*/tests | xargs touch
info "building with the query macros online"
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$ROOT/.sqlx" DATABASE_URL="$SERVER/$DB" \
  cargo build --workspace --all-targets --quiet
info "$(find .sqlx -name 'query-*.json' | wc -l) queries recorded in .sqlx/: commit them"
