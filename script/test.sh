#!/usr/bin/env bash
# Runs every test: Solidity (forge) and Rust (cargo nextest), after the shared set-up.
# Extra arguments go to cargo nextest (e.g. `script/test.sh -E 'test(backfill)'`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=script/lib.sh
source "$ROOT/script/lib.sh"
cd "$ROOT"
mkdir -p "$RUN_DIR"

# The crates download while set-up installs the npm packages (both mostly wait on the network).
FETCH_LOG="$RUN_DIR/cargo-fetch.log"
cargo fetch --locked >"$FETCH_LOG" 2>&1 &
FETCH_PID=$!
# The dashboard is built in the background below, beside the Rust build.
X402_SETUP_SKIP_DASHBOARD=1 "$ROOT/script/setup.sh"

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
# Chromium for the dashboard's browser test is installed (when missing) in the background too:
# on a fresh machine apt spends a minute or two mostly downloading.
CHROMIUM_LOG="$RUN_DIR/ensure-chromium.log"
"$ROOT/script/ensure-chromium.sh" >"$CHROMIUM_LOG" 2>&1 &
CHROMIUM_PID=$!
SOLIDITY_LOG="$RUN_DIR/solidity-suite.log"
info "Solidity suite started in the background (forge build, forge test, gas snapshots; log: $SOLIDITY_LOG)"
solidity_suite >"$SOLIDITY_LOG" 2>&1 &
SOLIDITY_PID=$!

# The TypeScript side runs beside the Rust build too: the unmodified x402 SDK for the
# facilitator's SDK end-to-end test (pinned in facilitator/sdk-e2e/package-lock.json), the package
# sdk/ (x402-settle's exact, upto and escrow as x402 SDK schemes; facilitator/tests/sdk_e2e.rs and
# sdk_indexer.rs run it inside the SDK) built and unit-tested, and the dashboard bundle. Each npm
# ci runs again only when its lock changed.
node_packages() {
  local sdk_e2e="$ROOT/facilitator/sdk-e2e" pkg="$ROOT/sdk"
  if ! cmp -s "$sdk_e2e/package-lock.json" "$sdk_e2e/node_modules/.installed-lock.json"; then
    info "npm ci (x402 SDK for the facilitator's SDK end-to-end test)"
    npm ci --prefix "$sdk_e2e" --no-audit --no-fund --loglevel=error \
      || die "npm ci in facilitator/sdk-e2e failed (output above): the npm registry must be reachable"
    cp "$sdk_e2e/package-lock.json" "$sdk_e2e/node_modules/.installed-lock.json"
  fi
  if ! cmp -s "$pkg/package-lock.json" "$pkg/node_modules/.installed-lock.json"; then
    info "npm ci (sdk/)"
    npm ci --prefix "$pkg" --no-audit --no-fund --loglevel=error \
      || die "npm ci in sdk/ failed (output above): the npm registry must be reachable"
    cp "$pkg/package-lock.json" "$pkg/node_modules/.installed-lock.json"
  fi
  info "sdk/ build and unit tests"
  npm test --prefix "$pkg" || die "sdk/ build or unit tests failed (output above)"
  "$ROOT/script/build-dashboard.sh"
}
NODE_LOG="$RUN_DIR/node-packages.log"
info "x402 SDK packages, sdk/ and the dashboard bundle started in the background (log: $NODE_LOG)"
node_packages >"$NODE_LOG" 2>&1 &
NODE_PID=$!

# Stop the background jobs (and the forge, npm or apt they run) when this script ends early.
stop_background() {
  local pid
  for pid in "$SOLIDITY_PID" "$CHROMIUM_PID" "$NODE_PID" "$FETCH_PID"; do
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

wait "$FETCH_PID" || { cat "$FETCH_LOG" >&2; die "downloading the crates failed (output above): crates.io must be reachable"; }
# Clippy lints inside the one build instead of a second pass over the workspace: cargo runs the
# workspace's crates (not the dependencies) through clippy-driver, which is rustc with clippy's
# lints, and -D warnings fails the build on any lint. The variables stay set for nextest and the
# dashboard test, so they reuse this build.
export RUSTC_WORKSPACE_WRAPPER="$(rustc --print sysroot)/bin/clippy-driver"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
[[ -x "$RUSTC_WORKSPACE_WRAPPER" ]] || die "clippy is not installed: rustup component add clippy"
# --timings writes target/cargo-timings/cargo-timing.html: where a slow build spent its time.
info "cargo build with clippy (once, for all crates and tests; warnings denied)"
cargo build --workspace --all-targets --locked --timings || die "Rust build or clippy failed (output above)"
node_status=0
wait "$NODE_PID" || node_status=$?
info "x402 SDK packages, sdk/ and dashboard output"
cat "$NODE_LOG" >&2
[[ $node_status == 0 ]] || die "the TypeScript packages failed (output above)"
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
