#!/usr/bin/env bash
# Install soundseek into .venv and run the demo: synthesize a library, index it, search it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/soundseek demo "$@"
