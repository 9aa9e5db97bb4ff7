#!/usr/bin/env bash
# The main command (`make demo`): a local devnet with a simulated x402 economy, classified, and
# the analyst dashboard serving it.
#
#   1. anvil (or the chain at RPC_URL), with the contracts deployed by script/deploy-local.sh;
#   2. a clean demo database (dropped and recreated on every run), migrated;
#   3. x402-indexer (following the chain), x402-classifier (following the indexer), two
#      x402-facilitator services (one settling each payment alone, one batching), x402-api
#      serving the dashboard at /;
#   4. x402-sim drives several simulated weeks of payments through the facilitators, then the
#      summary (class, payments, volume, share, payers) and the classifier's precision/recall
#      against the simulator's ground truth (over payments, payers and volume, and per
#      scenario) are printed;
#   5. everything keeps serving until Ctrl-C, which stops every process this script started.
#
# Usage: script/demo.sh [--economy standard|adversarial|combined] [--scale small|medium]
#                       [--seed NAME] [--help]
#   --economy  standard: every actor built to match one rule of the product spec (default);
#              adversarial: payees inflating their numbers the ways simple rules miss (deep
#              funding, slow and long wash, mixed provenance, sub-dust drips, randomising and
#              gas-funded farms) beside honest look-alikes (cashback, a launch day);
#              combined: both on one chain.
# Environment: DEMO_ECONOMY / DEMO_SCALE / DEMO_SEED (defaults of the flags: standard, small,
#   demo),
#   RPC_URL (use a running anvil instead of starting one; it must be anvil), ANVIL_PORT (8545),
#   DEMO_DATABASE_URL (postgres://postgres@127.0.0.1:5432/x402_demo; the database is recreated),
#   API_PORT (8080), FACILITATOR_PORT (4020), BATCH_FACILITATOR_PORT (4021),
#   INDEXER_METRICS_PORT (9464).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=script/lib.sh
source "$ROOT/script/lib.sh"
cd "$ROOT"

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

# `make demo DEMO_SCALE=medium` works too: make exports command-line variables to the recipe.
SCALE="${DEMO_SCALE:-small}"
SEED="${DEMO_SEED:-demo}"
ECONOMY="${DEMO_ECONOMY:-standard}"
USAGE="usage: script/demo.sh [--economy standard|adversarial|combined] [--scale small|medium] [--seed NAME]"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --economy)
      [[ $# -ge 2 ]] || die "--economy needs a value: standard, adversarial or combined"
      ECONOMY="$2"
      shift 2
      ;;
    --economy=*) ECONOMY="${1#*=}"; shift ;;
    --scale)
      [[ $# -ge 2 ]] || die "--scale needs a value: small or medium"
      SCALE="$2"
      shift 2
      ;;
    --scale=*) SCALE="${1#*=}"; shift ;;
    --seed)
      [[ $# -ge 2 && -n "$2" ]] || die "--seed needs a value"
      SEED="$2"
      shift 2
      ;;
    --seed=*) SEED="${1#*=}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' ($USAGE)" ;;
  esac
done
[[ "$SCALE" == small || "$SCALE" == medium ]] || die "scale $SCALE (--scale or DEMO_SCALE): use small or medium"
[[ "$ECONOMY" == standard || "$ECONOMY" == adversarial || "$ECONOMY" == combined ]] \
  || die "economy $ECONOMY (--economy or DEMO_ECONOMY): use standard, adversarial or combined"
[[ "$SEED" =~ ^[A-Za-z0-9_.-]+$ ]] || die "seed $SEED (--seed or DEMO_SEED): use letters, digits, '.', '_' or '-'"

ANVIL_PORT="${ANVIL_PORT:-8545}"
API_PORT="${API_PORT:-8080}"
FACILITATOR_PORT="${FACILITATOR_PORT:-4020}"
BATCH_FACILITATOR_PORT="${BATCH_FACILITATOR_PORT:-4021}"
INDEXER_METRICS_PORT="${INDEXER_METRICS_PORT:-9464}"
for v in ANVIL_PORT API_PORT FACILITATOR_PORT BATCH_FACILITATOR_PORT INDEXER_METRICS_PORT; do
  [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -ge 1 && "${!v}" -le 65535 ]] || die "$v=${!v} is not a TCP port (1-65535)"
done
DEMO_DATABASE_URL="${DEMO_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/x402_demo}"
# Anvil's second and third development keys: the two facilitators (never hold real funds).
DIRECT_FACILITATOR_KEY=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
BATCH_FACILITATOR_KEY=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a

