#!/usr/bin/env bash
# apt_install.sh WHAT PACKAGE...: install Debian packages the project needs (sudo when not root),
# or say what to install by hand where there is no apt-get. Used by ensure_java.sh and
# ensure_chromium.sh once they found the program missing.
set -euo pipefail
what="$1"; shift
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$what: install $* (or what provides it) and run make again" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing $* ($what) ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
