#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed at /usr/bin/chromium (the browser the dashboard's
# browser test drives through playwright-core), with a font so its screenshots have readable text.
# Idempotent: does nothing when both are already there.
# Installing needs root and Debian's package repositories; every failure ends with one line.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=script/lib.sh
source "$ROOT/script/lib.sh"

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
# A minimal image may have no font at all; then every label in a screenshot is a box.
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf

chromium_works() {
  [[ -x "$CHROMIUM" ]] && "$CHROMIUM" --version >/dev/null 2>&1
}

main() {
  if chromium_works && [[ -f "$FONT" ]]; then
    return
  fi
  if [[ "$CHROMIUM" != /usr/bin/chromium ]]; then
    # A browser of the caller's choosing: use it as it is, install nothing.
    chromium_works && return
    die "CHROMIUM=$CHROMIUM is not an executable browser: point CHROMIUM at a Chromium binary or unset it to use Debian's /usr/bin/chromium"
  fi
  command -v apt-get >/dev/null 2>&1 \
    || die "Chromium is missing and apt-get is not available: install Chromium so that /usr/bin/chromium exists, or set CHROMIUM to its path"
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 \
      || die "Chromium is missing and installing it needs root: run 'apt-get install -y chromium fonts-dejavu-core' as root"
    sudo=(sudo -n)
  fi
  mkdir -p "$RUN_DIR"
  local log="$RUN_DIR/apt-chromium.log"
  info "installing Chromium from Debian's packages (apt-get install chromium fonts-dejavu-core)"
  # A stale or empty package list makes apt-get install fail with 'no installation candidate',
  # so refresh it first.
  "${sudo[@]}" apt-get update >"$log" 2>&1 \
    || die "apt-get update failed (see $log): check that Debian's package repositories are reachable"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends chromium fonts-dejavu-core >>"$log" 2>&1 \
    || die "apt-get install chromium failed (see $log): install it by hand with 'apt-get install -y chromium fonts-dejavu-core'"
  chromium_works || die "Chromium was installed but '$CHROMIUM --version' fails (see $log)"
  info "installed $("$CHROMIUM" --version)"
}

main "$@"
