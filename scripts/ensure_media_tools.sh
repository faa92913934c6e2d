#!/usr/bin/env bash
# The lecture_summary tests speak their own lectures with espeak-ng and look at the PDF's first
# page with pdftoppm. Run by `make test`: installs the Debian packages espeak-ng and
# poppler-utils when either program is missing. The pipeline itself needs neither.
set -euo pipefail
missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
bash "$(dirname "$0")/apt_install.sh" "the lecture_summary tests speak with espeak-ng and render PDFs with pdftoppm" "${missing[@]}"
