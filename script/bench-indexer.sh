#!/usr/bin/env bash
# Indexer backfill benchmark (`make bench-indexer`).
#
# Builds x402-indexer and the x402-bench harness in release mode, then x402-bench:
#   - seeds anvil with >= BENCH_EVENTS indexable logs (big chargeBatch transactions from many
#     payers through the real contracts), cached in .run/bench/ (anvil --dump-state/--load-state),
#     so only the first run or a contract change pays for seeding;
#   - times `x402-indexer index --exit-when-caught-up` from an empty PostgreSQL database and
#     samples its peak resident memory;
#   - checks the database equals eth_getLogs over the chain (untimed);
#   - measures live head latency (BENCH_LATENCY_SAMPLES payments; 0 skips it).
# Prints:
#   BENCH indexer_backfill_events_per_s <value> events/s
#   BENCH indexer_backfill_events <value> events
#   BENCH indexer_peak_rss_mb <value> MB
#   BENCH indexer_head_latency_p50_ms <value> ms
# Settings: BENCH_EVENTS (200000), BENCH_BATCH_ITEMS (400), BENCH_PAYERS (200),
# BENCH_LATENCY_SAMPLES (25), BENCH_RESEED=1 to ignore the cache, DATABASE_URL (its server hosts
# the throwaway benchmark database).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=script/lib.sh
source "$ROOT/script/lib.sh"
cd "$ROOT"

bash "$ROOT/script/setup.sh"

info "building x402-indexer and x402-bench (release)"
cargo build --release --quiet -p x402-indexer --bin x402-indexer -p x402-testkit --bin x402-bench \
  || die "release build failed"

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
args=(
  --indexer "$TARGET_DIR/release/x402-indexer"
  --events "${BENCH_EVENTS:-200000}"
  --batch-items "${BENCH_BATCH_ITEMS:-400}"
  --payers "${BENCH_PAYERS:-200}"
  --latency-samples "${BENCH_LATENCY_SAMPLES:-25}"
  --state-dir "${RUN_DIR#"$ROOT/"}/bench"
)
[[ "${BENCH_RESEED:-0}" == 1 ]] && args+=(--reseed)
exec "$TARGET_DIR/release/x402-bench" "${args[@]}"