PIDS=()
cleanup() {
  local pid
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T0=$SECONDS
elapsed() { printf '%ds' $((SECONDS - T0)); }

# ---------------------------------------------------------------- checks before starting anything
"$ROOT/script/setup.sh"
mkdir -p "$RUN_DIR"
require_free_port "$API_PORT" "x402-api" API_PORT
require_free_port "$FACILITATOR_PORT" "x402-facilitator" FACILITATOR_PORT
require_free_port "$BATCH_FACILITATOR_PORT" "batching x402-facilitator" BATCH_FACILITATOR_PORT
require_free_port "$INDEXER_METRICS_PORT" "x402-indexer metrics" INDEXER_METRICS_PORT
if [[ -n "${RPC_URL:-}" ]]; then
  cast chain-id --rpc-url "$RPC_URL" >/dev/null 2>&1 || die "RPC_URL=$RPC_URL does not answer: start the node or unset RPC_URL to let the demo start anvil"
  [[ "$(cast client --rpc-url "$RPC_URL" 2>/dev/null)" == anvil* ]] \
    || die "RPC_URL=$RPC_URL is not anvil: the simulation moves the chain's clock and needs anvil's methods"
  START_ANVIL=0
else
  require_free_port "$ANVIL_PORT" "anvil" ANVIL_PORT
  export RPC_URL="http://127.0.0.1:$ANVIL_PORT"
  START_ANVIL=1
fi
DATABASE_URL="$DEMO_DATABASE_URL" parse_database_url
DEMO_DB="$PG_DB"
FAC_DB_URL="${DEMO_DATABASE_URL%/*}/${DEMO_DB}_facilitator"
BATCH_FAC_DB_URL="${DEMO_DATABASE_URL%/*}/${DEMO_DB}_facilitator_batch"
pg_reachable || die "PostgreSQL is not reachable at $PG_HOST:$PG_PORT (DEMO_DATABASE_URL=$DEMO_DATABASE_URL): start it or point DEMO_DATABASE_URL at a running server"
psql "$PG_ADMIN_URL" -XtAc 'select 1' >/dev/null 2>&1 \
  || die "cannot log in to PostgreSQL as given in DEMO_DATABASE_URL=$DEMO_DATABASE_URL"

# ---------------------------------------------------------------- build
# Debug build on purpose. The workspace profile compiles dependencies at opt-level 1 (fast enough
# for alloy/sqlx/axum at demo load: the simulation is bound by anvil and HTTP round trips, not
# by our CPU), and it shares target/debug with `make test`, so after the tests or a first demo
# this step is a no-op. A cold release build of the workspace takes well over ten minutes on two
# cores and would be a second full build next to the tests' debug one.
BINS=(x402-indexer x402-classifier x402-facilitator x402-api x402-sim)
info "building ${BINS[*]} (debug; a no-op when up to date)"
CARGO_ARGS=(build -p x402-indexer -p x402-classifier -p x402-facilitator -p x402-api -p x402-simulator
  --bin x402-indexer --bin x402-classifier --bin x402-facilitator --bin x402-api --bin x402-sim)
if [[ -t 2 ]]; then
  # On a terminal cargo's own progress bar is the progress display of a cold build.
  cargo "${CARGO_ARGS[@]}" || die "cargo build failed (output above)"
else
  cargo --quiet "${CARGO_ARGS[@]}" 2>"$RUN_DIR/build.log" \
    || die "cargo build failed: see $RUN_DIR/build.log ($(grep -m1 '^error' "$RUN_DIR/build.log"))"
fi
BIN="$ROOT/target/debug"

# ---------------------------------------------------------------- chain
if [[ $START_ANVIL == 1 ]]; then
  info "starting anvil on port $ANVIL_PORT"
  anvil --port "$ANVIL_PORT" --silent >"$RUN_DIR/anvil.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 50); do
    cast chain-id --rpc-url "$RPC_URL" >/dev/null 2>&1 && break
    kill -0 "${PIDS[0]}" 2>/dev/null || die "anvil exited at start (see $RUN_DIR/anvil.log)"
    sleep 0.2
  done
fi
CHAIN_ID="$(cast chain-id --rpc-url "$RPC_URL")"
"$ROOT/script/deploy-local.sh"
DEPLOYMENT="deployments/$CHAIN_ID.json"

# ---------------------------------------------------------------- database
info "recreating databases $DEMO_DB, ${DEMO_DB}_facilitator, ${DEMO_DB}_facilitator_batch"
for db in "$DEMO_DB" "${DEMO_DB}_facilitator" "${DEMO_DB}_facilitator_batch"; do
  psql "$PG_ADMIN_URL" -Xqc "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 \
    || die "could not drop database $db: check the role in DEMO_DATABASE_URL owns it"
  psql "$PG_ADMIN_URL" -Xqc "create database \"$db\"" >/dev/null 2>&1 \
    || die "could not create database $db: check the role in DEMO_DATABASE_URL may create databases"
done

export RUST_LOG="${RUST_LOG:-info,sqlx=warn}" NO_COLOR=1
# Starts a service in the background with its log in .run/<name>.log.
start() {
  local name="$1"
  shift
  "$@" >"$RUN_DIR/$name.log" 2>&1 &
  PIDS+=($!)
}
# Waits until a URL answers, or fails naming the service's log.
wait_http() {
  local name="$1" url="$2" pid="$3"
  for _ in $(seq 1 300); do
    curl -fs -o /dev/null "$url" && return 0
    kill -0 "$pid" 2>/dev/null || die "$name exited at start: $(grep -v '^\s*$' "$RUN_DIR/$name.log" | tail -1)"
    sleep 0.2
  done
  die "$name did not answer at $url within 60 s (see $RUN_DIR/$name.log)"
}

# The indexer migrates (the schema's one history, every service's tables) and starts first.
info "starting x402-indexer (log: $RUN_DIR/indexer.log)"
IDX=("$BIN/x402-indexer" --rpc-url "$RPC_URL" --database-url "$DEMO_DATABASE_URL" --deployment "$DEPLOYMENT" --chain-id "$CHAIN_ID")
"${IDX[@]}" --http-addr= migrate >"$RUN_DIR/indexer-migrate.log" 2>&1 \
  || die "x402-indexer migrate failed: $(grep -v '^\s*$' "$RUN_DIR/indexer-migrate.log" | tail -1)"
start indexer "${IDX[@]}" --http-addr "127.0.0.1:$INDEXER_METRICS_PORT" index --progress log
wait_http x402-indexer "http://127.0.0.1:$INDEXER_METRICS_PORT/health" "${PIDS[-1]}"

info "labelling the simulated exchanges and starting x402-classifier (log: $RUN_DIR/classifier.log)"
CLS=("$BIN/x402-classifier" --database-url "$DEMO_DATABASE_URL" --chain-id "$CHAIN_ID")
"${CLS[@]}" migrate >"$RUN_DIR/classifier-migrate.log" 2>&1 \
  || die "x402-classifier migrate failed: $(tail -1 "$RUN_DIR/classifier-migrate.log")"
"$BIN/x402-sim" labels --economy "$ECONOMY" --seed "$SEED" --scale "$SCALE" --chain-id "$CHAIN_ID" --out "$RUN_DIR/sim-labels.toml" >/dev/null
"${CLS[@]}" labels import "$RUN_DIR/sim-labels.toml" >"$RUN_DIR/classifier-labels.log" 2>&1 \
  || die "x402-classifier labels import failed: $(tail -1 "$RUN_DIR/classifier-labels.log")"
start classifier "${CLS[@]}" run --poll-ms 1000

info "starting the facilitators (direct on :$FACILITATOR_PORT, batching on :$BATCH_FACILITATOR_PORT)"
FAC=("$BIN/x402-facilitator" --rpc-url "$RPC_URL" --deployment "$DEPLOYMENT" --receipt-poll-ms 20)
FACILITATOR_PRIVATE_KEY="$DIRECT_FACILITATOR_KEY" start facilitator \
  "${FAC[@]}" --database-url "$FAC_DB_URL" --listen "127.0.0.1:$FACILITATOR_PORT" --fee-bps 25
FAC_PID="${PIDS[-1]}"
FACILITATOR_PRIVATE_KEY="$BATCH_FACILITATOR_KEY" start facilitator-batch \
  "${FAC[@]}" --database-url "$BATCH_FAC_DB_URL" --listen "127.0.0.1:$BATCH_FACILITATOR_PORT" --fee-bps 10 \
  --batch --batch-max-wait-ms 300
wait_http x402-facilitator "http://127.0.0.1:$FACILITATOR_PORT/healthz" "$FAC_PID"
wait_http "batching x402-facilitator" "http://127.0.0.1:$BATCH_FACILITATOR_PORT/healthz" "${PIDS[-1]}"

info "starting x402-api with the dashboard (log: $RUN_DIR/api.log)"
start api "$BIN/x402-api" serve --database-url "$DEMO_DATABASE_URL" --chain-id "$CHAIN_ID" \
  --listen "127.0.0.1:$API_PORT" --static-dir dashboard/dist --deployment "$DEPLOYMENT" --cache-ttl-ms 2000
wait_http x402-api "http://127.0.0.1:$API_PORT/" "${PIDS[-1]}"
info "set-up done in $(elapsed)"

# ---------------------------------------------------------------- the economy
info "simulating the $ECONOMY economy (scale $SCALE, seed $SEED)"
"$BIN/x402-sim" run --economy "$ECONOMY" --seed "$SEED" --scale "$SCALE" --rpc-url "$RPC_URL" --deployment "$DEPLOYMENT" \
  --facilitator-url "http://127.0.0.1:$FACILITATOR_PORT" \
  --batch-facilitator-url "http://127.0.0.1:$BATCH_FACILITATOR_PORT" \
  --database-url "$DEMO_DATABASE_URL" --truth-out "$RUN_DIR/sim-truth.json" \
  || die "the simulation failed (service logs in $RUN_DIR/)"

info "waiting for the indexer and the classifier to catch up"
echo
"$BIN/x402-sim" report --database-url "$DEMO_DATABASE_URL" --deployment "$DEPLOYMENT" --truth "$RUN_DIR/sim-truth.json" \
  || die "the report failed (see $RUN_DIR/classifier.log and $RUN_DIR/indexer.log)"
echo
info "first summary after $(elapsed)"
info "dashboard: http://127.0.0.1:$API_PORT/   (API under /v1; chain $RPC_URL; logs in $RUN_DIR/)"
info "serving until Ctrl-C"
# Keep serving while every service lives; if one dies, say which and stop the rest.
while true; do
  for pid in "${PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || die "a service (pid $pid) stopped; see the logs in $RUN_DIR/"
  done
  sleep 2
done
