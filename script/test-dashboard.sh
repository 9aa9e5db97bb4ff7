#!/usr/bin/env bash
# The dashboard's browser test: Debian's Chromium, driven by playwright-core, loads the dashboard
# from the real x402-api binary over a throwaway PostgreSQL database holding a known economy
# (dashboard/tests/fixture.mjs) classified by the real x402-classifier, and checks every chart,
# the tables, the payer drill-down, the filters and live mode. Saves a screenshot to
# .run/dashboard.png. Everything it starts it stops (the test's after-hook), and the databases
# are dropped.
#
# Needs: PostgreSQL at DATABASE_URL's server (script/setup.sh), Chromium (installed here through
# script/ensure-chromium.sh), the dashboard build (script/build-dashboard.sh) and the
# x402-classifier and x402-api binaries (built here; cargo does nothing when they are up to date).
# Extra arguments go to `node --test` (e.g. --test-name-pattern=token).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=script/lib.sh
source "$ROOT/script/lib.sh"
cd "$ROOT"
mkdir -p "$RUN_DIR"

ensure_postgres
"$ROOT/script/ensure-chromium.sh"
"$ROOT/script/build-dashboard.sh"

# The same build as script/test.sh (whole workspace, all targets): selecting packages or binaries
# here would resolve other dependency features and recompile the dependency tree (minutes); after
# `make test`'s build this is a no-op.
info "cargo build (workspace, as make test builds it)"
cargo build --workspace --all-targets --locked \
  || die "building the workspace failed (output above)"

info "dashboard browser test (node --test, Chromium via playwright-core)"
# node resolves playwright-core from dashboard/node_modules (the spec lives under dashboard/).
node --test --test-reporter=spec --test-concurrency=1 "$@" dashboard/tests/dashboard.spec.mjs \
  || die "the dashboard browser test failed (output above; API log in $RUN_DIR/dashboard-api.log)"
info "dashboard test passed; screenshot in $RUN_DIR/dashboard.png"
