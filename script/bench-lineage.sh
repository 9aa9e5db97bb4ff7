#!/usr/bin/env bash
# Scoped funding lineage vs full indexing (`make bench-lineage`).
#
# Builds x402-indexer, x402-classifier and x402-bench-lineage in release mode, then
# x402-bench-lineage:
#   - seeds anvil with BENCH_TRANSFERS unrelated USDC transfers (the deployment's FiatToken: real
#     Transfer logs and balances; a bench-only batcher makes up to 2,700 transferFroms per
#     transaction after one EIP-2612 permit per sender) among BENCH_WALLETS wallets, each first
#     funded by an exchange, and BENCH_PAYMENTS x402 payments through the real contracts by BENCH_PAYERS payers,
#     each first funded (gas money, USDC, OPG) by one of BENCH_FUNDERS funders that are wallets of
#     that traffic; cached in .run/bench-lineage/ (anvil --dump-state/--load-state);
#   - for full and for scoped lineage (depth BENCH_DEPTH), on a fresh database with the exchange
#     labels imported, times `x402-indexer index --exit-when-caught-up` plus
#     `x402-classifier classify --from-scratch`, and compares every payment's class.
# Prints:
#   BENCH lineage_scoped_seconds <value> s
#   BENCH lineage_full_seconds <value> s
#   BENCH lineage_scoped_rows <value> rows     (token + native transfers + tracked wallets)
#   BENCH lineage_full_rows <value> rows       (token + native transfers)
#   BENCH lineage_classes_equal <0|1> 0/1
# Settings: BENCH_TRANSFERS (2000000), BENCH_WALLETS (100000), BENCH_PAYMENTS (20000),
# BENCH_PAYERS (2000), BENCH_FUNDERS (200), BENCH_DEPTH (2), BENCH_RESEED=1 to ignore the cache,
# BENCH_PROFILE (release; "debug" skips the release build, for a quick comparison of the two
# modes only), BENCH_LOG (the indexers' RUST_LOG, default warn; "warn,x402_indexer::sync=info"
# shows where the lineage spends its time), DATABASE_URL (its server hosts the throwaway databases).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=script/lib.sh
source "$ROOT/script/lib.sh"
cd "$ROOT"

bash "$ROOT/script/setup.sh"

PROFILE="${BENCH_PROFILE:-release}"
[[ "$PROFILE" == release || "$PROFILE" == debug ]] || die "BENCH_PROFILE must be release or debug"
info "building x402-indexer, x402-classifier and x402-bench-lineage ($PROFILE)"
build=(cargo build --quiet --bin x402-indexer --bin x402-classifier --bin x402-bench-lineage)
[[ "$PROFILE" == release ]] && build+=(--release)
"${build[@]}" || die "$PROFILE build failed"

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/$PROFILE"
args=(
  --indexer "$BIN/x402-indexer"
  --classifier "$BIN/x402-classifier"
  --transfers "${BENCH_TRANSFERS:-2000000}"
  --wallets "${BENCH_WALLETS:-100000}"
  --payments "${BENCH_PAYMENTS:-20000}"
  --payers "${BENCH_PAYERS:-2000}"
  --funders "${BENCH_FUNDERS:-200}"
  --depth "${BENCH_DEPTH:-2}"
  --state-dir "${RUN_DIR#"$ROOT/"}/bench-lineage"
)
[[ "${BENCH_RESEED:-0}" == 1 ]] && args+=(--reseed)
exec "$BIN/x402-bench-lineage" "${args[@]}"
