#!/usr/bin/env bash
# Deploys Permit2, the demo tokens, X402Settlement and EcosystemRegistry to a running chain
# (anvil by default) and prints the addresses from deployments/<chainId>.json.
#   RPC_URL       chain to deploy to (default http://127.0.0.1:8545)
#   DEPLOYER_KEY  private key that pays for and sends the deployment (default: anvil's first dev key)
# Other settings (OWNER, PERMIT2, PAYMENT_TOKENS) are read by script/Deploy.s.sol; see its header.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=script/lib.sh
source "$ROOT/script/lib.sh"
cd "$ROOT"

RPC_URL="${RPC_URL:-http://127.0.0.1:8545}"
# anvil's first well-known development account; never holds real funds.
DEPLOYER_KEY="${DEPLOYER_KEY:-0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80}"
LOG="$RUN_DIR/deploy.log"
mkdir -p "$RUN_DIR" "$ROOT/deployments"

CHAIN_ID="$(cast chain-id --rpc-url "$RPC_URL" 2>/dev/null)" \
  || die "no chain answers at RPC_URL=$RPC_URL: start anvil (or set RPC_URL)"
OUT="${DEPLOYMENTS_FILE:-deployments/$CHAIN_ID.json}"
export DEPLOYMENTS_FILE="$OUT"
case "$OUT" in /*) OUT_PATH="$OUT" ;; *) OUT_PATH="$ROOT/$OUT" ;; esac
# The script writes the file before it broadcasts; never leave one behind from a failed run.
rm -f "$OUT_PATH"

info "deploying to chain $CHAIN_ID at $RPC_URL (log: $LOG)"
# Compile first, without a time limit (a cold via-IR build takes minutes): the broadcast below
# then only simulates and sends.
forge build --quiet >"$LOG" 2>&1 || die "forge build failed: see $LOG"
# forge script can wait for receipts forever although anvil mined every transaction (seen under
# heavy load; foundry-rs/foundry#10630): a broadcast gets DEPLOY_TIMEOUT seconds (90), and one
# that hangs is run once more, which re-simulates against the chain as it now is.
deploy() {
  timeout "${DEPLOY_TIMEOUT:-90}" forge script script/Deploy.s.sol --rpc-url "$RPC_URL" --broadcast \
    --private-key "$DEPLOYER_KEY" >>"$LOG" 2>&1
}
status=0
deploy || status=$?
if [[ $status == 124 ]]; then
  info "forge script hung after ${DEPLOY_TIMEOUT:-90} s (waiting for receipts); deploying again"
  rm -f "$OUT_PATH"
  status=0
  deploy || status=$?
fi
if [[ $status != 0 ]]; then
  rm -f "$OUT_PATH"
  die "deployment failed: see $LOG ($(grep -E '^Error' "$LOG" | tail -1 | cut -c1-200))"
fi
[[ -s "$OUT_PATH" ]] || die "deployment ran but wrote no $OUT: see $LOG"

# node is already required by the toolchain (solc bridge); jq may not be installed.
SETTLEMENT="$(node -p 'require(process.argv[1]).settlement' "$OUT_PATH")"
# A receipt can exist for a reverted creation; make sure the code is really there.
[[ "$(cast code "$SETTLEMENT" --rpc-url "$RPC_URL")" != "0x" ]] \
  || die "X402Settlement has no code at $SETTLEMENT after deployment: see $LOG"

info "deployed (written to $OUT):"
node - "$OUT_PATH" <<'JS'
const d = require(process.argv[2]);
const row = (k, v) => console.log(`  ${k.padEnd(12)} ${v}`);
for (const k of ["chainId", "deployBlock", "owner", "permit2", "settlement", "registry"]) row(k, d[k]);
for (const t of d.tokens) row(t.symbol, `${t.address} (${t.decimals} decimals)`);
JS
