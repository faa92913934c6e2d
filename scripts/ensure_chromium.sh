#!/usr/bin/env bash
# The browser tests (a real browser opening the dashboard's views and the review pages) drive
# Debian's Chromium. Run by `make test`: installs the packages chromium and chromium-driver when
# no Chromium is found. STACKPIPES_CHROMIUM names another Chromium or Chrome binary instead.
set -euo pipefail
if [ -n "${STACKPIPES_CHROMIUM:-}" ]; then
  [ -x "$STACKPIPES_CHROMIUM" ] && exit 0
  echo "STACKPIPES_CHROMIUM=$STACKPIPES_CHROMIUM is not an executable" >&2
  exit 1
fi
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
bash "$(dirname "$0")/apt_install.sh" "the browser tests need Chromium (or set STACKPIPES_CHROMIUM)" chromium chromium-driver
chromium --version 2>/dev/null | tail -1
