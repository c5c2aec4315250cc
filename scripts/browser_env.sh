#!/usr/bin/env bash
# Browser-test tooling, idempotently: Debian's Chromium (from the machine's package manager, skipped
# when /usr/bin/chromium exists) and a pinned playwright-core in .tools/browser (never globally,
# never a downloaded browser: playwright drives the system Chromium through executablePath).
# A second run with nothing changed only checks two paths.
set -euo pipefail
cd "$(dirname "$0")/.."

PLAYWRIGHT_VERSION="1.65.1"
DIR=".tools/browser"

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != "0" ] && ! command -v sudo >/dev/null 2>&1; then
    echo "browser_env: /usr/bin/chromium missing and not root; install Debian's chromium package" >&2
    exit 1
  fi
  SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
  echo "browser_env: installing Debian's chromium"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

installed="$(node -p "require('./$DIR/node_modules/playwright-core/package.json').version" 2>/dev/null || true)"
if [ "$installed" != "$PLAYWRIGHT_VERSION" ]; then
  echo "browser_env: installing playwright-core $PLAYWRIGHT_VERSION into $DIR"
  mkdir -p "$DIR"
  [ -f "$DIR/package.json" ] || echo '{"name":"browser-tests-local","private":true}' > "$DIR/package.json"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error \
    --save-exact "playwright-core@$PLAYWRIGHT_VERSION"
fi
