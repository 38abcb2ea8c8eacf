#!/usr/bin/env bash
# Install soundseek (with test extras) into .venv and run the test suite.
# Browser tests need Debian's chromium: installed here when running as root, else they skip.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
bash scripts/install.sh
.venv/bin/python -m pytest "$@"
