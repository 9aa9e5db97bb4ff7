#!/usr/bin/env bash
# Idempotent set-up shared by `make demo` and `make test`:
#   1. Node 20+ present, npm packages installed (npm ci only when package-lock.json changed);
#   2. the npm solc builds installed as forge compilers in ~/.svm (never over a real solc);
#   3. forge, anvil and cast reachable (node_modules/.bin);
#   4. PostgreSQL reachable at DATABASE_URL, started if installed but stopped, database created;
#   5. the analyst dashboard built into dashboard/dist (npm ci in dashboard/ when its lock changed).
# Every failure ends with one line saying what is wrong and what to do.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=script/lib.sh
source "$ROOT/script/lib.sh"

# Compiler versions the repo pins, and the npm package that provides each.
SOLC_VERSIONS=("0.8.30:solc" "0.8.17:solc-0817")

check_node() {
  command -v node >/dev/null 2>&1 || die "Node.js is not installed: install Node 20 or newer (https://nodejs.org or 'apt-get install nodejs npm')"
  command -v npm >/dev/null 2>&1 || die "npm is not installed: install it with Node 20 or newer ('apt-get install npm')"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [[ "$major" -ge 20 ]] || die "Node $(node --version) is too old: install Node 20 or newer"
}

install_npm_packages() {
  local stamp="node_modules/.x402-lock.sha256" want
  want="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x node_modules/.bin/forge ]]; then
    return
  fi
  info "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>"$RUN_DIR/npm-ci.log" \
    || die "npm ci failed (see $RUN_DIR/npm-ci.log): check that the npm registry is reachable"
  echo "$want" > "$stamp"
}

# forge treats ~/.svm/<v>/solc-<v> as an installed solc of version <v>. We put a small
# launcher there that runs our bridge over the pinned npm build. A launcher of ours is
# refreshed when the checkout moved; anything else there (a real solc) is left alone.
install_solc_bridges() {
  local svm="${SVM_HOME:-$HOME/.svm}" entry version pkg target
  for entry in "${SOLC_VERSIONS[@]}"; do
    version="${entry%%:*}"
    pkg="${entry#*:}"
    target="$svm/$version/solc-$version"
    local launcher
    launcher="$(printf '#!/bin/sh\n# x402-settle solc bridge (script/setup.sh)\nX402_SOLC_MODULE=%q exec node %q "$@"\n' \
      "$ROOT/node_modules/$pkg" "$ROOT/script/solc-bridge.js")"
    if [[ -e "$target" ]] && ! grep -q "x402-settle solc bridge" "$target" 2>/dev/null; then
      continue
    fi
    if [[ -f "$target" && "$(cat "$target")" == "$launcher" ]]; then
      continue
    fi
    mkdir -p "$(dirname "$target")"
    printf '%s\n' "$launcher" > "$target"
    chmod +x "$target"
    info "installed solc $version bridge at $target"
  done
}

check_rust() {
  command -v cargo >/dev/null 2>&1 || die "Rust is not installed: install it with rustup (https://rustup.rs)"
}

main() {
  mkdir -p "$RUN_DIR"
  check_node
  install_npm_packages
  install_solc_bridges
  check_rust
  ensure_postgres
  # script/test.sh builds the dashboard itself, in the background beside the Rust build.
  [[ "${X402_SETUP_SKIP_DASHBOARD:-0}" == 1 ]] || "$ROOT/script/build-dashboard.sh"
}

main "$@"
