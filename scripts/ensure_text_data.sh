#!/usr/bin/env bash
# text_classifier's Russian set is the topic files of the Debian package fortunes-ru. Run by
# `make test` and before a fortunes_ru run: installs the package when its folder is missing.
set -euo pipefail
if [ -d /usr/share/games/fortunes/ru ]; then
  exit 0
fi
bash "$(dirname "$0")/apt_install.sh" "text_classifier's Russian set is the topics of fortunes-ru" fortunes-ru
