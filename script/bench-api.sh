#!/usr/bin/env bash
# Benchmarks x402-api on a classified dataset of 1,000,000 payments from 50,000 payers:
#   1. builds x402-classifier-bench and x402-api (release);
#   2. unless the benchmark database already holds that dataset, creates it and fills it with
#      `x402-classifier-bench gen-data` (indexer tables + from-scratch classification);
#   3. rebuilds the API read model from scratch (`x402-api refresh --full`, timed);
#   4. starts `x402-api serve` on a free port and runs `x402-api-bench`: 32 concurrent clients per
#      scenario (summary and series over a dashboard's filter mix; payer profiles of random payers
#      with the cache bypassed), printing
#        BENCH api_summary_p99_ms <v> ms
#        BENCH api_series_p99_ms <v> ms
#        BENCH api_payer_profile_p99_ms <v> ms
#      plus the uncached (cache-miss) median of each scenario;
#   5. runs the same scenarios again with the response cache bypassed on every request
#      (`bench --no-cache`: every answer computed, as analysts see it while the chain moves):
#        BENCH api_summary_uncached_p99_ms <v> ms
#        BENCH api_series_uncached_p99_ms <v> ms
#        BENCH api_payer_profile_uncached_p99_ms <v> ms
#   6. once more with live ingest (`bench --live-rate $LIVE_RATE`, default 200 payments/s, written
#      as the indexer and the classifier write them; the server polls every 250 ms):
#        BENCH api_summary_live_p99_ms, api_series_live_p99_ms, api_payer_profile_live_p99_ms
#        BENCH api_freshness_p99_ms (classified -> visible in /v1/payments)
#      then removes the payments it wrote and refreshes the read model, so the dataset is reused.
#      Summary and series come from the API's in-memory read model (`serve --engine memory`,
#      the default; API_ENGINE=sql measures the SQL path instead).
#
#   script/bench-api.sh [--payments N] [--payers N] [--seconds S] [--clients C] [--fresh] [--drop]
#
# The dataset is kept in database $X402_API_BENCH_DB (default x402_api_bench) on the server of
# $X402_BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432) so later runs skip generation;
# --fresh regenerates it, --drop removes it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

server="${X402_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
db="${X402_API_BENCH_DB:-x402_api_bench}"
payments=1000000 payers=50000 seconds=10 clients=32 fresh=0 drop=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --payments) payments="$2"; shift 2 ;;
    --payers) payers="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --drop) drop=1; shift ;;
    *) echo "bench-api: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done

url="$server/$db"
psql_admin() { psql "$server/postgres" -v ON_ERROR_STOP=1 -qAt "$@"; }
psql_db() { psql "$url" -v ON_ERROR_STOP=1 -qAt "$@"; }

echo "bench-api: building release binaries" >&2
cargo build --release -q -p x402-classifier --bin x402-classifier-bench -p x402-api --bin x402-api --bin x402-api-bench
classifier=./target/release/x402-classifier-bench
api=./target/release/x402-api
api_bench=./target/release/x402-api-bench

exists=$(psql_admin -c "select 1 from pg_database where datname = '$db'")
have=0
if [[ "$exists" == 1 && "$fresh" == 0 ]]; then
  have=$(psql_db -c "select count(*) from payment_classes" 2>/dev/null || echo 0)
fi
if [[ "$have" != "$payments" ]]; then
  echo "bench-api: generating $payments payments from $payers payers into $db" >&2
  psql_admin -c "drop database if exists \"$db\" with (force)"
  psql_admin -c "create database \"$db\""
  "$classifier" --database-url "$url" gen-data --payments "$payments" --payers "$payers"
else
  echo "bench-api: reusing $db ($have classified payments)" >&2
fi

"$api" migrate --database-url "$url" >/dev/null
psql_db -c "vacuum analyze"
# `refresh` prints "refreshed D days (P payments) in S s; generation G".
"$api" refresh --full --database-url "$url" | tee -a /dev/stderr \
  | sed -n 's/.* in \([0-9.]*\)s;.*/BENCH api_refresh_full_seconds \1 s/p'
psql_db -c "vacuum analyze api_payment_facts, api_daily_stats, api_payer_days"

port="${API_BENCH_PORT:-}"
if [[ -z "$port" ]]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 18480)
fi
log=$(mktemp -t x402-api-bench.XXXXXX.log)
RUST_LOG=warn "$api" serve --database-url "$url" --listen "127.0.0.1:$port" --engine "${API_ENGINE:-memory}" --poll-ms 250 >"$log" 2>&1 &
server_pid=$!
cleanup() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  if [[ "$drop" == 1 ]]; then psql_admin -c "drop database if exists \"$db\" with (force)"; fi
}
trap cleanup EXIT
# The in-memory read model loads before the server listens (about 10 s at 1M payments).
for _ in $(seq 1 600); do
  if curl -fsS "http://127.0.0.1:$port/v1/status" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then echo "bench-api: server exited:" >&2; cat "$log" >&2; exit 1; fi
  sleep 0.2
done

"$api_bench" --database-url "$url" --url "http://127.0.0.1:$port" --clients "$clients" --seconds "$seconds"
"$api_bench" --database-url "$url" --url "http://127.0.0.1:$port" --clients "$clients" --seconds "$seconds" --no-cache
"$api_bench" --database-url "$url" --url "http://127.0.0.1:$port" --clients "$clients" --seconds "$seconds" --live-rate "${LIVE_RATE:-200}"
cleanup
trap - EXIT
if [[ "$drop" == 0 ]]; then "$api" refresh --database-url "$url" >/dev/null; fi
