#!/usr/bin/env bash
# Runs every test: Solidity (forge) and Rust (cargo nextest), after the shared set-up.
# Extra arguments go to cargo nextest (e.g. `script/test.sh -E 'test(backfill)'`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/script/setup.sh"
# shellcheck source=script/lib.sh
source "$ROOT/script/lib.sh"
cd "$ROOT"

# Formatting first: it costs a second and fails fast.
info "cargo fmt --check"
cargo fmt --all --check || die "Rust code is not formatted: run 'cargo fmt --all' and commit"

# The Solidity suite runs beside the Rust build: forge compiles through solc's JavaScript build
# on one core while cargo uses both, and the Rust build does not read forge's output (its
# bindings come from the committed bindings/abi). Its output is shown when it ends; the Rust
# tests wait for it because they deploy the forge-built contracts.
solidity_suite() {
  info "forge build"
  forge build --quiet || die "forge build failed (output above)"
  node script/abi.js check || die "Rust bindings are stale: run 'node script/abi.js export' and commit bindings/abi"

  info "forge test"
  forge test || die "Solidity tests failed (output above)"

  # Gas snapshots: each settlement call measured as its own transaction. FORGE_SNAPSHOT_CHECK
  # makes forge fail when a measured figure differs from the committed snapshots/.
  if ls tests/X402Settlement/gas.t.sol >/dev/null 2>&1; then
    info "gas snapshots (forge test --isolate)"
    FORGE_SNAPSHOT_CHECK=true forge test --isolate --match-path tests/X402Settlement/gas.t.sol \
      || die "gas snapshots differ from snapshots/ (run 'make gas' and commit the change if intended)"
  fi
}
mkdir -p "$RUN_DIR"
# Chromium for the dashboard's browser test is installed (when missing) in the background too:
# on a fresh machine apt spends a minute or two mostly downloading.
CHROMIUM_LOG="$RUN_DIR/ensure-chromium.log"
"$ROOT/script/ensure-chromium.sh" >"$CHROMIUM_LOG" 2>&1 &
CHROMIUM_PID=$!
SOLIDITY_LOG="$RUN_DIR/solidity-suite.log"
info "Solidity suite started in the background (forge build, forge test, gas snapshots; log: $SOLIDITY_LOG)"
solidity_suite >"$SOLIDITY_LOG" 2>&1 &
SOLIDITY_PID=$!
# Stop the background jobs (and the forge or apt they run) when this script ends early.
stop_background() {
  local pid
  for pid in "$SOLIDITY_PID" "$CHROMIUM_PID"; do
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
  done
}
trap stop_background EXIT

# Waits for the Solidity suite and shows its output.
wait_solidity_suite() {
  local status=0
  wait "$SOLIDITY_PID" || status=$?
  info "Solidity suite output"
  cat "$SOLIDITY_LOG" >&2
  [[ $status == 0 ]] || die "the Solidity suite failed (output above)"
}

info "cargo build (once, for all crates and tests)"
cargo build --workspace --all-targets --locked || die "Rust build failed (output above)"
# The unmodified x402 SDK (pinned in facilitator/sdk-e2e/package-lock.json) for the facilitator's
# SDK end-to-end test (facilitator/tests/sdk_e2e.rs); installed again only when the lock changed.
SDK_DIR="$ROOT/facilitator/sdk-e2e"
if ! cmp -s "$SDK_DIR/package-lock.json" "$SDK_DIR/node_modules/.installed-lock.json"; then
  info "npm ci (x402 SDK for the facilitator's SDK end-to-end test)"
  npm ci --prefix "$SDK_DIR" --no-audit --no-fund --loglevel=error \
    || die "npm ci in facilitator/sdk-e2e failed (output above): the npm registry must be reachable"
  cp "$SDK_DIR/package-lock.json" "$SDK_DIR/node_modules/.installed-lock.json"
fi
# The package sdk/ (x402-settle's exact, upto and escrow as x402 SDK schemes): installed again only when its
# lock changed, then built (facilitator/tests/sdk_e2e.rs and sdk_indexer.rs run it inside the SDK) and unit-tested.
PKG_DIR="$ROOT/sdk"
if ! cmp -s "$PKG_DIR/package-lock.json" "$PKG_DIR/node_modules/.installed-lock.json"; then
  info "npm ci (sdk/)"
  npm ci --prefix "$PKG_DIR" --no-audit --no-fund --loglevel=error \
    || die "npm ci in sdk/ failed (output above): the npm registry must be reachable"
  cp "$PKG_DIR/package-lock.json" "$PKG_DIR/node_modules/.installed-lock.json"
fi
info "sdk/ build and unit tests"
npm test --prefix "$PKG_DIR" || die "sdk/ build or unit tests failed (output above)"
# Lints after the build: clippy checks the workspace crates (dependencies are only type-checked),
# so this adds about a minute cold and seconds warm.
info "cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings || die "clippy found problems (output above)"
wait_solidity_suite
info "cargo nextest"
cargo nextest run --workspace --no-fail-fast "$@" || die "Rust tests failed (output above)"
chromium_status=0
wait "$CHROMIUM_PID" || chromium_status=$?
trap - EXIT
cat "$CHROMIUM_LOG" >&2
[[ $chromium_status == 0 ]] || die "installing Chromium for the dashboard test failed (output above)"
info "dashboard browser test"
"$ROOT/script/test-dashboard.sh" || die "dashboard browser test failed (output above)"
info "all tests passed"
