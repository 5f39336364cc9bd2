#!/usr/bin/env bash
# Install everything (into .venv) and run the default test suite.
# Usage: bash scripts/test.sh [extra pytest arguments]     (slow sweeps: bash scripts/test.sh -m slow)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
exec .venv/bin/python -m pytest "$@"
