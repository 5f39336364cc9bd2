#!/usr/bin/env bash
# Install everything (into .venv) and run the main job on defaults:
# background + thermodynamics at the Planck 2018 best fit beside CLASS, figure in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
exec .venv/bin/cosmo run "$@"
