#!/usr/bin/env bash
# Builds the analyst dashboard (dashboard/) into dashboard/dist/, which x402-api serves.
# Idempotent and quick when nothing changed:
#   - `npm ci` in dashboard/ only when dashboard/package-lock.json changed since the last install;
#   - generate the API's wire types (dashboard/generated/openapi.ts, from dashboard/openapi.json,
#     which x402-api's tests keep equal to its OpenAPI document), type check and bundle only when
#     the sources, the OpenAPI document, the build script or the lock changed since the last build
#     (or dist/ is missing).
# The dashboard is its own npm project, so the root toolchain install stays small.
# Every failure ends with one line saying what is wrong.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=script/lib.sh
source "$ROOT/script/lib.sh"
DASH="$ROOT/dashboard"
mkdir -p "$RUN_DIR"

command -v npm >/dev/null 2>&1 || die "npm is not installed: install Node 20 or newer with npm"

install_packages() {
  local stamp="$DASH/node_modules/.x402-lock.sha256" want
  want="$(sha256sum "$DASH/package-lock.json" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$DASH/node_modules/.bin/esbuild" ]]; then
    return
  fi
  info "installing the dashboard's npm packages (npm ci in dashboard/)"
  (cd "$DASH" && npm ci --no-audit --no-fund --loglevel=error) >/dev/null 2>"$RUN_DIR/npm-ci-dashboard.log" \
    || die "npm ci in dashboard/ failed (see $RUN_DIR/npm-ci-dashboard.log): check that the npm registry is reachable"
  echo "$want" > "$stamp"
}

# One hash over every input of the bundle: file names and contents, in a stable order.
sources_hash() {
  (cd "$DASH" && find src openapi.json build.mjs tsconfig.json package-lock.json -type f -print0 | sort -z | xargs -0 sha256sum) \
    | sha256sum | cut -d' ' -f1
}

build() {
  local stamp="$DASH/dist/.x402-build.sha256" want
  want="$(sources_hash)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$DASH/dist/index.html" && -f "$DASH/dist/app.js" ]]; then
    return
  fi
  info "building the dashboard (dashboard/dist)"
  local log="$RUN_DIR/build-dashboard.log"
  # The wire types are generated, never written by hand: the type check below then fails where
  # the dashboard reads a field the API does not send.
  (cd "$DASH" && node_modules/.bin/openapi-typescript openapi.json --output generated/openapi.ts) >"$log" 2>&1 \
    || { cat "$log" >&2; die "generating the dashboard's API types from dashboard/openapi.json failed (errors above, also in $log)"; }
  (cd "$DASH" && node_modules/.bin/tsc --noEmit -p tsconfig.json) >>"$log" 2>&1 \
    || { cat "$log" >&2; die "the dashboard's TypeScript does not type-check (errors above, also in $log)"; }
  (cd "$DASH" && node build.mjs) >>"$log" 2>&1 \
    || { cat "$log" >&2; die "bundling the dashboard failed (errors above, also in $log)"; }
  echo "$want" > "$stamp"
}

install_packages
build
