#!/usr/bin/env bash
# Facilitator benchmark: /verify throughput and p99 at 64 concurrent clients against a local
# anvil, then batched settlement throughput on anvil with 1-second blocks. Real contracts
# (deployed by script/deploy-local.sh), real PostgreSQL, release builds.
# Prints `BENCH facilitator_verify_per_s`, `BENCH facilitator_verify_p99_ms`,
# `BENCH facilitator_verify_eip3009_per_s`, `BENCH facilitator_verify_eip3009_p99_ms` (standard x402
# EIP-3009 USDC payloads at the same 64 clients), `BENCH facilitator_settle_per_s`. Extra arguments go to the load generator
# (e.g. `--verify-secs 20 --settle-payments 6000`; see `--help`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/script/setup.sh"
# shellcheck source=script/lib.sh
source "$ROOT/script/lib.sh"
cd "$ROOT"
ensure_postgres

info "forge build (the deploy script and test mocks)"
forge build --quiet || die "forge build failed (output above)"
info "cargo build --release (facilitator and load generator)"
cargo build --release -p x402-facilitator --bin x402-facilitator --example bench \
  || die "release build failed (output above)"
info "running the load generator"
"$ROOT/target/release/examples/bench" --facilitator-bin "$ROOT/target/release/x402-facilitator" "$@"
