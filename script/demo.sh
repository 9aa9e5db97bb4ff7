#!/usr/bin/env bash
# The main command: a local anvil chain with the contracts deployed, kept running until Ctrl-C.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/script/setup.sh"
# shellcheck source=script/lib.sh
source "$ROOT/script/lib.sh"
cd "$ROOT"

ANVIL_PORT="${ANVIL_PORT:-8545}"
export RPC_URL="http://127.0.0.1:$ANVIL_PORT"

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

require_free_port "$ANVIL_PORT" "anvil" ANVIL_PORT
info "starting anvil on port $ANVIL_PORT"
anvil --port "$ANVIL_PORT" --silent >"$RUN_DIR/anvil.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do
  cast chain-id --rpc-url "$RPC_URL" >/dev/null 2>&1 && break
  kill -0 "${PIDS[0]}" 2>/dev/null || die "anvil exited at start (see $RUN_DIR/anvil.log)"
  sleep 0.2
done

"$ROOT/script/deploy-local.sh"

info "anvil is serving at $RPC_URL; press Ctrl-C to stop"
wait "${PIDS[0]}"
