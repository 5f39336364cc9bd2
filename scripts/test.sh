#!/usr/bin/env bash
# Install everything (into .venv) and run the default test suite.
# Usage: bash scripts/test.sh [extra pytest arguments]     (slow sweeps: bash scripts/test.sh -m slow)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/python -m pytest "$@"
