#!/usr/bin/env bash
# Install soundseek (with test extras) into .venv and run the test suite.
# Browser tests need Debian's chromium, the M4A/AAC tests ffmpeg: installed here when running as root
# (and missing), else those tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
{ command -v ffmpeg && command -v ffprobe; } >/dev/null 2>&1 || missing+=(ffmpeg)
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
bash scripts/install.sh
.venv/bin/python -m pytest "$@"
